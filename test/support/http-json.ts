// The etcd JSON gateway, spoken by hand in tests (base64 keys, int64 as strings), so that what the tests check is the
// wire itself and not a client library's reading of it.

export const b64 = (text: string): string => Buffer.from(text).toString('base64');
export const unb64 = (text: string | undefined): string => Buffer.from(text ?? '', 'base64').toString();

export interface JsonReply {
  readonly status: number;
  readonly body: Record<string, unknown>;
}

export async function postJson(endpoint: string, path: string, body: unknown, timeoutMs = 5000): Promise<JsonReply> {
  const response = await fetch(new URL(path, endpoint), {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: typeof body === 'string' ? body : JSON.stringify(body),
    signal: AbortSignal.timeout(timeoutMs),
  });
  const text = await response.text();
  return { status: response.status, body: text === '' ? {} : (JSON.parse(text) as Record<string, unknown>) };
}

export interface StatusReply {
  readonly leader: string;
  readonly memberId: string;
  readonly raftTerm: number;
}

export async function statusOf(endpoint: string): Promise<StatusReply | null> {
  try {
    const { status, body } = await postJson(endpoint, '/v3/maintenance/status', {}, 1000);
    if (status !== 200) return null;
    const header = body['header'] as Record<string, string>;
    return { leader: String(body['leader'] ?? '0'), memberId: String(header['member_id']), raftTerm: Number(header['raft_term'] ?? 0) };
  } catch {
    return null;
  }
}

/** The endpoint of the member that leads, once all `endpoints` that answer agree on one. */
export async function waitForLeader(endpoints: readonly string[], timeoutMs: number, except: readonly string[] = []): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    for (const endpoint of endpoints) {
      const status = await statusOf(endpoint);
      if (status !== null && status.leader === status.memberId && !except.includes(endpoint)) return endpoint;
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`no leader among ${endpoints.join(', ')} within ${timeoutMs} ms`);
}

export async function put(endpoint: string, key: string, value: string): Promise<JsonReply> {
  return postJson(endpoint, '/v3/kv/put', { key: b64(key), value: b64(value) });
}

export async function get(endpoint: string, key: string, extra: Record<string, unknown> = {}): Promise<{ value: string | null; revision: number; reply: JsonReply }> {
  const reply = await postJson(endpoint, '/v3/kv/range', { key: b64(key), ...extra });
  const kvs = reply.body['kvs'] as { value?: string }[] | undefined;
  const header = reply.body['header'] as { revision?: string } | undefined;
  return { value: kvs?.[0] === undefined ? null : unb64(kvs[0].value), revision: Number(header?.revision ?? 0), reply };
}

/** Waits until `count` members are listed and each has published its name and client URLs (as after a start). */
export async function waitForMembersPublished(endpoint: string, count: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    try {
      const { body } = await postJson(endpoint, '/v3/cluster/member/list', {}, 1000);
      const members = (body['members'] as { name?: string; clientURLs?: string[] }[] | undefined) ?? [];
      if (members.length === count && members.every((m) => m.name !== undefined && (m.clientURLs ?? []).length > 0)) return;
    } catch {
      // Not serving yet.
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`${endpoint}: ${count} members did not publish themselves within ${timeoutMs} ms`);
}

/** Polls `probe` until it returns something other than null; fails naming `what` (and the cluster's logs) on timeout. */
export async function eventually<T>(what: string, probe: () => Promise<T | null>, timeoutMs: number, logs: () => string = () => ''): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe().catch(() => null);
    if (value !== null) return value;
    if (Date.now() > deadline) throw new Error(`${what} did not happen within ${timeoutMs} ms\n${logs()}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

interface Digest {
  readonly hash: number;
}

/** Every member's digest at `path`, once all of them report the same `at` (revision or applied index). */
function digestsAtOnePoint(endpoints: readonly string[], path: string, at: string, timeoutMs: number, logs: () => string): Promise<Digest[]> {
  return eventually(`every member's ${path} at one ${at}`, async () => {
    const all = await Promise.all(endpoints.map(async (e) => (await fetch(new URL(path, e))).json() as Promise<Digest & Record<string, number>>));
    return all.every((d) => d[at] === all[0]?.[at]) ? all : null;
  }, timeoutMs, logs);
}

/**
 * The same log gave the same state on every member: equal digests of the key-value pairs at one revision (etcd's
 * HashKV), and of every record of the replicated state (leases, recipes, deduplication, members too) at one applied
 * index. The number of distinct digests of each kind, 1 each when the members agree.
 */
export async function distinctStates(endpoints: readonly string[], timeoutMs: number, logs: () => string = () => ''): Promise<{ kv: number; state: number }> {
  const kv = await digestsAtOnePoint(endpoints, '/debug/kvhash', 'revision', timeoutMs, logs);
  const state = await digestsAtOnePoint(endpoints, '/debug/statehash', 'appliedIndex', timeoutMs, logs);
  return { kv: new Set(kv.map((d) => d.hash)).size, state: new Set(state.map((d) => d.hash)).size };
}
