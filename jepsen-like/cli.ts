#!/usr/bin/env node
// The `conclave-jepsen` executable. See command.ts for the commands and exit codes.
import { hideBin } from 'yargs/helpers';
import { runJepsen } from './command.js';

process.exitCode = await runJepsen(hideBin(process.argv), {
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
});
