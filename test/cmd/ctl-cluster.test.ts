import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Member } from '../../src/protocol/cluster.js';
import { closedEndpoint, type FakeServer } from '../client/fake-server.js';
import { CLUSTER_DECIMAL, ctl, member, MEMBER_DECIMAL, type CtlRunOptions } from './ctl-helpers.js';

// Two members: a (the leader, 8e9e05c52164694d) and b (91bc3c398fb3c146, a learner with alarms).
let a: FakeServer;
let b: FakeServer;
const B_DECIMAL = '10501334649042878790';
const NEW_DECIMAL = '11651590505119483672';
const header = (id: string, revision = 1) => `{"cluster_id":${CLUSTER_DECIMAL},"member_id":${id},"revision":${revision},"raft_term":2}`;
const fieldsHeader = (id: string) => `"ClusterID" : ${CLUSTER_DECIMAL}\n"MemberID" : ${id}\n"Revision" : 1\n"RaftTerm" : 2\n`;
const ok = (stdout: string) => ({ code: 0, stdout, stderr: '' });
const failed = (message: string) => ({ code: 1, stdout: '', stderr: `Error: ${message}\n` });
const run = (args: readonly string[], options?: CtlRunOptions) => ctl(['--endpoints', a.url, ...args], options);

const MEMBERS: Member[] = [
  { id: '8e9e05c52164694d', name: 'n1', peerUrls: ['http://10.0.0.1:2380'], clientUrls: ['http://10.0.0.1:2379'], isLearner: false },
  { id: '91bc3c398fb3c146', name: 'n2', peerUrls: ['http://10.0.0.2:2380'], clientUrls: ['http://10.0.0.2:2379'], isLearner: false },
  { id: '00000000000000ff', name: '', peerUrls: ['http://10.0.0.3:2380'], clientUrls: [], isLearner: true },
];

beforeEach(async () => {
  a = await member();
  b = await member();
  b.memberId = '91bc3c398fb3c146';
  b.status = { ...b.status, leader: a.memberId, dbSize: 1_500_000, raftTerm: 3, raftIndex: 100, raftAppliedIndex: 99, isLearner: true, errors: ['NOSPACE', 'CORRUPT'] };
  a.members = MEMBERS.map((m) => ({ ...m }));
  // Both URLs are 22 characters (5-digit ports), which the tables below are drawn for.
  expect([a.url.length, b.url.length]).toEqual([22, 22]);
});
afterEach(async () => {
  await Promise.all([a.close(), b.close()]);
});

describe('conclavectl member', () => {
  it('lists members: simple, table, json and fields', async () => {
    expect(await run(['member', 'list'])).toEqual(
      ok(
        '8e9e05c52164694d, started, n1, http://10.0.0.1:2380, http://10.0.0.1:2379, false\n' +
          '91bc3c398fb3c146, started, n2, http://10.0.0.2:2380, http://10.0.0.2:2379, false\n' +
          'ff, unstarted, , http://10.0.0.3:2380, , true\n',
      ),
    );
    expect(await run(['member', 'list', '-w', 'table'])).toEqual(
      ok(
        [
          '+------------------+-----------+------+----------------------+----------------------+------------+',
          '|        ID        |  STATUS   | NAME |      PEER ADDRS      |     CLIENT ADDRS     | IS LEARNER |',
          '+------------------+-----------+------+----------------------+----------------------+------------+',
          '| 8e9e05c52164694d |   started |   n1 | http://10.0.0.1:2380 | http://10.0.0.1:2379 |      false |',
          '| 91bc3c398fb3c146 |   started |   n2 | http://10.0.0.2:2380 | http://10.0.0.2:2379 |      false |',
          '|               ff | unstarted |      | http://10.0.0.3:2380 |                      |       true |',
          '+------------------+-----------+------+----------------------+----------------------+------------+',
          '',
        ].join('\n'),
      ),
    );
    expect(await run(['member', 'list', '-w', 'json'])).toEqual(
      ok(
        `{"header":${header(MEMBER_DECIMAL)},"members":[` +
          `{"ID":${MEMBER_DECIMAL},"name":"n1","peerURLs":["http://10.0.0.1:2380"],"clientURLs":["http://10.0.0.1:2379"]},` +
          `{"ID":${B_DECIMAL},"name":"n2","peerURLs":["http://10.0.0.2:2380"],"clientURLs":["http://10.0.0.2:2379"]},` +
          `{"ID":255,"peerURLs":["http://10.0.0.3:2380"],"isLearner":true}]}\n`,
      ),
    );
    const fields = await run(['member', 'list', '-w', 'fields']);
    expect(fields.stdout).toBe(
      fieldsHeader(MEMBER_DECIMAL) +
        `"ID" : ${MEMBER_DECIMAL}\n"Name" : "n1"\n"PeerURL" : "http://10.0.0.1:2380"\n"ClientURL" : "http://10.0.0.1:2379"\n"IsLearner" : false\n\n` +
        `"ID" : ${B_DECIMAL}\n"Name" : "n2"\n"PeerURL" : "http://10.0.0.2:2380"\n"ClientURL" : "http://10.0.0.2:2379"\n"IsLearner" : false\n\n` +
        `"ID" : 255\n"Name" : ""\n"PeerURL" : "http://10.0.0.3:2380"\n"IsLearner" : true\n\n`,
    );
  });

  it('adds a member and prints the environment it starts with', async () => {
    expect(await run(['member', 'add', 'n4', '--peer-urls=http://10.0.0.4:2380'])).toEqual(
      ok(
        'Member a1b2c3d4e5f60718 added to cluster cdf818194e3a8c32\n\n' +
          'CONCLAVE_NAME="n4"\n' +
          'CONCLAVE_INITIAL_CLUSTER="n1=http://10.0.0.1:2380,n2=http://10.0.0.2:2380,=http://10.0.0.3:2380,n4=http://10.0.0.4:2380"\n' +
          'CONCLAVE_INITIAL_ADVERTISE_PEER_URLS="http://10.0.0.4:2380"\n' +
          'CONCLAVE_INITIAL_CLUSTER_STATE="existing"\n',
      ),
    );
    expect(a.received.at(-1)?.request).toEqual({ peerUrls: ['http://10.0.0.4:2380'] });
  });

  it('adds a learner, in json', async () => {
    const added = await run(['member', 'add', 'n5', '--peer-urls', 'http://10.0.0.5:2380,http://10.0.1.5:2380', '--learner', '-w', 'json']);
    expect(added.code).toBe(0);
    expect(added.stdout).toMatch(
      new RegExp(`^\\{"header":\\{[^}]*\\},"member":\\{"ID":${NEW_DECIMAL},"peerURLs":\\["http://10.0.0.5:2380","http://10.0.1.5:2380"\\],"isLearner":true\\},"members":\\[.*\\]\\}\\n$`),
    );
    expect(added.stdout).not.toContain('CONCLAVE_NAME');
    const simple = await run(['member', 'add', 'n6', '--peer-urls=http://10.0.0.6:2380', '--learner']);
    expect(simple.stdout.split('\n')[0]).toBe('Member a1b2c3d4e5f60718 added as learner to cluster cdf818194e3a8c32');
  });

  it('removes and promotes members by hexadecimal ID', async () => {
    expect(await run(['member', 'promote', 'ff'])).toEqual(ok('Member               ff promoted in cluster cdf818194e3a8c32\n'));
    expect(a.members[2]?.isLearner).toBe(false);
    expect(await run(['member', 'remove', '91BC3C398FB3C146'])).toEqual(ok('Member 91bc3c398fb3c146 removed from cluster cdf818194e3a8c32\n'));
    expect(a.members.map((m) => m.id)).toEqual(['8e9e05c52164694d', '00000000000000ff']);
    const json = await run(['member', 'remove', 'ff', '-w', 'json']);
    expect(json).toEqual(ok(`{"header":${header(MEMBER_DECIMAL)},"members":[{"ID":${MEMBER_DECIMAL},"name":"n1","peerURLs":["http://10.0.0.1:2380"],"clientURLs":["http://10.0.0.1:2379"]}]}\n`));
    expect(await run(['member', 'remove', 'ff'])).toEqual(failed('etcdserver: member not found'));
  });

  it.each([
    [['member', 'add'], 'member name not provided'],
    [['member', 'add', 'n4', 'http://10.0.0.4:2380'], 'too many arguments, did you mean --peer-urls=http://10.0.0.4:2380'],
    [['member', 'add', 'n4'], 'member peer urls not provided'],
    [['member', 'add', 'n4', '--peer-urls=http://x:1', '-w', 'table'], 'table not supported as output format'],
    [['member', 'add', 'n4', '--peer-urls=http://x:1', '-w', 'fields'], 'fields not supported as output format'],
    [['member', 'remove'], 'member ID is not provided'],
    [['member', 'promote', 'zz'], 'bad member ID arg (strconv.ParseUint: parsing "zz": invalid syntax), expecting ID in Hex'],
    [['member', 'remove', '1ffffffffffffffff'], 'bad member ID arg (strconv.ParseUint: parsing "1ffffffffffffffff": value out of range), expecting ID in Hex'],
  ])('refuses %j before sending anything', async (args, message) => {
    expect(await run(args)).toEqual(failed(message));
    expect(a.received).toEqual([]);
  });

  it('needs a subcommand', async () => {
    const bare = await run(['member']);
    expect(bare.code).toBe(1);
    expect(bare.stderr).toContain('member needs a subcommand: list, add, remove, promote');
  });
});

describe('conclavectl endpoint status', () => {
  const rule = '+------------------------+------------------+---------+---------+-----------+------------+-----------+------------+--------------------+------------------+';

  it('asks each endpoint on its own: simple and table', async () => {
    const endpoints = ['--endpoints', `${a.url},${b.url}`];
    expect(await ctl([...endpoints, 'endpoint', 'status'])).toEqual(
      ok(`${a.url}, 8e9e05c52164694d, 3.4.0, 20 kB, true, false, 2, 12, 12, \n${b.url}, 91bc3c398fb3c146, 3.4.0, 1.5 MB, false, true, 3, 100, 99, NOSPACE, CORRUPT\n`),
    );
    expect(a.received.map((r) => r.method)).toEqual(['status']);
    expect(b.received.map((r) => r.method)).toEqual(['status']);
    expect(await ctl([...endpoints, 'endpoint', 'status', '-w', 'table'])).toEqual(
      ok(
        [
          rule,
          '|        ENDPOINT        |        ID        | VERSION | DB SIZE | IS LEADER | IS LEARNER | RAFT TERM | RAFT INDEX | RAFT APPLIED INDEX |      ERRORS      |',
          rule,
          `| ${a.url} | 8e9e05c52164694d |   3.4.0 |   20 kB |      true |      false |         2 |         12 |                 12 |                  |`,
          `| ${b.url} | 91bc3c398fb3c146 |   3.4.0 |  1.5 MB |     false |       true |         3 |        100 |                 99 | NOSPACE, CORRUPT |`,
          rule,
          '',
        ].join('\n'),
      ),
    );
  });

  it('prints json and fields', async () => {
    const endpoints = ['--endpoints', `${a.url},${b.url}`];
    expect(await ctl([...endpoints, 'endpoint', 'status', '-w', 'json'])).toEqual(
      ok(
        `[{"Endpoint":"${a.url}","Status":{"header":${header(MEMBER_DECIMAL)},"version":"3.4.0","dbSize":20480,"leader":${MEMBER_DECIMAL},"raftIndex":12,"raftTerm":2,"raftAppliedIndex":12,"dbSizeInUse":16384}},` +
          `{"Endpoint":"${b.url}","Status":{"header":${header(B_DECIMAL)},"version":"3.4.0","dbSize":1500000,"leader":${MEMBER_DECIMAL},"raftIndex":100,"raftTerm":3,"raftAppliedIndex":99,"errors":["NOSPACE","CORRUPT"],"dbSizeInUse":16384,"isLearner":true}}]\n`,
      ),
    );
    expect(await run(['endpoint', 'status', '-w', 'fields'])).toEqual(
      ok(
        `${fieldsHeader(MEMBER_DECIMAL)}"Version" : "3.4.0"\n"DBSize" : 20480\n"Leader" : ${MEMBER_DECIMAL}\n"IsLearner" : false\n"RaftIndex" : 12\n"RaftTerm" : 2\n` +
          `"RaftAppliedIndex" : 12\n"Errors" : []\n"Endpoint" : "${a.url}"\n\n`,
      ),
    );
  });

  it('uses the client URLs of every member with --cluster', async () => {
    a.members = [
      { ...MEMBERS[0], clientUrls: [a.url] } as Member,
      { ...MEMBERS[1], clientUrls: [b.url] } as Member,
      MEMBERS[2] as Member,
    ];
    const result = await run(['endpoint', 'status', '--cluster']);
    expect(result.code).toBe(0);
    expect(result.stdout.split('\n').map((line) => line.split(', ')[0])).toEqual([a.url, b.url, '']);
    expect(a.received.map((r) => r.method)).toEqual(['memberList', 'status']);
  });

  it('reports an endpoint it cannot reach, prints the others and exits 1', async () => {
    const down = await closedEndpoint();
    const result = await ctl(['--endpoints', `${down},${a.url}`, 'endpoint', 'status']);
    expect(result.code).toBe(1);
    expect(result.stdout).toBe(`${a.url}, 8e9e05c52164694d, 3.4.0, 20 kB, true, false, 2, 12, 12, \n`);
    expect(result.stderr).toMatch(new RegExp(`^Failed to get the status of endpoint ${down} \\(no endpoint could be reached: ${down} \\(connect ECONNREFUSED [^)]+\\)\\)\\n$`));
  });
});

describe('conclavectl endpoint health', () => {
  // Each check reads the clock before and after (all start before any ends); these readings make each take 2.1ms.
  const clockFor = (checks: number) => [...Array<bigint>(checks).fill(0n), ...Array<bigint>(checks).fill(2_100_000n)];
  const clock = clockFor(1);

  it('prints each healthy endpoint with the time its check took', async () => {
    expect(await run(['endpoint', 'health'], { clock })).toEqual(ok(`${a.url} is healthy: successfully committed proposal: took = 2.1ms\n`));
    expect(a.received.map((r) => r.method)).toEqual(['health']);
    const real = await run(['endpoint', 'health']);
    expect(real.stdout).toMatch(new RegExp(`^${a.url} is healthy: successfully committed proposal: took = \\d+(\\.\\d+)?(µs|ms|s)\\n$`));
  });

  it('prints unhealthy endpoints on stderr, then "unhealthy cluster", and exits 1', async () => {
    b.health = { health: false, reason: 'etcdserver: no leader' };
    expect(await ctl(['--endpoints', `${a.url},${b.url}`, 'endpoint', 'health'], { clock: clockFor(2) })).toEqual({
      code: 1,
      stdout: `${a.url} is healthy: successfully committed proposal: took = 2.1ms\n`,
      stderr: `${b.url} is unhealthy: failed to commit proposal: etcdserver: no leader\nError: unhealthy cluster\n`,
    });
  });

  it('prints json, table and fields', async () => {
    b.health = { health: false, reason: 'etcdserver: no leader' };
    const endpoints = ['--endpoints', `${a.url},${b.url}`];
    expect(await ctl([...endpoints, 'endpoint', 'health', '-w', 'json'], { clock: clockFor(2) })).toEqual({
      code: 1,
      stdout: `[{"endpoint":"${a.url}","health":true,"took":"2.1ms"},{"endpoint":"${b.url}","health":false,"took":"2.1ms","error":"etcdserver: no leader"}]\n`,
      stderr: 'Error: unhealthy cluster\n',
    });
    const table = await ctl([...endpoints, 'endpoint', 'health', '-w', 'table'], { clock: clockFor(2) });
    expect(table.stdout).toBe(
      [
        '+------------------------+--------+-------+-----------------------+',
        '|        ENDPOINT        | HEALTH | TOOK  |         ERROR         |',
        '+------------------------+--------+-------+-----------------------+',
        `| ${a.url} |   true | 2.1ms |                       |`,
        `| ${b.url} |  false | 2.1ms | etcdserver: no leader |`,
        '+------------------------+--------+-------+-----------------------+',
        '',
      ].join('\n'),
    );
    const fields = await run(['endpoint', 'health', '-w', 'fields'], { clock });
    expect(fields).toEqual(ok(`"Endpoint" : "${a.url}"\n"Health" : true\n"Took" : 2.1ms\n"Error" : \n\n`));
  });

  it('counts an endpoint it cannot reach as unhealthy', async () => {
    const down = await closedEndpoint();
    const result = await ctl(['--endpoints', down, 'endpoint', 'health'], { clock });
    expect(result.code).toBe(1);
    expect(result.stdout).toBe('');
    expect(result.stderr).toMatch(new RegExp(`^${down} is unhealthy: failed to commit proposal: no endpoint could be reached: ${down} \\(connect ECONNREFUSED [^)]+\\)\\nError: unhealthy cluster\\n$`));
  });
});

describe('conclavectl endpoints, timeouts and errors', () => {
  it('takes the endpoints from CONCLAVECTL_ENDPOINTS, and fails over past one that is down', async () => {
    const down = await closedEndpoint();
    expect(await ctl(['put', 'k', 'v'], { env: { CONCLAVECTL_ENDPOINTS: `${down},${a.url}` } })).toEqual(ok('OK\n'));
    expect(a.value('k')).toBe('v');
  });

  it('names every endpoint when none can be reached', async () => {
    const first = await closedEndpoint();
    const second = await closedEndpoint();
    const result = await ctl(['--endpoints', `${first},${second}`, 'get', 'k']);
    expect(result.code).toBe(1);
    expect(result.stdout).toBe('');
    expect(result.stderr).toMatch(new RegExp(`^Error: no endpoint could be reached: ${first} \\(connect ECONNREFUSED [^)]+\\), ${second} \\(connect ECONNREFUSED [^)]+\\)\\n$`));
  });

  it('sends a put that got no answer within --command-timeout to another member, with the same request ID', async () => {
    a.override = () => 'stall';
    const result = await ctl(['--endpoints', `${a.url},${b.url}`, '--command-timeout', '300ms', 'put', 'k', 'v']);
    expect(result).toEqual({ code: 0, stdout: 'OK\n', stderr: '' });
    const [first] = a.received;
    const [retry] = b.received;
    expect(retry?.requestId).toBe(first?.requestId);
    expect(retry?.retrySince).toBeDefined();
    expect(b.version('k')).toBe(1);
  });

  it.each([
    [['--command-timeout', '5', 'get', 'k'], '--command-timeout: "5" is not a positive duration (e.g. 5s, 500ms, 1m30s)'],
    [['--dial-timeout', '0s', 'get', 'k'], '--dial-timeout: "0s" is not a positive duration (e.g. 5s, 500ms, 1m30s)'],
    [['-w', 'yaml', 'get', 'k'], 'Argument: write-out, Given: "yaml"'],
    [['bogus'], 'Unknown argument: bogus'],
    [[], 'no command given'],
  ])('refuses %j as a usage error', async (args, message) => {
    const result = await run(args);
    expect(result.code).toBe(1);
    expect(result.stdout).toBe('');
    expect(result.stderr).toContain(`conclavectl: `);
    expect(result.stderr).toContain(message);
    expect(a.received).toEqual([]);
  });
});
