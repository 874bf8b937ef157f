import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  envVarFor,
  parseDurationMs,
  resolveServerConfig,
  SERVER_FLAGS,
  serverFlagSpecs,
  type ConfigResult,
  type RawFlags,
  type ServerConfig,
} from '../../src/server/config.js';

function ok(result: ConfigResult): ServerConfig {
  if (!result.ok) throw new Error(`expected a valid config, got:\n${result.errors.map((e) => e.message).join('\n')}`);
  return result.config;
}

function errorsOf(result: ConfigResult): string[] {
  if (result.ok) throw new Error(`expected errors, got a valid config: ${JSON.stringify(result.config)}`);
  return result.errors.map((e) => e.message);
}

const resolve = (flags: RawFlags, env: Record<string, string | undefined> = {}) => resolveServerConfig(flags, env);

describe('server flags table', () => {
  it('lists every etcd-named flag once, each with its CONCLAVE_ environment variable', () => {
    expect(serverFlagSpecs.map((s) => s.flag)).toEqual([...SERVER_FLAGS]);
    expect(SERVER_FLAGS).toEqual([
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
    ]);
    for (const spec of serverFlagSpecs) expect(spec.env).toBe(envVarFor(spec.flag));
    expect(envVarFor('initial-advertise-peer-urls')).toBe('CONCLAVE_INITIAL_ADVERTISE_PEER_URLS');
  });
});

describe('resolveServerConfig', () => {
  it('gives a single-member cluster on 127.0.0.1 with data in conclave.data by default', () => {
    const result = resolve({});
    expect(result.warnings).toEqual([]);
    expect(ok(result)).toEqual({
      name: 'default',
      dataDir: 'conclave.data',
      listenClientUrls: ['http://127.0.0.1:2379'],
      advertiseClientUrls: ['http://127.0.0.1:2379'],
      listenPeerUrls: ['http://127.0.0.1:2380'],
      initialAdvertisePeerUrls: ['http://127.0.0.1:2380'],
      initialCluster: [{ name: 'default', peerUrls: ['http://127.0.0.1:2380'] }],
      initialClusterState: 'new',
      initialClusterToken: 'conclave-cluster',
      heartbeatIntervalMs: 100,
      electionTimeoutMs: 1000,
      snapshotCount: 100_000,
      logLevel: 'info',
      watchProgressNotifyIntervalMs: 600_000,
      unsafePeerFaultInjection: false,
    });
  });

  it('derives --data-dir and --initial-cluster defaults from --name and --initial-advertise-peer-urls', () => {
    const config = ok(resolve({ name: 'n1', 'initial-advertise-peer-urls': 'http://10.0.0.1:2380,https://n1.example:2390' }));
    expect(config.dataDir).toBe('n1.conclave');
    expect(config.initialCluster).toEqual([{ name: 'n1', peerUrls: ['http://10.0.0.1:2380', 'https://n1.example:2390'] }]);
  });

  it('parses a three-member --initial-cluster, grouping repeated names', () => {
    const config = ok(
      resolve({
        name: 'n2',
        'initial-advertise-peer-urls': 'http://10.0.0.2:2380',
        'initial-cluster': 'n1=http://10.0.0.1:2380, n2=http://10.0.0.2:2380,n3=http://10.0.0.3:2380,n1=http://10.1.0.1:2380',
        'initial-cluster-state': 'existing',
      }),
    );
    expect(config.initialCluster).toEqual([
      { name: 'n1', peerUrls: ['http://10.0.0.1:2380', 'http://10.1.0.1:2380'] },
      { name: 'n2', peerUrls: ['http://10.0.0.2:2380'] },
      { name: 'n3', peerUrls: ['http://10.0.0.3:2380'] },
    ]);
    expect(config.initialClusterState).toBe('existing');
  });

  it('normalizes URLs so that equal addresses compare equal', () => {
    const config = ok(
      resolve({ 'initial-advertise-peer-urls': 'HTTP://LocalHost:2380/', 'initial-cluster': 'default=http://localhost:2380' }),
    );
    expect(config.initialAdvertisePeerUrls).toEqual(['http://localhost:2380']);
  });

  it('takes values from CONCLAVE_* variables, and a flag wins over its variable with a warning', () => {
    const env = { CONCLAVE_NAME: 'from-env', CONCLAVE_LOG_LEVEL: 'debug', CONCLAVE_SNAPSHOT_COUNT: '500' };
    const fromEnv = resolve({}, env);
    expect(ok(fromEnv)).toMatchObject({ name: 'from-env', logLevel: 'debug', snapshotCount: 500, dataDir: 'from-env.conclave' });
    expect(fromEnv.warnings).toEqual([]);

    const both = resolve({ name: 'from-flag' }, env);
    expect(ok(both).name).toBe('from-flag');
    expect(both.warnings).toEqual(['environment variable CONCLAVE_NAME is shadowed by --name (ignored)']);
  });

  it('warns about CONCLAVE_* variables that match no flag', () => {
    const result = resolve({}, { CONCLAVE_HEARTBEAT_INTERVALL: '50', PATH: '/bin' });
    expect(ok(result).heartbeatIntervalMs).toBe(100);
    expect(result.warnings).toEqual(['unrecognized environment variable CONCLAVE_HEARTBEAT_INTERVALL (ignored)']);
  });

  it('requires --heartbeat-interval to be less than --election-timeout', () => {
    expect(errorsOf(resolve({ 'heartbeat-interval': '1000', 'election-timeout': '1000' }))).toEqual([
      '--heartbeat-interval: 1000 ms must be less than --election-timeout (1000 ms); an election timeout of about 10 heartbeats is usual',
    ]);
    expect(errorsOf(resolve({ 'heartbeat-interval': '1500' }))[0]).toMatch(/^--heartbeat-interval: 1500 ms must be less than --election-timeout \(1000 ms\)/);
    expect(ok(resolve({ 'heartbeat-interval': '50', 'election-timeout': '51' })).electionTimeoutMs).toBe(51);
  });

  it('accepts any pair of whole millisecond counts with heartbeat < election timeout, and rejects the others', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 100_000 }), fc.integer({ min: 1, max: 100_000 }), (heartbeat, election) => {
        const result = resolve({ 'heartbeat-interval': String(heartbeat), 'election-timeout': String(election) });
        expect(result.ok).toBe(heartbeat < election);
        if (result.ok) expect(result.config).toMatchObject({ heartbeatIntervalMs: heartbeat, electionTimeoutMs: election });
      }),
    );
  });

  it.each([
    ['heartbeat-interval', '10ms'],
    ['heartbeat-interval', '0'],
    ['heartbeat-interval', '-5'],
    ['heartbeat-interval', '1e2'],
    ['heartbeat-interval', '1.5'],
    ['election-timeout', ''],
    ['election-timeout', '99999999999999999999'],
    ['snapshot-count', 'many'],
  ] as const)('rejects --%s %j as not a positive whole number', (flag, value) => {
    const errors = errorsOf(resolve({ [flag]: value }));
    expect(errors).toHaveLength(1);
    expect(errors[0]).toBe(`--${flag}: "${value}" is not a positive whole number of ${flag === 'snapshot-count' ? 'entries' : 'milliseconds'}`);
  });

  it('turns peer fault injection on only when --unsafe-peer-fault-injection is "true"', () => {
    expect(ok(resolve({})).unsafePeerFaultInjection).toBe(false);
    expect(ok(resolve({ 'unsafe-peer-fault-injection': 'false' })).unsafePeerFaultInjection).toBe(false);
    expect(ok(resolve({ 'unsafe-peer-fault-injection': 'true' })).unsafePeerFaultInjection).toBe(true);
    expect(ok(resolve({}, { CONCLAVE_UNSAFE_PEER_FAULT_INJECTION: 'true' })).unsafePeerFaultInjection).toBe(true);
    expect(errorsOf(resolve({ 'unsafe-peer-fault-injection': 'yes' }))).toEqual(['--unsafe-peer-fault-injection: "yes" is not one of "true", "false"']);
  });

  it('reads --experimental-watch-progress-notify-interval as a Go duration (etcd 3.4: 10m by default)', () => {
    expect(ok(resolve({})).watchProgressNotifyIntervalMs).toBe(600_000);
    expect(ok(resolve({ 'experimental-watch-progress-notify-interval': '1m30s' })).watchProgressNotifyIntervalMs).toBe(90_000);
    expect(ok(resolve({}, { CONCLAVE_EXPERIMENTAL_WATCH_PROGRESS_NOTIFY_INTERVAL: '250ms' })).watchProgressNotifyIntervalMs).toBe(250);
    expect(parseDurationMs('1h2m3.5s')).toBe(3_723_500);
    expect(parseDurationMs('1500us')).toBe(2);
    for (const bad of ['10', '', 'm', '5 m', '-1s', '1d']) expect(parseDurationMs(bad)).toBeUndefined();
    for (const bad of ['soon', '0s', '100us']) {
      expect(errorsOf(resolve({ 'experimental-watch-progress-notify-interval': bad }))).toEqual([
        `--experimental-watch-progress-notify-interval: "${bad}" is not a duration of at least 1ms (such as "10m", "30s", "500ms")`,
      ]);
    }
  });

  it('names the environment variable when the bad value came from it', () => {
    expect(errorsOf(resolve({}, { CONCLAVE_ELECTION_TIMEOUT: 'soon' }))).toEqual([
      '--election-timeout (from CONCLAVE_ELECTION_TIMEOUT): "soon" is not a positive whole number of milliseconds',
    ]);
  });

  it.each([
    [{ 'log-level': 'loud' }, '--log-level: "loud" is not one of "debug", "info", "warn", "error"'],
    [{ 'initial-cluster-state': 'old' }, '--initial-cluster-state: "old" is not one of "new", "existing"'],
    [{ 'initial-cluster-token': ' ' }, '--initial-cluster-token: the cluster token must not be empty'],
    [{ 'data-dir': '' }, '--data-dir: the data directory must not be empty'],
    [{ name: '' }, '--name: a member name must not be empty'],
    [{ name: 'a=b' }, '--name: member name "a=b" must not contain whitespace, control characters, "," or "="'],
    [{ name: 'a b' }, '--name: member name "a b" must not contain whitespace, control characters, "," or "="'],
    [{ name: ['a', 'b'] }, '--name: given 2 times; give it once (lists are comma-separated)'],
  ] as const)('rejects %j', (flags, message) => {
    expect(errorsOf(resolve(flags))).toEqual([message]);
  });

  it.each([
    ['listen-client-urls', 'localhost:2379', /^--listen-client-urls: "localhost:2379" has scheme "localhost"; expected "http" or "https"/],
    ['listen-client-urls', 'not a url', /^--listen-client-urls: "not a url" is not a URL/],
    ['listen-client-urls', 'ftp://h:1', /^--listen-client-urls: "ftp:\/\/h:1" has scheme "ftp"/],
    ['listen-client-urls', 'http://h:1/path', /^--listen-client-urls: "http:\/\/h:1\/path" must not have a path, query or fragment$/],
    ['listen-client-urls', 'http://a:1,,http://b:1', /^--listen-client-urls: empty entry in the list$/],
    ['listen-client-urls', 'http://a:1,http://a:1/', /^--listen-client-urls: "http:\/\/a:1" is listed twice$/],
    ['listen-peer-urls', 'http://user:pw@h:1', /^--listen-peer-urls: "http:\/\/user:pw@h:1" must not carry credentials$/],
    ['advertise-client-urls', 'http://0.0.0.0:2379', /^--advertise-client-urls: "http:\/\/0.0.0.0:2379" uses the unspecified address 0\.0\.0\.0/],
  ] as const)('rejects --%s %j', (flag, value, message) => {
    const errors = errorsOf(resolve({ [flag]: value }));
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(message);
  });

  it('lets listen URLs use the unspecified address', () => {
    expect(ok(resolve({ 'listen-client-urls': 'http://0.0.0.0:2379,http://[::]:2379' })).listenClientUrls).toEqual([
      'http://0.0.0.0:2379',
      'http://[::]:2379',
    ]);
  });

  it.each([
    ['default', /^--initial-cluster: entry "default" is not of the form name=peerURL$/],
    ['default=http://localhost:2380,', /^--initial-cluster: empty entry; expected "name=peerURL,name=peerURL"$/],
    ['=http://localhost:2380', /^--initial-cluster: a member name must not be empty$/],
    ['default=localhost:2380', /^--initial-cluster: member "default": "localhost:2380" has scheme "localhost"/],
    ['default=http://localhost:2380,other=http://localhost:2380', /^--initial-cluster: gives http:\/\/localhost:2380 to both "default" and "other"$/],
    ['default=http://localhost:2380,default=http://localhost:2380', /^--initial-cluster: lists http:\/\/localhost:2380 twice for "default"$/],
    ['n1=http://10.0.0.1:2380,n2=http://10.0.0.2:2380', /^--initial-cluster: does not list this member "default" \(--name\); members listed: "n1", "n2"$/],
    ['default=http://10.0.0.1:2380', /^--initial-cluster: lists "default" with peer URLs http:\/\/10.0.0.1:2380 but --initial-advertise-peer-urls is http:\/\/127.0.0.1:2380$/],
  ])('rejects --initial-cluster %j', (cluster, message) => {
    const errors = errorsOf(resolve({ 'initial-cluster': cluster }));
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(message);
  });

  it('reports every bad flag at once, each error naming its flag', () => {
    const result = resolve({ 'heartbeat-interval': 'x', 'log-level': 'y', 'listen-peer-urls': 'z' }, { CONCLAVE_SNAPSHOT_COUNT: '0' });
    if (result.ok) throw new Error('expected errors');
    expect(result.errors.map((e) => [e.flag, e.source])).toEqual([
      ['listen-peer-urls', 'flag'],
      ['heartbeat-interval', 'flag'],
      ['snapshot-count', 'env'],
      ['log-level', 'flag'],
    ]);
    for (const error of result.errors) expect(error.message.startsWith(`--${error.flag}`)).toBe(true);
  });

  it('does not report errors that only follow from an earlier one', () => {
    // With --name unusable, the derived defaults of --data-dir and --initial-cluster are not checked against it.
    expect(errorsOf(resolve({ name: 'bad name' }))).toHaveLength(1);
    expect(errorsOf(resolve({ 'initial-advertise-peer-urls': 'nope' }))).toHaveLength(1);
  });
});
