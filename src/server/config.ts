// Flags of the `conclave` server: their table, and their parsing and validation into a ServerConfig.
//
// Pure: the caller passes the flags it parsed from argv and the environment; nothing here reads process
// state, the file system or the network. Flag names follow etcd's. Every value may also come from the
// environment variable CONCLAVE_<FLAG_IN_UPPER_SNAKE_CASE>; a flag on the command line wins over the
// environment, which wins over the default. Every problem reported names the flag it is about.

import { watchLimits } from '../limits.js';
import { parseUrlList, type UrlListOptions } from '../util/urls.js';

export const LOG_LEVELS = ['debug', 'info', 'warn', 'error'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export const INITIAL_CLUSTER_STATES = ['new', 'existing'] as const;
export type InitialClusterState = (typeof INITIAL_CLUSTER_STATES)[number];

export interface ClusterMember {
  readonly name: string;
  /** Normalized peer URLs, in the order given. */
  readonly peerUrls: readonly string[];
}

export interface ServerConfig {
  readonly name: string;
  readonly dataDir: string;
  readonly listenClientUrls: readonly string[];
  readonly advertiseClientUrls: readonly string[];
  readonly listenPeerUrls: readonly string[];
  readonly initialAdvertisePeerUrls: readonly string[];
  /** Members in the order they first appear in --initial-cluster. */
  readonly initialCluster: readonly ClusterMember[];
  readonly initialClusterState: InitialClusterState;
  readonly initialClusterToken: string;
  /**
   * Milliseconds between leader heartbeats. The server's Raft tick is one heartbeat interval; the
   * election timeout in ticks is floor(electionTimeoutMs / heartbeatIntervalMs), which is at least 2.
   */
  readonly heartbeatIntervalMs: number;
  readonly electionTimeoutMs: number;
  /** Applied entries between two snapshots of the state machine. */
  readonly snapshotCount: number;
  readonly logLevel: LogLevel;
  /** Interval of the progress notifications a watch that asks for them gets while nothing happens to it. */
  readonly watchProgressNotifyIntervalMs: number;
  /**
   * Whether the member serves /debug/peer-faults, through which a test cuts its Raft traffic with chosen peers
   * (a partition between real processes). Off unless asked for: never for a member in production.
   */
  readonly unsafePeerFaultInjection: boolean;
}

export const SERVER_FLAGS = [
  'name',
  'data-dir',
  'listen-client-urls',
  'advertise-client-urls',
  'listen-peer-urls',
  'initial-advertise-peer-urls',
  'initial-cluster',
  'initial-cluster-state',
  'initial-cluster-token',
  'heartbeat-interval',
  'election-timeout',
  'snapshot-count',
  'log-level',
  'experimental-watch-progress-notify-interval',
  'unsafe-peer-fault-injection',
] as const;
export type ServerFlag = (typeof SERVER_FLAGS)[number];

export interface FlagSpec {
  readonly flag: ServerFlag;
  /** The environment variable that may set the flag. */
  readonly env: string;
  readonly group: 'Member' | 'Clustering' | 'Raft' | 'Logging' | 'Watch' | 'Testing';
  readonly description: string;
  /** The default as shown by --help (some defaults derive from other flags). */
  readonly defaultDescription: string;
  /** Allowed values, when the flag is an enumeration. */
  readonly choices?: readonly string[];
}

export const ENV_PREFIX = 'CONCLAVE_';

/** CONCLAVE_<UPPER_SNAKE> for a flag: 'data-dir' -> 'CONCLAVE_DATA_DIR'. */
export function envVarFor(flag: string): string {
  return ENV_PREFIX + flag.toUpperCase().replace(/-/g, '_');
}

/** Where the member started with no flags keeps its data (the embedded default). */
export const DEFAULT_DATA_DIR = 'conclave.data';

const DEFAULTS = {
  name: 'default',
  listenClientUrls: 'http://127.0.0.1:2379',
  advertiseClientUrls: 'http://127.0.0.1:2379',
  listenPeerUrls: 'http://127.0.0.1:2380',
  initialAdvertisePeerUrls: 'http://127.0.0.1:2380',
  initialClusterState: 'new',
  initialClusterToken: 'conclave-cluster',
  heartbeatIntervalMs: 100,
  electionTimeoutMs: 1000,
  snapshotCount: 100_000,
  logLevel: 'info',
  watchProgressNotifyInterval: `${watchLimits.progressNotifyIntervalMs / 60_000}m`,
  unsafePeerFaultInjection: 'false',
} as const;

const BOOLEANS = ['true', 'false'] as const;

const spec = (
  flag: ServerFlag,
  group: FlagSpec['group'],
  description: string,
  defaultDescription: string,
  choices?: readonly string[],
): FlagSpec => ({ flag, env: envVarFor(flag), group, description, defaultDescription, ...(choices ? { choices } : {}) });

/** The table of server flags, in the order --help lists them. */
export const serverFlagSpecs: readonly FlagSpec[] = [
  spec('name', 'Member', 'Human-readable name of this member; unique in the cluster', `"${DEFAULTS.name}"`),
  spec('data-dir', 'Member', 'Directory holding the write-ahead log, the backend and snapshots', '"conclave.data" for the default member, "<name>.conclave" for a named one'),
  spec('listen-client-urls', 'Member', 'Comma-separated URLs to listen on for client traffic', `"${DEFAULTS.listenClientUrls}"`),
  spec(
    'advertise-client-urls',
    'Member',
    "Comma-separated client URLs of this member, as advertised to the cluster's clients",
    `"${DEFAULTS.advertiseClientUrls}"`,
  ),
  spec('listen-peer-urls', 'Member', 'Comma-separated URLs to listen on for peer (Raft) traffic', `"${DEFAULTS.listenPeerUrls}"`),
  spec(
    'initial-advertise-peer-urls',
    'Clustering',
    'Comma-separated peer URLs of this member, as advertised to the other members',
    `"${DEFAULTS.initialAdvertisePeerUrls}"`,
  ),
  spec(
    'initial-cluster',
    'Clustering',
    'Initial members, as "name=peerURL,name=peerURL" (a name may repeat to give several URLs)',
    '"<name>=<initial-advertise-peer-urls>"',
  ),
  spec(
    'initial-cluster-state',
    'Clustering',
    '"new" to bootstrap a new cluster, "existing" to join one',
    `"${DEFAULTS.initialClusterState}"`,
    INITIAL_CLUSTER_STATES,
  ),
  spec(
    'initial-cluster-token',
    'Clustering',
    'Token shared by the members of one cluster while bootstrapping, so that two clusters never mix',
    `"${DEFAULTS.initialClusterToken}"`,
  ),
  spec('heartbeat-interval', 'Raft', 'Milliseconds between leader heartbeats (one Raft tick)', String(DEFAULTS.heartbeatIntervalMs)),
  spec(
    'election-timeout',
    'Raft',
    'Milliseconds a follower waits without hearing from a leader before it campaigns; greater than --heartbeat-interval',
    String(DEFAULTS.electionTimeoutMs),
  ),
  spec('snapshot-count', 'Raft', 'Applied entries between two snapshots of the state machine', String(DEFAULTS.snapshotCount)),
  spec('log-level', 'Logging', 'Least severe level logged: debug, info, warn or error', `"${DEFAULTS.logLevel}"`, LOG_LEVELS),
  spec(
    'experimental-watch-progress-notify-interval',
    'Watch',
    'Interval of progress notifications to watches that ask for them, as a duration ("10m", "30s", "500ms")',
    `"${DEFAULTS.watchProgressNotifyInterval}"`,
  ),
  spec(
    'unsafe-peer-fault-injection',
    'Testing',
    'For tests only: "true" serves /debug/peer-faults on the client URLs, which drops this member\'s Raft traffic with chosen peers (a partition); never in production',
    `"${DEFAULTS.unsafePeerFaultInjection}"`,
    BOOLEANS,
  ),
];

/** Flags as parsed from argv: absent, a string, or (given several times) several strings. */
export type RawFlags = Readonly<Partial<Record<ServerFlag, string | readonly string[] | undefined>>>;
export type Env = Readonly<Record<string, string | undefined>>;

export interface ConfigProblem {
  readonly flag: ServerFlag;
  /** Where the offending value came from. */
  readonly source: 'flag' | 'env' | 'default';
  /** Starts with the flag's name, e.g. "--heartbeat-interval: must be ...". */
  readonly message: string;
}

export type ConfigResult =
  | { readonly ok: true; readonly config: ServerConfig; readonly warnings: readonly string[] }
  | { readonly ok: false; readonly errors: readonly ConfigProblem[]; readonly warnings: readonly string[] };

const URLS: UrlListOptions = { schemes: ['http', 'https'], bareOnly: true };
const ADVERTISED_URLS: UrlListOptions = { ...URLS, routableOnly: true };

interface Value {
  readonly text: string;
  readonly source: 'flag' | 'env' | 'default';
}

/** Resolves and validates the server's flags. Never throws on bad input: every problem is listed. */
export function resolveServerConfig(flags: RawFlags, env: Env): ConfigResult {
  const errors: ConfigProblem[] = [];
  const warnings: string[] = [];
  const known = new Set(serverFlagSpecs.map((s) => s.env));

  for (const key of Object.keys(env).sort()) {
    if (key.startsWith(ENV_PREFIX) && env[key] !== undefined && !known.has(key)) {
      warnings.push(`unrecognized environment variable ${key} (ignored)`);
    }
  }

  const problem = (flag: ServerFlag, value: Value, message: string): undefined => {
    const from = value.source === 'env' ? ` (from ${envVarFor(flag)})` : value.source === 'default' ? ' (default)' : '';
    errors.push({ flag, source: value.source, message: `--${flag}${from}: ${message}` });
    return undefined;
  };

  /** The value given by flag or environment; undefined when neither gives one (the default applies); null when unusable. */
  const given = (flag: ServerFlag): Value | undefined | null => {
    const fromFlag = flags[flag];
    const envName = envVarFor(flag);
    const fromEnv = env[envName];
    if (fromFlag !== undefined) {
      if (fromEnv !== undefined) warnings.push(`environment variable ${envName} is shadowed by --${flag} (ignored)`);
      if (typeof fromFlag !== 'string') {
        if (fromFlag.length === 1 && fromFlag[0] !== undefined) return { text: fromFlag[0], source: 'flag' };
        problem(flag, { text: '', source: 'flag' }, `given ${fromFlag.length} times; give it once (lists are comma-separated)`);
        return null;
      }
      return { text: fromFlag, source: 'flag' };
    }
    if (fromEnv !== undefined) return { text: fromEnv, source: 'env' };
    return undefined;
  };
  const orDefault = (flag: ServerFlag, fallback: string): Value | undefined => {
    const value = given(flag);
    return value === null ? undefined : (value ?? { text: fallback, source: 'default' });
  };

  // Each parser takes undefined (the value was unusable, already reported) and then yields undefined.
  const memberName = (flag: ServerFlag, value: Value | undefined, text: string | undefined): string | undefined => {
    if (value === undefined || text === undefined) return undefined;
    if (text === '') return problem(flag, value, 'a member name must not be empty');
    if (/[\s,=\p{Cc}]/u.test(text)) {
      return problem(flag, value, `member name "${text}" must not contain whitespace, control characters, "," or "="`);
    }
    return text;
  };

  const urlList = (flag: ServerFlag, value: Value | undefined, options: UrlListOptions): readonly string[] | undefined => {
    if (value === undefined) return undefined;
    const parsed = parseUrlList(value.text, options);
    return parsed.ok ? parsed.urls : problem(flag, value, parsed.error);
  };

  const positiveInteger = (flag: ServerFlag, value: Value | undefined, unit: string): number | undefined => {
    if (value === undefined) return undefined;
    const text = value.text.trim();
    const n = /^[0-9]+$/.test(text) ? Number(text) : NaN;
    if (!Number.isSafeInteger(n) || n < 1) return problem(flag, value, `"${value.text}" is not a positive whole number of ${unit}`);
    return n;
  };

  const choice = <T extends string>(flag: ServerFlag, value: Value | undefined, choices: readonly T[]): T | undefined => {
    if (value === undefined) return undefined;
    const found = choices.find((c) => c === value.text);
    return found ?? problem(flag, value, `"${value.text}" is not one of ${choices.map((c) => `"${c}"`).join(', ')}`);
  };

  const nonEmpty = (flag: ServerFlag, value: Value | undefined, what: string): string | undefined => {
    if (value === undefined) return undefined;
    return value.text.trim() === '' ? problem(flag, value, `${what} must not be empty`) : value.text;
  };

  // Each field on its own. Defaults that derive from another flag apply only when that flag is valid.
  const nameValue = orDefault('name', DEFAULTS.name);
  const name = memberName('name', nameValue, nameValue?.text);
  const dataDirValue = name === undefined ? given('data-dir') : orDefault('data-dir', name === DEFAULTS.name ? DEFAULT_DATA_DIR : `${name}.conclave`);
  const dataDir = nonEmpty('data-dir', dataDirValue ?? undefined, 'the data directory');
  const listenClientUrls = urlList('listen-client-urls', orDefault('listen-client-urls', DEFAULTS.listenClientUrls), URLS);
  const advertiseClientUrls = urlList(
    'advertise-client-urls',
    orDefault('advertise-client-urls', DEFAULTS.advertiseClientUrls),
    ADVERTISED_URLS,
  );
  const listenPeerUrls = urlList('listen-peer-urls', orDefault('listen-peer-urls', DEFAULTS.listenPeerUrls), URLS);
  const initialAdvertisePeerUrls = urlList(
    'initial-advertise-peer-urls',
    orDefault('initial-advertise-peer-urls', DEFAULTS.initialAdvertisePeerUrls),
    ADVERTISED_URLS,
  );
  const clusterValue =
    name === undefined || initialAdvertisePeerUrls === undefined
      ? given('initial-cluster')
      : orDefault('initial-cluster', initialAdvertisePeerUrls.map((u) => `${name}=${u}`).join(','));
  const initialCluster = clusterValue ? parseInitialCluster(clusterValue) : undefined;
  const initialClusterState = choice(
    'initial-cluster-state',
    orDefault('initial-cluster-state', DEFAULTS.initialClusterState),
    INITIAL_CLUSTER_STATES,
  );
  const initialClusterToken = nonEmpty(
    'initial-cluster-token',
    orDefault('initial-cluster-token', DEFAULTS.initialClusterToken),
    'the cluster token',
  );
  const heartbeatValue = orDefault('heartbeat-interval', String(DEFAULTS.heartbeatIntervalMs));
  const heartbeatIntervalMs = positiveInteger('heartbeat-interval', heartbeatValue, 'milliseconds');
  const electionTimeoutMs = positiveInteger(
    'election-timeout',
    orDefault('election-timeout', String(DEFAULTS.electionTimeoutMs)),
    'milliseconds',
  );
  const snapshotCount = positiveInteger('snapshot-count', orDefault('snapshot-count', String(DEFAULTS.snapshotCount)), 'entries');
  const logLevel = choice('log-level', orDefault('log-level', DEFAULTS.logLevel), LOG_LEVELS);
  const progressValue = orDefault('experimental-watch-progress-notify-interval', DEFAULTS.watchProgressNotifyInterval);
  const parsedProgressMs = progressValue === undefined ? undefined : parseDurationMs(progressValue.text);
  const watchProgressNotifyIntervalMs =
    parsedProgressMs === undefined || parsedProgressMs < 1
      ? progressValue === undefined
        ? undefined
        : problem('experimental-watch-progress-notify-interval', progressValue, `"${progressValue.text}" is not a duration of at least 1ms (such as "10m", "30s", "500ms")`)
      : parsedProgressMs;
  const faultInjection = choice('unsafe-peer-fault-injection', orDefault('unsafe-peer-fault-injection', DEFAULTS.unsafePeerFaultInjection), BOOLEANS);

  // Across fields, once each side is valid on its own.
  if (heartbeatValue && heartbeatIntervalMs !== undefined && electionTimeoutMs !== undefined && heartbeatIntervalMs >= electionTimeoutMs) {
    problem(
      'heartbeat-interval',
      heartbeatValue,
      `${heartbeatIntervalMs} ms must be less than --election-timeout (${electionTimeoutMs} ms); ` +
        'an election timeout of about 10 heartbeats is usual',
    );
  }
  if (clusterValue && initialCluster !== undefined && name !== undefined) {
    const self = initialCluster.find((m) => m.name === name);
    if (self === undefined) {
      problem(
        'initial-cluster',
        clusterValue,
        `does not list this member "${name}" (--name); members listed: ${initialCluster.map((m) => `"${m.name}"`).join(', ')}`,
      );
    } else if (initialAdvertisePeerUrls !== undefined && !sameSet(self.peerUrls, initialAdvertisePeerUrls)) {
      problem(
        'initial-cluster',
        clusterValue,
        `lists "${name}" with peer URLs ${self.peerUrls.join(',')} but --initial-advertise-peer-urls is ` +
          initialAdvertisePeerUrls.join(','),
      );
    }
  }

  if (
    errors.length > 0 ||
    name === undefined ||
    dataDir === undefined ||
    listenClientUrls === undefined ||
    advertiseClientUrls === undefined ||
    listenPeerUrls === undefined ||
    initialAdvertisePeerUrls === undefined ||
    initialCluster === undefined ||
    initialClusterState === undefined ||
    initialClusterToken === undefined ||
    heartbeatIntervalMs === undefined ||
    electionTimeoutMs === undefined ||
    snapshotCount === undefined ||
    logLevel === undefined ||
    watchProgressNotifyIntervalMs === undefined ||
    faultInjection === undefined
  ) {
    return { ok: false, errors, warnings };
  }
  return {
    ok: true,
    warnings,
    config: {
      name,
      dataDir,
      listenClientUrls,
      advertiseClientUrls,
      listenPeerUrls,
      initialAdvertisePeerUrls,
      initialCluster,
      initialClusterState,
      initialClusterToken,
      heartbeatIntervalMs,
      electionTimeoutMs,
      snapshotCount,
      logLevel,
      watchProgressNotifyIntervalMs,
      unsafePeerFaultInjection: faultInjection === 'true',
    },
  };

  function parseInitialCluster(value: Value): readonly ClusterMember[] | undefined {
    const members = new Map<string, string[]>();
    const owner = new Map<string, string>();
    for (const raw of value.text.split(',')) {
      const entry = raw.trim();
      const eq = entry.indexOf('=');
      if (entry === '') return problem('initial-cluster', value, 'empty entry; expected "name=peerURL,name=peerURL"');
      if (eq < 0) return problem('initial-cluster', value, `entry "${entry}" is not of the form name=peerURL`);
      const member = memberName('initial-cluster', value, entry.slice(0, eq));
      if (member === undefined) return undefined;
      const url = parseUrlList(entry.slice(eq + 1), ADVERTISED_URLS);
      if (!url.ok) return problem('initial-cluster', value, `member "${member}": ${url.error}`);
      const peerUrl = url.urls[0] as string;
      const previous = owner.get(peerUrl);
      if (previous !== undefined) {
        const what = previous === member ? `lists ${peerUrl} twice for "${member}"` : `gives ${peerUrl} to both "${previous}" and "${member}"`;
        return problem('initial-cluster', value, what);
      }
      owner.set(peerUrl, member);
      const urls = members.get(member);
      if (urls === undefined) members.set(member, [peerUrl]);
      else urls.push(peerUrl);
    }
    return [...members].map(([member, peerUrls]) => ({ name: member, peerUrls }));
  }
}

const DURATION_UNITS_MS: Readonly<Record<string, number>> = { ns: 1e-6, us: 1e-3, 'µs': 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** A Go duration ("1h30m", "10s", "500ms") in milliseconds, as etcd's duration flags take; undefined if it is not one. */
export function parseDurationMs(text: string): number | undefined {
  const trimmed = text.trim();
  if (!/^(?:[0-9]+(?:\.[0-9]+)?(?:ns|us|µs|ms|s|m|h))+$/.test(trimmed)) return undefined;
  let total = 0;
  for (const [, amount, unit] of trimmed.matchAll(/([0-9]+(?:\.[0-9]+)?)(ns|us|µs|ms|s|m|h)/g)) total += Number(amount) * (DURATION_UNITS_MS[unit as string] as number);
  return Number.isFinite(total) ? Math.round(total) : undefined;
}

function sameSet(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((x) => b.includes(x));
}

/** One line per problem, for a terminal. */
export function formatConfigErrors(errors: readonly ConfigProblem[]): string {
  return errors.map((e) => `conclave: ${e.message}`).join('\n');
}
