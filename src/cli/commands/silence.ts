import { loadConfig } from '../../platform/config.ts';
import { AdminClient } from '../admin-client.ts';
import { parse, UsageError } from '../args.ts';

export const help = `actionpulse silence add --match KEY=VALUE [--match ...] --for DURATION --comment TEXT [--creator NAME]
actionpulse silence list [--all]
actionpulse silence expire <id>

  Silences mute matching notifications (keys: rule_id, receiver, scope_key, node_type, organization_id)
  until they expire; the alerts still evaluate and are recorded as silenced. DURATION like 30m, 2h, 1d.`;

const DURATION = /^(\d+)(m|h|d)$/;

export async function run(args: string[]): Promise<number> {
  const { values, positionals } = parse(args, {
    match: { type: 'string', multiple: true },
    for: { type: 'string' },
    comment: { type: 'string' },
    creator: { type: 'string' },
    all: { type: 'boolean', default: false },
  });
  // Arguments are checked first: a usage error needs no configuration, token or running service.
  const admin = () => AdminClient.fromConfig(loadConfig());
  const [sub, id] = positionals;
  if (sub === 'list') {
    const { silences } = await admin().request<{ silences: Record<string, unknown>[] }>('GET', `/v1/silences${values.all ? '?all=1' : ''}`);
    if (silences.length === 0) console.log('no active silences');
    for (const s of silences) console.log(`${String(s.id)}  until ${String(s.endsAt ?? s.ends_at)}  ${JSON.stringify(s.matchers)}  by ${String(s.creator)}: ${String(s.comment)}`);
    return 0;
  }
  if (sub === 'expire') {
    if (!id) throw new UsageError('silence expire needs the silence id (see `silence list`)');
    await admin().request('DELETE', `/v1/silences/${encodeURIComponent(id)}?actor=${encodeURIComponent(process.env.USER ?? 'cli')}`);
    console.log(`silence ${id} expired`);
    return 0;
  }
  if (sub !== 'add') throw new UsageError(help);
  const matchers: Record<string, string> = {};
  for (const m of values.match ?? []) {
    const eq = m.indexOf('=');
    if (eq < 1) throw new UsageError(`--match takes KEY=VALUE, got '${m}'`);
    matchers[m.slice(0, eq)] = m.slice(eq + 1);
  }
  if (Object.keys(matchers).length === 0) throw new UsageError('at least one --match KEY=VALUE');
  const d = DURATION.exec(values.for ?? '');
  if (!d) throw new UsageError('--for takes a duration like 30m, 2h or 1d');
  const durationMinutes = Number(d[1]) * { m: 1, h: 60, d: 1440 }[d[2] as 'm' | 'h' | 'd'];
  if (!values.comment) throw new UsageError('--comment is required (why, and who to ask)');
  const created = await admin().request<{ id: string }>('POST', '/v1/silences', {
    matchers,
    durationMinutes,
    comment: values.comment,
    creator: values.creator ?? process.env.USER ?? 'cli',
  });
  console.log(`silence ${created.id} created for ${values.for}`);
  return 0;
}
