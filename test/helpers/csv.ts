/**
 * Reads RFC 4180 CSV strictly: CRLF records, fields quoted with doubled quotes inside. An unquoted empty field is
 * null and a quoted one '' (how metric-csv.ts writes NULL and the empty string); a malformed file throws.
 */
export function parseCsv(text: string): (string | null)[][] {
  const records: (string | null)[][] = [];
  let i = 0;
  if (!text.endsWith('\r\n')) throw new Error('CSV must end with CRLF');
  while (i < text.length) {
    const record: (string | null)[] = [];
    for (;;) {
      let value: string | null;
      if (text[i] === '"') {
        let j = i + 1;
        value = '';
        for (;;) {
          const q = text.indexOf('"', j);
          if (q < 0) throw new Error(`unterminated quote at ${i}`);
          value += text.slice(j, q);
          if (text[q + 1] === '"') {
            value += '"';
            j = q + 2;
          } else {
            i = q + 1;
            break;
          }
        }
      } else {
        const end = text.slice(i).search(/,|\r\n/);
        const raw = text.slice(i, i + end);
        if (/["\r\n]/.test(raw)) throw new Error(`unquoted special character at ${i}`);
        value = raw === '' ? null : raw;
        i += end;
      }
      record.push(value);
      if (text[i] === ',') i += 1;
      else if (text.startsWith('\r\n', i)) {
        i += 2;
        break;
      } else throw new Error(`expected a comma or CRLF at ${i}`);
    }
    records.push(record);
  }
  return records;
}
