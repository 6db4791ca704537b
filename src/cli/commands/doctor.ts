import { runDoctor } from '../../app/doctor-checks.ts';
import { loadConfig } from '../../platform/config.ts';

export const help = `actionpulse doctor [--json]

  Checks each configured part (configuration, Node, Kafka, ClickHouse, registry database, Redis, Mixpanel,
  alerting) and says what is wrong and how to fix it. Exits 78 when the configuration is invalid (like every
  command), 1 when any other check fails.`;

export async function run(args: string[]): Promise<number> {
  // An invalid configuration is reported like every command's: each problem on a line of stderr, exit 78.
  const config = loadConfig();
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
