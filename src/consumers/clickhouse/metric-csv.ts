import type { MetricRow } from './metric-queries.ts';

/**
 * A metric's rows as CSV (RFC 4180): a header of the column names, CRLF line ends, and a field quoted when it holds
 * a comma, a quote, CR or LF, its quotes doubled. NULL is an empty field and an empty string a quoted one (`""`); numbers are written as JSON writes them,
 * so each field is the JSON row's value as text.
 */
export function toCsv(columns: readonly string[], rows: readonly MetricRow[]): string {
  const lines = [columns.map(field).join(',')];
  for (const row of rows) lines.push(columns.map((c) => field(row[c])).join(','));
  return `${lines.join('\r\n')}\r\n`;
}

function field(value: string | number | null | undefined): string {
  if (value === null || value === undefined) return '';
  const text = String(value);
  return text === '' || /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}
