// What each output format (-w) prints for each command, as etcdctl's printer interface. A format leaves out
// what etcdctl's does not support; commands check that before they send anything.

import type { Result } from '../../src/client/index.js';
import type { EndpointHealth, EndpointStatus } from './rows.js';

export const OUTPUT_FORMATS = ['simple', 'json', 'fields', 'table'] as const;
export type OutputFormat = (typeof OUTPUT_FORMATS)[number];

export interface Output {
  readonly out: (text: string) => void;
  readonly err: (text: string) => void;
}

export interface PrinterOptions {
  /** --hex: keys and values as \xNN escapes. */
  readonly hex: boolean;
  /** get --print-value-only. */
  readonly valueOnly: boolean;
}

export interface Printer {
  readonly put?: (result: Result<'put'>) => void;
  readonly get?: (result: Result<'range'>) => void;
  readonly del?: (result: Result<'deleteRange'>) => void;
  readonly txn?: (result: Result<'txn'>) => void;
  readonly memberList?: (result: Result<'memberList'>) => void;
  readonly memberAdd?: (result: Result<'memberAdd'>) => void;
  readonly memberRemove?: (id: string, result: Result<'memberRemove'>) => void;
  readonly memberPromote?: (id: string, result: Result<'memberPromote'>) => void;
  readonly leaseGrant?: (result: Result<'leaseGrant'>) => void;
  readonly leaseRevoke?: (id: number, result: Result<'leaseRevoke'>) => void;
  readonly leaseKeepAlive?: (result: Result<'leaseKeepAlive'>) => void;
  readonly leaseTimeToLive?: (result: Result<'leaseTimeToLive'>, withKeys: boolean) => void;
  readonly leaseList?: (result: Result<'leaseLeases'>) => void;
  readonly endpointStatus?: (list: readonly EndpointStatus[]) => void;
  readonly endpointHealth?: (list: readonly EndpointHealth[]) => void;
}

export type PrinterMethod = keyof Printer;
