// Standard input for commands that read it: all of it as bytes (put's value), or line by line (txn's sections,
// so that -i can prompt before each one).

export async function readAll(chunks: AsyncIterable<string | Uint8Array>): Promise<Uint8Array> {
  const parts: Buffer[] = [];
  for await (const chunk of chunks) parts.push(typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : Buffer.from(chunk));
  return new Uint8Array(Buffer.concat(parts));
}

export class LineReader {
  readonly #iterator: AsyncIterator<string | Uint8Array>;
  readonly #decoder = new TextDecoder();
  #buffered = '';
  #ended = false;

  constructor(chunks: AsyncIterable<string | Uint8Array>) {
    this.#iterator = chunks[Symbol.asyncIterator]();
  }

  /** The next line without its line ending, or undefined at the end of input. */
  async next(): Promise<string | undefined> {
    for (;;) {
      const newline = this.#buffered.indexOf('\n');
      if (newline >= 0) {
        const line = this.#buffered.slice(0, newline);
        this.#buffered = this.#buffered.slice(newline + 1);
        return line.endsWith('\r') ? line.slice(0, -1) : line;
      }
      if (this.#ended) {
        if (this.#buffered === '') return undefined;
        const last = this.#buffered;
        this.#buffered = '';
        return last;
      }
      const chunk = await this.#iterator.next();
      if (chunk.done === true) {
        this.#ended = true;
        this.#buffered += this.#decoder.decode();
      } else {
        this.#buffered += typeof chunk.value === 'string' ? chunk.value : this.#decoder.decode(chunk.value, { stream: true });
      }
    }
  }
}
