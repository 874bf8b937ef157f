// The exact JSON of etcd's gateway: the curl examples of etcd's "gRPC gateway" guide (dev-guide/api_grpc_gateway)
// with the bodies etcd answers them with, compared as text (field order included), and the shapes of the
// cluster and maintenance messages as jsonpb prints them from etcdserverpb's rpc.proto.

import { describe, expect, it } from 'vitest';
import type { Method, Requests, Responses } from '../../src/protocol/api.js';
import type { ResponseHeader } from '../../src/protocol/kv.js';
import { decodeHealth, decodeRequest, decodeResponse, encodeHealth, encodeRequest, encodeResponse, parseJsonBody } from '../../src/protocol/json.js';
import { utf8 } from './arbitraries.js';

// From the guide: cluster_id 12585971608760269493 and member_id 13847567121247652255, in our hex.
const guideHeader = (revision: number, raftTerm: number): ResponseHeader => ({ clusterId: 'aeaa5a7ead4ebab5', memberId: 'c02c70ede158499f', revision, raftTerm });
// The guide's txn examples come from another cluster: 14841639068965178418 and 10276657743932975437.
const txnHeader = (revision: number, raftTerm: number): ResponseHeader => ({ clusterId: 'cdf818194e3a8c32', memberId: '8e9e05c52164694d', revision, raftTerm });

const foo = utf8('foo');
const bar = utf8('bar');

interface Exchange<M extends Method> {
  readonly name: string;
  readonly method: M;
  /** The body as the guide sends it (spacing and all). */
  readonly sent: string;
  readonly request: Requests[M];
  /** What encodeRequest writes for the same request (proto names, no spaces). */
  readonly written: string;
  readonly header: ResponseHeader;
  readonly response: Responses[M];
  /** etcd's answer, verbatim. */
  readonly answer: string;
}

const exchange = <M extends Method>(e: Exchange<M>): Exchange<M> => e;

const EXCHANGES = [
  exchange({
    name: 'put',
    method: 'put',
    sent: '{"key": "Zm9v", "value": "YmFy"}',
    request: { key: foo, value: bar },
    written: '{"key":"Zm9v","value":"YmFy"}',
    header: guideHeader(2, 3),
    response: {},
    answer: '{"header":{"cluster_id":"12585971608760269493","member_id":"13847567121247652255","revision":"2","raft_term":"3"}}',
  }),
  exchange({
    name: 'range of one key',
    method: 'range',
    sent: '{"key": "Zm9v"}',
    request: { key: foo },
    written: '{"key":"Zm9v"}',
    header: guideHeader(2, 3),
    response: { kvs: [{ key: foo, createRevision: 2, modRevision: 2, version: 1, value: bar, lease: 0 }], more: false, count: 1 },
    answer:
      '{"header":{"cluster_id":"12585971608760269493","member_id":"13847567121247652255","revision":"2","raft_term":"3"},' +
      '"kvs":[{"key":"Zm9v","create_revision":"2","mod_revision":"2","version":"1","value":"YmFy"}],"count":"1"}',
  }),
  exchange({
    name: 'range of a prefix',
    method: 'range',
    sent: '{"key": "Zm9v", "range_end": "Zm9w"}',
    request: { key: foo, rangeEnd: utf8('fop') },
    written: '{"key":"Zm9v","range_end":"Zm9w"}',
    header: guideHeader(2, 3),
    response: { kvs: [{ key: foo, createRevision: 2, modRevision: 2, version: 1, value: bar, lease: 0 }], more: false, count: 1 },
    answer:
      '{"header":{"cluster_id":"12585971608760269493","member_id":"13847567121247652255","revision":"2","raft_term":"3"},' +
      '"kvs":[{"key":"Zm9v","create_revision":"2","mod_revision":"2","version":"1","value":"YmFy"}],"count":"1"}',
  }),
  exchange({
    name: 'range of every key',
    method: 'range',
    sent: '{"key":"AA==","range_end":"AA=="}',
    request: { key: new Uint8Array([0]), rangeEnd: new Uint8Array([0]) },
    written: '{"key":"AA==","range_end":"AA=="}',
    header: guideHeader(2, 3),
    response: { kvs: [], more: false, count: 0 },
    answer: '{"header":{"cluster_id":"12585971608760269493","member_id":"13847567121247652255","revision":"2","raft_term":"3"}}',
  }),
  exchange({
    name: 'txn on a create revision (lowerCamelCase names, as the guide sends them)',
    method: 'txn',
    sent: '{"compare":[{"target":"CREATE","key":"Zm9v","createRevision":"2"}],"success":[{"requestPut":{"key":"Zm9v","value":"YmFy"}}]}',
    request: { compare: [{ key: foo, result: 'equal', target: 'create', createRevision: 2 }], success: [{ requestPut: { key: foo, value: bar } }], failure: [] },
    written: '{"compare":[{"target":"CREATE","key":"Zm9v","create_revision":"2"}],"success":[{"request_put":{"key":"Zm9v","value":"YmFy"}}]}',
    header: guideHeader(3, 2),
    response: { succeeded: true, responses: [{ responsePut: {} }] },
    answer:
      '{"header":{"cluster_id":"12585971608760269493","member_id":"13847567121247652255","revision":"3","raft_term":"2"},' +
      '"succeeded":true,"responses":[{"response_put":{"header":{"revision":"3"}}}]}',
  }),
  exchange({
    name: 'txn on a version (EQUAL and VERSION are the defaults, so not written)',
    method: 'txn',
    sent: '{"compare":[{"version":"4","result":"EQUAL","target":"VERSION","key":"Zm9v"}],"success":[{"requestRange":{"key":"Zm9v"}}]}',
    request: { compare: [{ key: foo, result: 'equal', target: 'version', version: 4 }], success: [{ requestRange: { key: foo } }], failure: [] },
    written: '{"compare":[{"key":"Zm9v","version":"4"}],"success":[{"request_range":{"key":"Zm9v"}}]}',
    header: txnHeader(6, 3),
    response: {
      succeeded: true,
      responses: [{ responseRange: { kvs: [{ key: foo, createRevision: 2, modRevision: 6, version: 4, value: utf8('baz'), lease: 0 }], more: false, count: 1 } }],
    },
    answer:
      '{"header":{"cluster_id":"14841639068965178418","member_id":"10276657743932975437","revision":"6","raft_term":"3"},"succeeded":true,' +
      '"responses":[{"response_range":{"header":{"revision":"6"},"kvs":[{"key":"Zm9v","create_revision":"2","mod_revision":"6","version":"4","value":"YmF6"}],"count":"1"}}]}',
  }),
  exchange({
    name: 'member list (the Member fields keep their proto names: ID, peerURLs, clientURLs, isLearner)',
    method: 'memberList',
    sent: '{}',
    request: {},
    written: '{}',
    header: { clusterId: 'cdf818194e3a8c32', memberId: '8e9e05c52164694d', revision: 0, raftTerm: 2 },
    response: {
      members: [
        { id: '8e9e05c52164694d', name: 'default', peerUrls: ['http://localhost:2380'], clientUrls: ['http://localhost:2379'], isLearner: false },
        { id: '0000000000000abc', name: '', peerUrls: ['http://10.0.0.4:2380'], clientUrls: [], isLearner: true },
      ],
    },
    answer:
      '{"header":{"cluster_id":"14841639068965178418","member_id":"10276657743932975437","raft_term":"2"},"members":[' +
      '{"ID":"10276657743932975437","name":"default","peerURLs":["http://localhost:2380"],"clientURLs":["http://localhost:2379"]},' +
      '{"ID":"2748","peerURLs":["http://10.0.0.4:2380"],"isLearner":true}]}',
  }),
  exchange({
    name: 'member add of a learner',
    method: 'memberAdd',
    sent: '{"peerURLs":["http://10.0.0.4:2380"],"isLearner":true}',
    request: { peerUrls: ['http://10.0.0.4:2380'], isLearner: true },
    written: '{"peerURLs":["http://10.0.0.4:2380"],"isLearner":true}',
    header: { clusterId: 'cdf818194e3a8c32', memberId: '8e9e05c52164694d', revision: 0, raftTerm: 2 },
    response: {
      member: { id: 'ffffffffffffffff', name: '', peerUrls: ['http://10.0.0.4:2380'], clientUrls: [], isLearner: true },
      members: [{ id: 'ffffffffffffffff', name: '', peerUrls: ['http://10.0.0.4:2380'], clientUrls: [], isLearner: true }],
    },
    answer:
      '{"header":{"cluster_id":"14841639068965178418","member_id":"10276657743932975437","raft_term":"2"},' +
      '"member":{"ID":"18446744073709551615","peerURLs":["http://10.0.0.4:2380"],"isLearner":true},' +
      '"members":[{"ID":"18446744073709551615","peerURLs":["http://10.0.0.4:2380"],"isLearner":true}]}',
  }),
  exchange({
    name: 'member remove',
    method: 'memberRemove',
    sent: '{"ID":"10276657743932975437"}',
    request: { id: '8e9e05c52164694d' },
    written: '{"ID":"10276657743932975437"}',
    header: { clusterId: 'cdf818194e3a8c32', memberId: '8e9e05c52164694d', revision: 0, raftTerm: 2 },
    response: { members: [] },
    answer: '{"header":{"cluster_id":"14841639068965178418","member_id":"10276657743932975437","raft_term":"2"}}',
  }),
  exchange({
    name: 'member promote, the ID sent as a JSON number',
    method: 'memberPromote',
    sent: '{"ID": 2748}',
    request: { id: '0000000000000abc' },
    written: '{"ID":"2748"}',
    header: { clusterId: 'cdf818194e3a8c32', memberId: '8e9e05c52164694d', revision: 0, raftTerm: 2 },
    response: { members: [{ id: '0000000000000abc', name: 'm2', peerUrls: ['http://10.0.0.4:2380'], clientUrls: ['http://10.0.0.4:2379'], isLearner: false }] },
    answer:
      '{"header":{"cluster_id":"14841639068965178418","member_id":"10276657743932975437","raft_term":"2"},' +
      '"members":[{"ID":"2748","name":"m2","peerURLs":["http://10.0.0.4:2380"],"clientURLs":["http://10.0.0.4:2379"]}]}',
  }),
  exchange({
    name: 'status (no errors and not a learner, so neither is written)',
    method: 'status',
    sent: '{}',
    request: {},
    written: '{}',
    header: txnHeader(6, 3),
    response: {
      version: '3.4.0',
      dbSize: 24576,
      leader: '8e9e05c52164694d',
      raftIndex: 9,
      raftTerm: 3,
      raftAppliedIndex: 9,
      errors: [],
      dbSizeInUse: 20480,
      isLearner: false,
    },
    answer:
      '{"header":{"cluster_id":"14841639068965178418","member_id":"10276657743932975437","revision":"6","raft_term":"3"},' +
      '"version":"3.4.0","dbSize":"24576","leader":"10276657743932975437","raftIndex":"9","raftTerm":"3","raftAppliedIndex":"9","dbSizeInUse":"20480"}',
  }),
  exchange({
    name: 'status of a learner with an alarm and no leader, asked with an empty body',
    method: 'status',
    sent: '',
    request: {},
    written: '{}',
    header: txnHeader(6, 3),
    response: {
      version: '3.4.0',
      dbSize: 24576,
      leader: '0000000000000000',
      raftIndex: 9,
      raftTerm: 3,
      raftAppliedIndex: 8,
      errors: ['memberID:10276657743932975437 alarm:NOSPACE '],
      dbSizeInUse: 20480,
      isLearner: true,
    },
    answer:
      '{"header":{"cluster_id":"14841639068965178418","member_id":"10276657743932975437","revision":"6","raft_term":"3"},' +
      '"version":"3.4.0","dbSize":"24576","raftIndex":"9","raftTerm":"3","raftAppliedIndex":"8",' +
      '"errors":["memberID:10276657743932975437 alarm:NOSPACE "],"dbSizeInUse":"20480","isLearner":true}',
  }),
  exchange({
    name: 'compaction',
    method: 'compact',
    sent: '{"revision": "5", "physical": true}',
    request: { revision: 5, physical: true },
    written: '{"revision":"5","physical":true}',
    header: txnHeader(6, 3),
    response: {},
    answer: '{"header":{"cluster_id":"14841639068965178418","member_id":"10276657743932975437","revision":"6","raft_term":"3"}}',
  }),
  exchange({
    name: 'delete range with prev_kv',
    method: 'deleteRange',
    sent: '{"key": "Zm9v", "prev_kv": true}',
    request: { key: foo, prevKv: true },
    written: '{"key":"Zm9v","prev_kv":true}',
    header: txnHeader(7, 3),
    response: { deleted: 1, prevKvs: [{ key: foo, createRevision: 2, modRevision: 6, version: 4, value: utf8('baz'), lease: 42 }] },
    answer:
      '{"header":{"cluster_id":"14841639068965178418","member_id":"10276657743932975437","revision":"7","raft_term":"3"},' +
      '"deleted":"1","prev_kvs":[{"key":"Zm9v","create_revision":"2","mod_revision":"6","version":"4","value":"YmF6","lease":"42"}]}',
  }),
];

describe.each(EXCHANGES)('$name', (e: Exchange<Method>) => {
  it('decodes the request as sent', () => {
    expect(decodeRequest(e.method, parseJsonBody(e.sent))).toEqual(e.request);
  });

  it('writes the request in proto names, defaults left out', () => {
    expect(JSON.stringify(encodeRequest(e.method, e.request))).toBe(e.written);
  });

  it("writes etcd's answer byte for byte", () => {
    expect(JSON.stringify(encodeResponse(e.method, e.header, e.response))).toBe(e.answer);
  });

  it("decodes etcd's answer", () => {
    expect(decodeResponse(e.method, JSON.parse(e.answer))).toEqual({ header: e.header, response: e.response });
  });
});

describe('health', () => {
  it('writes etcd 3.5\'s {"health":"true","reason":""}', () => {
    expect(JSON.stringify(encodeHealth({ health: true, reason: '' }))).toBe('{"health":"true","reason":""}');
    expect(JSON.stringify(encodeHealth({ health: false, reason: 'NOSPACE' }))).toBe('{"health":"false","reason":"NOSPACE"}');
  });

  it("reads etcd 3.4's answer, which has no reason", () => {
    expect(decodeHealth(JSON.parse('{"health":"true"}'))).toEqual({ health: true, reason: '' });
    expect(decodeHealth(JSON.parse('{"health":"false","reason":"RAFT NO LEADER"}'))).toEqual({ health: false, reason: 'RAFT NO LEADER' });
  });
});
