#!/usr/bin/env node
// The `conclavectl` client executable. See cli.ts for flags and exit codes.
import { hideBin } from 'yargs/helpers';
import { processIo, runConclavectl } from './cli.js';

process.exitCode = await runConclavectl(hideBin(process.argv), processIo());
