// -w table: only members and endpoints have a table form, as in etcdctl.

import type { Output, Printer } from './printer.js';
import { endpointHealthRows, endpointStatusRows, memberRows, type Rows } from './rows.js';
import { renderTable } from './table.js';

export function tablePrinter(output: Output): Printer {
  const print = ({ headers, rows }: Rows) => output.out(renderTable(headers, rows));
  return {
    memberList: ({ response }) => print(memberRows(response)),
    endpointStatus: (list) => print(endpointStatusRows(list)),
    endpointHealth: (list) => print(endpointHealthRows(list)),
  };
}
