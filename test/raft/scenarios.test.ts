// Runs every transcript in test/raft/testdata/ (see testdata/README.md). With REWRITE=1 the expected blocks
// are rewritten from the actual output: review the diff line by line before committing it.

import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parseTranscript, renderTranscript, runTranscript } from './interaction/datadriven.js';
import { InteractionEnv } from './interaction/env.js';

const directory = fileURLToPath(new URL('./testdata/', import.meta.url));
const files = readdirSync(directory).filter((name) => name.endsWith('.txt')).sort();
const rewrite = process.env['REWRITE'] === '1';

function runFile(source: string, name: string): string {
  const env = new InteractionEnv();
  return runTranscript(source, name, (command) => env.run(command));
}

describe('raft transcripts', () => {
  it('finds the transcripts', () => {
    expect(files.length).toBeGreaterThanOrEqual(11);
  });

  for (const name of files) {
    it(name, () => {
      const path = `${directory}${name}`;
      const source = readFileSync(path, 'utf8');
      const actual = runFile(source, name);
      if (rewrite) writeFileSync(path, actual);
      else expect(actual).toBe(source);
    });
  }
});

describe('the transcript runner', () => {
  const transcript = ['# a comment', 'add-nodes n1 n2 n3', '----', 'WRONG', '', 'campaign n1', '----', '', 'status n1', '----', 'n1 is fine', ''].join('\n');

  it('round-trips a file whose expectations are right', () => {
    const parsed = parseTranscript(transcript);
    expect(parsed.cases.map((c) => c.command)).toEqual(['add-nodes n1 n2 n3', 'campaign n1', 'status n1']);
    expect(renderTranscript(parsed, parsed.cases.map((c) => c.expected))).toBe(transcript);
  });

  it('shows a wrong expectation as a difference, and only there', () => {
    const actual = runFile(transcript, 'inline');
    expect(actual).not.toBe(transcript);
    const actualLines = actual.split('\n');
    expect(actualLines[3]).toMatch(/^n1 n2 n3: voters=\[n1 n2 n3\]/);
    expect(actualLines[0]).toBe('# a comment');
    expect(actualLines.some((line) => /^n1 preCandidate term=\d+ leader=none /.test(line))).toBe(true);
    expect(actualLines).not.toContain('n1 is fine');
  });

  it('fails a run whose check does not hold, even when rewriting', () => {
    expect(() => runFile('add-nodes n1 n2\n----\n\ncheck n1 role=leader\n----\nok\n', 'inline')).toThrow(/check failed: role: expected "leader", got "follower"/);
  });

  it('rejects arguments a command does not use', () => {
    expect(() => runFile('add-nodes n1 n2 electionn=5\n----\n', 'inline')).toThrow(/unexpected arguments: electionn=5/);
  });
});
