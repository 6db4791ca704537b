import { isUtf8 } from 'node:buffer';

/**
 * JSON from outside (HTTP bodies, Kafka messages, config and rules files) is parsed here and nowhere else.
 *
 * V8's JSON.parse itself copes with any nesting, but everything after it that walks the value
 * (JSON.stringify, zod, our own walkers) recurses and overflows the stack on a few thousand levels —
 * `[[[[…]]]]` in a 64 KB body was a 500. So nesting is measured by one linear scan of the text BEFORE
 * parsing, and a value deeper than the bound is refused without any recursive work on it. An event is one
 * flat object (depth 1), an ingest batch an array of them (2); config and rules files nest a few levels.
 */
export const MAX_JSON_DEPTH = 32;

export type BoundedJsonResult = { ok: true; value: unknown } | { ok: false; problem: 'invalid_utf8' | 'too_deep' | 'invalid_json'; message: string };

/** Deepest `[`/`{` nesting of a JSON text, scanning only until it passes `limit` (strings skipped). */
export function jsonNestingDepth(text: string, limit = Infinity): number {
  let depth = 0;
  let deepest = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++; // backslash: the next character is escaped, even a quote
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) {
      inString = true;
    } else if (c === 0x5b || c === 0x7b) {
      if (++depth > deepest) {
        deepest = depth;
        if (deepest > limit) return deepest;
      }
    } else if (c === 0x5d || c === 0x7d) {
      depth--;
    }
  }
  return deepest;
}

/**
 * True when the text holds at most `limit` `[` and `{` in all (inside strings too): its nesting cannot be deeper.
 * Counted with native searches, so a flat event (one `{`) skips the character-by-character scan.
 */
function fewOpeners(text: string, limit: number): boolean {
  let seen = 0;
  for (const opener of ['{', '[']) {
    for (let at = text.indexOf(opener); at !== -1; at = text.indexOf(opener, at + 1)) {
      if (++seen > limit) return false;
    }
  }
  return true;
}

/**
 * Parses JSON text or UTF-8 bytes with a nesting bound. Bytes must be valid UTF-8 (a lossy decode would turn
 * bad bytes into U+FFFD and accept a different value than was sent); one leading byte-order mark is
 * allowed (RFC 8259 §8.1 lets a parser ignore it, and some Windows tools write it).
 */
export function parseBoundedJson(input: Buffer | string, maxDepth = MAX_JSON_DEPTH): BoundedJsonResult {
  let text: string;
  if (typeof input === 'string') {
    text = input;
  } else {
    if (!isUtf8(input)) return { ok: false, problem: 'invalid_utf8', message: 'not valid UTF-8' };
    text = input.toString('utf8');
  }
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  if (!fewOpeners(text, maxDepth) && jsonNestingDepth(text, maxDepth) > maxDepth) {
    return { ok: false, problem: 'too_deep', message: `nested deeper than ${maxDepth} levels` };
  }
  try {
    return { ok: true, value: JSON.parse(text) };
  } catch (err) {
    return { ok: false, problem: 'invalid_json', message: (err as Error).message };
  }
}
