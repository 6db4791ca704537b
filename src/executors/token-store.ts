import type { Logger } from '../platform/logger.ts';
import type { SqlDb } from '../platform/registry-db.ts';
import type { TokenCipher } from './token-crypto.ts';

export interface CompanyToken {
  companyToken: string;
  refreshToken?: string;
}

/** Per-organization CRM credentials in `crm_company_tokens`, encrypted; decrypted copies cached in memory. */
export class TokenStore {
  private readonly cache = new Map<string, CompanyToken>();

  constructor(
    private readonly db: SqlDb,
    private readonly cipher: TokenCipher,
    private readonly logger: Logger,
  ) {}

  /** Cached read; `fresh` bypasses the cache (another process may have refreshed the token). */
  async get(organizationId: string, fresh = false): Promise<CompanyToken | undefined> {
    if (!fresh) {
      const hit = this.cache.get(organizationId);
      if (hit) return hit;
    }
    const rows = await this.db.query<{ ciphertext: string }>(
      'SELECT ciphertext FROM crm_company_tokens WHERE organization_id = $1',
      [organizationId],
    );
    if (rows.length === 0) return undefined;
    try {
      const parsed = JSON.parse(this.cipher.decrypt(rows[0].ciphertext, organizationId)) as {
        company_token: string;
        refresh_token?: string;
      };
      const token: CompanyToken = { companyToken: parsed.company_token, refreshToken: parsed.refresh_token };
      this.cache.set(organizationId, token);
      return token;
    } catch (err) {
      // Wrong key or a tampered row: treat as no token (a refresh may still recover), and say so once.
      this.logger.error({ organization_id: organizationId, err: (err as Error).message }, 'stored CRM token cannot be decrypted');
      return undefined;
    }
  }

  async put(organizationId: string, token: CompanyToken): Promise<void> {
    const ciphertext = this.cipher.encrypt(
      JSON.stringify({ company_token: token.companyToken, refresh_token: token.refreshToken }),
      organizationId,
    );
    await this.db.query(
      `INSERT INTO crm_company_tokens (organization_id, ciphertext, key_id, updated_at) VALUES ($1, $2, $3, now())
       ON CONFLICT (organization_id) DO UPDATE SET ciphertext = EXCLUDED.ciphertext, key_id = EXCLUDED.key_id, updated_at = now()`,
      [organizationId, ciphertext, this.cipher.keyId],
    );
    this.cache.set(organizationId, token);
  }
}
