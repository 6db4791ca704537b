// Number and time formats shared by every panel, so a value reads the same in a tile, a table and a test.
export const pct = (v) => (v === null || v === undefined ? 'n/a' : `${Number(v).toFixed(1)}%`);
export const int = (v) => (v === null || v === undefined ? 'n/a' : Number(v).toLocaleString('en-US'));
export const text = (v) => (v === null || v === undefined ? '' : String(v));
/** '2026-12-02 10:15:30 UTC' from an ISO instant or epoch milliseconds. */
export const utc = (v) => `${new Date(v).toISOString().slice(0, 19).replace('T', ' ')} UTC`;
