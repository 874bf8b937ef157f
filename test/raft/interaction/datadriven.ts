// A minimal data-driven transcript format (in the spirit of etcd's datadriven testdata files):
//
//   # comment lines and blank lines between cases are kept as they are
//   command arg key=value
//   ----
//   expected output, one line per line (never blank)
//   <blank line or end of file>
//
// A file is run top to bottom against one stateful interpreter; `render` re-creates the file text with the
// actual outputs, so comparing it with the original shows every mismatch as one diff, and REWRITE=1 can
// write it back.

export interface Case {
  /** Comment and blank lines before the command, kept verbatim. */
  readonly preamble: readonly string[];
  readonly command: string;
  readonly expected: readonly string[];
  /** 1-based line number of the command, for messages. */
  readonly line: number;
}

export interface Transcript {
  readonly cases: readonly Case[];
  /** Comment and blank lines after the last case. */
  readonly trailer: readonly string[];
}

export const SEPARATOR = '----';

export function parseTranscript(source: string, name = '<transcript>'): Transcript {
  const lines = source.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  const cases: Case[] = [];
  let preamble: string[] = [];
  let at = 0;
  while (at < lines.length) {
    const line = lines[at] as string;
    if (line.trim() === '' || line.startsWith('#')) {
      preamble.push(line);
      at++;
      continue;
    }
    const commandLine = at + 1;
    if (lines[at + 1] !== SEPARATOR) throw new Error(`${name}:${commandLine}: command "${line}" must be followed by "${SEPARATOR}"`);
    at += 2;
    const expected: string[] = [];
    while (at < lines.length && (lines[at] as string).trim() !== '') expected.push(lines[at++] as string);
    if (at < lines.length) at++; // the blank line that ends the output
    cases.push({ preamble, command: line, expected, line: commandLine });
    preamble = [];
  }
  return { cases, trailer: preamble };
}

/** The transcript's text with `outputs[i]` in place of case i's expected output. */
export function renderTranscript(transcript: Transcript, outputs: readonly (readonly string[])[]): string {
  const out: string[] = [];
  transcript.cases.forEach((testCase, position) => {
    out.push(...testCase.preamble, testCase.command, SEPARATOR, ...(outputs[position] ?? []), '');
  });
  out.push(...transcript.trailer);
  while (out.length > 0 && out[out.length - 1] === '') out.pop();
  return `${out.join('\n')}\n`;
}

/** Runs every case through `run` (which returns the output lines); returns the rendered actual text. */
export function runTranscript(source: string, name: string, run: (command: string, line: number) => string[]): string {
  const transcript = parseTranscript(source, name);
  const outputs = transcript.cases.map((testCase) => {
    let output: string[];
    try {
      output = run(testCase.command, testCase.line);
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      throw new Error(`${name}:${testCase.line}: "${testCase.command}" failed: ${reason}`, { cause: error });
    }
    for (const line of output) {
      if (line.trim() === '') throw new Error(`${name}:${testCase.line}: "${testCase.command}" printed a blank line`);
    }
    return output;
  });
  return renderTranscript(transcript, outputs);
}
