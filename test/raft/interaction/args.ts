// Arguments of a transcript command: positional words (node names, values, counts) and key=value pairs.
// Every argument must be consumed by the command, so that a typo fails loudly instead of being ignored.

const NODE = /^n\d+$/;

export class Args {
  private readonly positional: string[] = [];
  private readonly named = new Map<string, string>();

  constructor(tokens: readonly string[]) {
    for (const token of tokens) {
      const equals = token.indexOf('=');
      if (equals > 0) this.named.set(token.slice(0, equals), token.slice(equals + 1));
      else this.positional.push(token);
    }
  }

  /** The next positional word, which must name a node. */
  node(): string {
    const token = this.positional[0];
    if (token === undefined || !NODE.test(token)) throw new Error(`expected a node name, got "${token ?? ''}"`);
    this.positional.shift();
    return token;
  }

  /** The leading positional words that name nodes. */
  nodes(required = true): string[] {
    const nodes: string[] = [];
    while (this.positional[0] !== undefined && NODE.test(this.positional[0])) nodes.push(this.positional.shift() as string);
    if (required && nodes.length === 0) throw new Error('expected at least one node name');
    return nodes;
  }

  word(what: string): string {
    const token = this.positional.shift();
    if (token === undefined) throw new Error(`expected ${what}`);
    return token;
  }

  number(what: string): number {
    const value = Number(this.word(what));
    if (!Number.isInteger(value)) throw new Error(`${what} must be an integer`);
    return value;
  }

  /** An optional trailing positional count (default 1). */
  count(): number {
    return this.positional.length > 0 ? this.number('count') : 1;
  }

  flag(name: string): boolean {
    const at = this.positional.indexOf(name);
    if (at < 0) return false;
    this.positional.splice(at, 1);
    return true;
  }

  rest(): string[] {
    return this.positional.splice(0);
  }

  optionalWord(key: string): string | undefined {
    const value = this.named.get(key);
    this.named.delete(key);
    return value;
  }

  optionalNumber(key: string): number | undefined {
    const value = this.optionalWord(key);
    if (value === undefined) return undefined;
    const parsed = Number(value);
    if (!Number.isInteger(parsed)) throw new Error(`${key} must be an integer`);
    return parsed;
  }

  optionalBool(key: string): boolean | undefined {
    const value = this.optionalWord(key);
    if (value === undefined) return undefined;
    if (value !== 'true' && value !== 'false') throw new Error(`${key} must be true or false`);
    return value === 'true';
  }

  list(key: string): string[] {
    const value = this.optionalWord(key);
    return value === undefined || value === '' ? [] : value.split(',');
  }

  /** Takes every remaining key=value pair. */
  takeNamed(): [string, string][] {
    const pairs = [...this.named.entries()];
    this.named.clear();
    return pairs;
  }

  assertConsumed(): void {
    const left = [...this.positional, ...[...this.named.entries()].map(([key, value]) => `${key}=${value}`)];
    if (left.length > 0) throw new Error(`unexpected arguments: ${left.join(' ')}`);
  }
}

/** `check n1 role=leader term=2 ...`: every pair must equal the node's fact of that name. */
export function runCheck(args: Args, facts: ReadonlyMap<string, string>): void {
  const failures: string[] = [];
  const pairs = args.takeNamed();
  if (pairs.length === 0) throw new Error('check needs at least one key=value');
  for (const [key, expected] of pairs) {
    const actual = facts.get(key);
    if (actual === undefined) throw new Error(`check: unknown fact "${key}" (known: ${[...facts.keys()].join(' ')})`);
    if (actual !== expected) failures.push(`${key}: expected "${expected}", got "${actual}"`);
  }
  if (failures.length > 0) throw new Error(`check failed: ${failures.join('; ')}`);
}
