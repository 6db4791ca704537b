import { describe, expect, it } from 'vitest';
import { ConfigError, createRuntime } from '../../../src/runtime/index.ts';

describe('createRuntime with a bad configuration', () => {
  it('throws one ConfigError listing every bad setting and every missing required one, before connecting to anything', async () => {
    const err = await createRuntime({ env: { KAFKA_PARTITIONS: 'many', SPOOL_FSYNC: 'sometimes', CRM_RETRY_BASE_DELAY_MS: '9000' } }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigError);
    const problems = (err as ConfigError).problems;
    const names = ['KAFKA_PARTITIONS', 'SPOOL_FSYNC', 'CRM_RETRY_BASE_DELAY_MS', 'KAFKA_BROKERS', 'CRM_TOKEN_ENCRYPTION_KEY'];
    expect(problems.map((p) => p.setting.split(' ')[0]).sort()).toEqual([...names].sort());
    for (const p of problems) {
      expect(p.message.length).toBeGreaterThan(3);
      expect(p.example).toMatch(new RegExp(`^${p.setting.split(' ')[0]}=.`));
      expect((err as ConfigError).message).toContain(`${p.setting}: ${p.message}; e.g. ${p.example}`);
    }
    expect((err as ConfigError).message.split('\n')).toHaveLength(names.length + 1);
  });

  it('settings passed as `settings` are judged in the same pass as the environment', async () => {
    const err = await createRuntime({ env: {}, settings: { 'kafka.brokers': 'nohost', 'crm.tokenEncryptionKey': 'ab'.repeat(32) } }).catch((e: unknown) => e);
    expect((err as ConfigError).problems.map((p) => p.setting)).toEqual(['KAFKA_BROKERS (kafka.brokers)']);
  });
});
