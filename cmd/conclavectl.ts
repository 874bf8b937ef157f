#!/usr/bin/env node
// The `conclavectl` client executable. See cli.ts for flags and exit codes.
import { hideBin } from 'yargs/helpers';
import { runConclavectl } from './cli.js';

process.exitCode = await runConclavectl(hideBin(process.argv), {
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
  env: process.env,
  width: Math.min(process.stdout.columns ?? 100, 120),
});
