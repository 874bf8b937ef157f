// What every conclavectl command runs with: the parsed global flags, a client made on first use, the output
// printer of -w, stdin, and the error that stands for etcdctl's "Error: ..." exit.

import { Client } from '../../src/client/index.js';
import type { CtlArgs, OptionsBuilder } from './args.js';
import { fieldsPrinter } from './print-fields.js';
import { jsonPrinter } from './print-json.js';
import { simplePrinter } from './print-simple.js';
import { tablePrinter } from './print-table.js';
import type { Output, OutputFormat, Printer, PrinterMethod } from './printer.js';

/** A failure that ends the command with "Error: <message>" on stderr and exit code 1, as etcdctl's ExitWithError. */
export class CtlError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CtlError';
  }
}

export interface CtlOptions {
  readonly endpoints: readonly string[];
  readonly format: OutputFormat;
  readonly hex: boolean;
  readonly commandTimeoutMs: number;
  readonly dialTimeoutMs: number;
  readonly output: Output;
  /** Chunks of standard input, read on demand (put's value, txn's requests). */
  readonly stdin: () => AsyncIterable<string | Uint8Array>;
  /** A monotonic clock in nanoseconds (endpoint health's "took"). */
  readonly nowNs: () => bigint;
}

export class CtlContext {
  #client: Client | undefined;

  constructor(readonly options: CtlOptions) {}

  get output(): Output {
    return this.options.output;
  }

  /** The client over --endpoints, made on first use so that commands refused early connect nowhere. */
  get client(): Client {
    this.#client ??= new Client({
      endpoints: this.options.endpoints,
      requestTimeoutMs: this.options.commandTimeoutMs,
      dialTimeoutMs: this.options.dialTimeoutMs,
    });
    return this.#client;
  }

  /** The printer of -w, after checking that it prints `method` (etcdctl: "<format> not supported as output format"). */
  printer(method: PrinterMethod, valueOnly = false): Printer {
    const { format, hex, output } = this.options;
    const printer =
      format === 'simple' ? simplePrinter(output, { hex, valueOnly }) : format === 'json' ? jsonPrinter(output) : format === 'fields' ? fieldsPrinter(output) : tablePrinter(output);
    if (printer[method] === undefined) throw new CtlError(`${format} not supported as output format`);
    return printer;
  }

  close(): void {
    this.#client?.close();
  }
}

/** One conclavectl command: its yargs command string (positionals all optional: the command checks them), flags and body. */
export interface CtlCommand {
  readonly command: string;
  readonly describe: string;
  readonly options?: OptionsBuilder;
  readonly run: (context: CtlContext, args: CtlArgs) => Promise<number>;
}
