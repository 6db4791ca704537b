import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';

/**
 * AES-256-GCM for CRM tokens at rest. The output is base64(iv | tag | ciphertext); `keyId` (a short
 * hash of the key, never the key) is stored beside it so a key rotation can tell old rows apart.
 */
export class TokenCipher {
  private readonly key: Buffer;
  readonly keyId: string;

  constructor(hexKey: string) {
    if (!/^[0-9a-fA-F]{64}$/.test(hexKey)) throw new Error('crm.tokenEncryptionKey must be 64 hex characters (a 256-bit AES key)');
    this.key = Buffer.from(hexKey, 'hex');
    this.keyId = createHash('sha256').update(this.key).digest('hex').slice(0, 12);
  }

  encrypt(plaintext: string, aad: string): string {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.key, iv);
    // The organization id as associated data: a row copied to another organization will not decrypt.
    cipher.setAAD(Buffer.from(aad));
    const ct = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
    return Buffer.concat([iv, cipher.getAuthTag(), ct]).toString('base64');
  }

  /** Throws when the data was tampered with or encrypted under another key. */
  decrypt(encoded: string, aad: string): string {
    const raw = Buffer.from(encoded, 'base64');
    const decipher = createDecipheriv('aes-256-gcm', this.key, raw.subarray(0, 12));
    decipher.setAAD(Buffer.from(aad));
    decipher.setAuthTag(raw.subarray(12, 28));
    return Buffer.concat([decipher.update(raw.subarray(28)), decipher.final()]).toString('utf8');
  }
}
