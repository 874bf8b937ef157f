// -w simple, etcdctl's default: a key and its value on a line each, counts, SUCCESS/FAILURE, comma-separated rows.

import type { KeyValue, ResponseHeader, ResponseOp } from '../../src/protocol/kv.js';
import { bytesToText, hexEscaped, leaseHex, paddedHexId } from './format.js';
import type { Output, Printer, PrinterOptions } from './printer.js';
import { endpointStatusRows, memberRows, type Rows } from './rows.js';

export function simplePrinter(output: Output, options: PrinterOptions): Printer {
  const text = (bytes: Uint8Array) => (options.hex ? hexEscaped(bytes) : bytesToText(bytes));
  const kv = (entry: KeyValue) => output.out(options.valueOnly ? `${text(entry.value)}\n` : `${text(entry.key)}\n${text(entry.value)}\n`);
  const lines = ({ rows }: Rows) => {
    for (const row of rows) output.out(`${row.join(', ')}\n`);
  };
  const printer: Printer = {
    put: ({ response }) => {
      output.out('OK\n');
      if (response.prevKv !== undefined) kv(response.prevKv);
    },
    get: ({ response }) => response.kvs.forEach(kv),
    del: ({ response }) => {
      output.out(`${response.deleted}\n`);
      response.prevKvs.forEach(kv);
    },
    txn: ({ header, response }) => {
      output.out(response.succeeded ? 'SUCCESS\n' : 'FAILURE\n');
      for (const op of response.responses) {
        output.out('\n');
        responseOp(header, op);
      }
    },
    memberList: ({ response }) => lines(memberRows(response)),
    memberAdd: ({ header, response }) => {
      const as = response.member.isLearner ? ' as learner ' : ' ';
      output.out(`Member ${paddedHexId(response.member.id)} added${as}to cluster ${paddedHexId(header.clusterId)}\n`);
    },
    memberRemove: (id, { header }) => output.out(`Member ${paddedHexId(id)} removed from cluster ${paddedHexId(header.clusterId)}\n`),
    memberPromote: (id, { header }) => output.out(`Member ${paddedHexId(id)} promoted in cluster ${paddedHexId(header.clusterId)}\n`),
    leaseGrant: ({ response }) => output.out(`lease ${leaseHex(response.id)} granted with TTL(${response.ttl}s)\n`),
    leaseRevoke: (id) => output.out(`lease ${leaseHex(id)} revoked\n`),
    leaseKeepAlive: ({ response }) => output.out(`lease ${leaseHex(response.id)} keepalived with TTL(${response.ttl})\n`),
    leaseTimeToLive: ({ response }, withKeys) => {
      if (response.ttl === -1) {
        output.out(`lease ${leaseHex(response.id)} already expired\n`);
        return;
      }
      const keys = withKeys ? `, attached keys([${response.keys.map(text).join(' ')}])` : '';
      output.out(`lease ${leaseHex(response.id)} granted with TTL(${response.grantedTtl}s), remaining(${response.ttl}s)${keys}\n`);
    },
    leaseList: ({ response }) => {
      output.out(`found ${response.leases.length} leases\n`);
      for (const lease of response.leases) output.out(`${leaseHex(lease.id)}\n`);
    },
    endpointStatus: (list) => lines(endpointStatusRows(list)),
    endpointHealth: (list) => {
      for (const entry of list) {
        if (entry.error === '') output.out(`${entry.endpoint} is healthy: successfully committed proposal: took = ${entry.took}\n`);
        else output.err(`${entry.endpoint} is unhealthy: failed to commit proposal: ${entry.error}\n`);
      }
    },
  };
  const responseOp = (header: ResponseHeader, op: ResponseOp) => {
    if ('responseRange' in op) printer.get?.({ header, response: op.responseRange });
    else if ('responsePut' in op) printer.put?.({ header, response: op.responsePut });
    else if ('responseDeleteRange' in op) printer.del?.({ header, response: op.responseDeleteRange });
    else printer.txn?.({ header, response: op.responseTxn });
  };
  return printer;
}
