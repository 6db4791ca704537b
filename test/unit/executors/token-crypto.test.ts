import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { TokenCipher } from '../../../src/executors/token-crypto.ts';

describe('TokenCipher (AES-256-GCM tokens at rest)', () => {
  const cipher = new TokenCipher(randomBytes(32).toString('hex'));
  it('QACT-S01 AC-2 round-trips, with a fresh IV per encryption', () => {
    const a = cipher.encrypt('secret-token', 'org-1');
    const b = cipher.encrypt('secret-token', 'org-1');
    expect(a).not.toBe(b);
    expect(a).not.toContain('secret');
    expect(cipher.decrypt(a, 'org-1')).toBe('secret-token');
  });
  it('QACT-S01 ERR-1 refuses another organization, a tampered row and another key', () => {
    const enc = cipher.encrypt('secret-token', 'org-1');
    expect(() => cipher.decrypt(enc, 'org-2')).toThrow();
    const raw = Buffer.from(enc, 'base64');
    raw[raw.length - 1] ^= 1;
    expect(() => cipher.decrypt(raw.toString('base64'), 'org-1')).toThrow();
    expect(() => new TokenCipher(randomBytes(32).toString('hex')).decrypt(enc, 'org-1')).toThrow();
  });
  it('QACT-S01 AC-2 rejects a key that is not 256 bits of hex', () => {
    expect(() => new TokenCipher('abc')).toThrow(/64 hex/);
  });
});
