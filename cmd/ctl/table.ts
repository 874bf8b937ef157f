// The boxed tables of etcdctl's -w table (olekukonko/tablewriter as etcdctl sets it up): headers upper-cased
// and centred, cells right-aligned, one space of padding, +---+ rules above and below the header and at the end.

function width(text: string): number {
  let columns = 0;
  for (const char of text) columns += /\p{Mn}|\p{Me}/u.test(char) ? 0 : /[\u1100-\u115f\u2e80-\ua4cf\uac00-\ud7a3\uf900-\ufaff\ufe30-\ufe4f\uff00-\uff60\uffe0-\uffe6]/u.test(char) ? 2 : 1;
  return columns;
}

function centred(text: string, columns: number): string {
  const gap = columns - width(text);
  if (gap <= 0) return text;
  const left = Math.floor(gap / 2);
  return ' '.repeat(left) + text + ' '.repeat(gap - left);
}

function rightAligned(text: string, columns: number): string {
  return ' '.repeat(Math.max(0, columns - width(text))) + text;
}

/** tablewriter's header form: underscores become spaces, then upper case. */
function title(header: string): string {
  return header.replace(/_/g, ' ').trim().toUpperCase();
}

export function renderTable(headers: readonly string[], rows: readonly (readonly string[])[]): string {
  const titles = headers.map(title);
  const widths = titles.map((header, column) => Math.max(width(header), ...rows.map((row) => width(row[column] ?? ''))));
  const rule = `+${widths.map((columns) => '-'.repeat(columns + 2)).join('+')}+\n`;
  const line = (cells: readonly string[], align: (text: string, columns: number) => string) =>
    `|${widths.map((columns, column) => ` ${align(cells[column] ?? '', columns)} `).join('|')}|\n`;
  let text = rule + line(titles, centred) + rule;
  for (const row of rows) text += line(row, rightAligned);
  return text + rule;
}
