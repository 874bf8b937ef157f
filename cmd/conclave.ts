#!/usr/bin/env node
// The `conclave` server executable. See cli.ts for flags and exit codes.
import { hideBin } from 'yargs/helpers';
import { processIo, runConclave } from './cli.js';

process.exitCode = await runConclave(hideBin(process.argv), processIo());
