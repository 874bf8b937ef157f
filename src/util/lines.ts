// Newline-delimited text read in chunks: the complete lines of each chunk, the rest kept for the next one. A line
// longer than the bound is refused (the stream carrying it is malformed or hostile).

export class LineReader {
  private rest = '';

  constructor(private readonly maxLineBytes: number) {}

  /** The complete lines `chunk` ends, without their newlines; throws RangeError past maxLineBytes without one. */
  push(chunk: string): string[] {
    const text = this.rest + chunk;
    const lines: string[] = [];
    let start = 0;
    for (let end = text.indexOf('\n'); end >= 0; end = text.indexOf('\n', start)) {
      lines.push(text.slice(start, end));
      start = end + 1;
    }
    this.rest = text.slice(start);
    if (this.rest.length > this.maxLineBytes) throw new RangeError(`a line of more than ${this.maxLineBytes} bytes`);
    return lines;
  }
}
