// -w fields: etcdctl's "Name" : value lines, one field per line, IDs as decimal numbers and bytes as Go %q.

import type { KeyValue, ResponseHeader, ResponseOp } from '../../src/protocol/kv.js';
import { decimalId, goQuote } from './format.js';
import type { Output, Printer } from './printer.js';
import { innerHeader } from './print-json.js';

export function fieldsPrinter(output: Output): Printer {
  const field = (name: string, value: string | number | bigint | boolean) => output.out(`"${name}" : ${String(value)}\n`);
  const header = (h: ResponseHeader) => {
    field('ClusterID', decimalId(h.clusterId));
    field('MemberID', decimalId(h.memberId));
    field('Revision', h.revision);
    field('RaftTerm', h.raftTerm);
  };
  const kv = (prefix: string, entry: KeyValue) => {
    field(`${prefix}Key`, goQuote(entry.key));
    field(`${prefix}CreateRevision`, entry.createRevision);
    field(`${prefix}ModRevision`, entry.modRevision);
    field(`${prefix}Version`, entry.version);
    field(`${prefix}Value`, goQuote(entry.value));
    field(`${prefix}Lease`, entry.lease);
  };
  // Go's %v of a []string.
  const list = (items: readonly string[]) => `[${items.join(' ')}]`;
  const printer: Printer = {
    put: ({ header: h, response }) => {
      header(h);
      if (response.prevKv !== undefined) kv('Prev', response.prevKv);
    },
    get: ({ header: h, response }) => {
      header(h);
      for (const entry of response.kvs) kv('', entry);
      field('More', response.more);
      field('Count', response.count);
    },
    del: ({ header: h, response }) => {
      header(h);
      field('Deleted', response.deleted);
      for (const entry of response.prevKvs) kv('Prev', entry);
    },
    txn: ({ header: h, response }) => {
      header(h);
      field('Succeeded', response.succeeded);
      for (const op of response.responses) responseOp(innerHeader(h), op);
    },
    memberList: ({ header: h, response }) => {
      header(h);
      for (const member of response.members) {
        field('ID', decimalId(member.id));
        field('Name', goQuote(member.name));
        for (const url of member.peerUrls) field('PeerURL', goQuote(url));
        for (const url of member.clientUrls) field('ClientURL', goQuote(url));
        field('IsLearner', member.isLearner);
        output.out('\n');
      }
    },
    endpointStatus: (entries) => {
      for (const { endpoint, header: h, status } of entries) {
        header(h);
        field('Version', goQuote(status.version));
        field('DBSize', status.dbSize);
        field('Leader', decimalId(status.leader));
        field('IsLearner', status.isLearner);
        field('RaftIndex', status.raftIndex);
        field('RaftTerm', status.raftTerm);
        field('RaftAppliedIndex', status.raftAppliedIndex);
        field('Errors', list(status.errors));
        field('Endpoint', goQuote(endpoint));
        output.out('\n');
      }
    },
    endpointHealth: (entries) => {
      for (const entry of entries) {
        field('Endpoint', goQuote(entry.endpoint));
        field('Health', entry.health);
        field('Took', entry.took);
        field('Error', entry.error);
        output.out('\n');
      }
    },
  };
  const responseOp = (h: ResponseHeader, op: ResponseOp) => {
    if ('responseRange' in op) printer.get?.({ header: h, response: op.responseRange });
    else if ('responsePut' in op) printer.put?.({ header: h, response: op.responsePut });
    else if ('responseDeleteRange' in op) printer.del?.({ header: h, response: op.responseDeleteRange });
    else printer.txn?.({ header: h, response: op.responseTxn });
  };
  return printer;
}
