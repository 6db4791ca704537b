import { runDoctor } from '../../app/doctor-checks.ts';
import { ConfigError, loadConfig } from '../../platform/config.ts';
import { EX_CONFIG } from '../args.ts';

export const help = `actionpulse doctor [--json]

  Checks each configured part (configuration, Node, Kafka, ClickHouse, registry database, Redis, Mixpanel,
  alerting) and says what is wrong and how to fix it. Exits 78 when the configuration is invalid (like every
  command), 1 when any other check fails.`;

export async function run(args: string[]): Promise<number> {
  let config;
  try {
    config = loadConfig();
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    console.log(`✗ config        ${err.message}`);
    return EX_CONFIG;
  }
  const results = await runDoctor(config);
  if (args.includes('--json')) {
    console.log(JSON.stringify(results, null, 2));
  } else {
    const mark = { ok: '✓', warn: '!', fail: '✗' } as const;
    console.log(`✓ config        valid`);
    for (const r of results) {
      console.log(`${mark[r.status]} ${r.name.padEnd(13)} ${r.detail}`);
      if (r.fix && r.status !== 'ok') console.log(`  ${''.padEnd(13)} → ${r.fix}`);
    }
  }
  return results.some((r) => r.status === 'fail') ? 1 : 0;
}
