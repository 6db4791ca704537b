import { COMPONENTS, defaultComponents, startPipeline, type Component, type Pipeline } from '../../app/pipeline.ts';
import { ProgressView, type ProgressSnapshot } from '../../app/progress-view.ts';
import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { pino } from 'pino';
import { loadConfig, pipelinePackages, type Config } from '../../platform/config.ts';
import { localCluster } from '../../app/local-infra.ts';
import { stopLocalBroker } from '../../platform/kafka/local-broker.ts';
import { createLogger } from '../../platform/logger.ts';
import { OperatorError, parse, UsageError } from '../args.ts';
import { announcePipeline } from '../pipeline-discovery.ts';

export const help = `actionpulse start [--only clickhouse,mixpanel,alerts,http,demo] [--duration SECONDS] [--quiet]

  Runs the whole pipeline: Kafka (the local broker unless KAFKA_BROKERS is set), ClickHouse (embedded
  chDB unless CLICKHOUSE_URL), the registry database (PGlite unless DATABASE_URL), the ClickHouse, Mixpanel
  and alert consumer groups, and the HTTP service (ingest, admin API, dashboard, /metrics). With local
  infrastructure (or ACTIONPULSE_DEMO=on) it also runs a simulated agent runtime calling the real executors.
  Ctrl-C stops it cleanly, flushing what is in flight, and stops the local Kafka broker if this run started
  it (a broker started by \`actionpulse kafka start\` keeps running).

  --only LIST          run only these components in this process (e.g. one consumer group per process);
                       with embedded ClickHouse, http runs together with clickhouse
  --duration SECONDS   stop by itself after this long (exit 0), e.g. for a smoke check
  --quiet              no live progress block; logs only`;

export async function run(args: string[]): Promise<number> {
  const { values } = parse(args, { duration: { type: 'string' }, quiet: { type: 'boolean', default: false }, only: { type: 'string' } });
  let components: Set<Component> | undefined;
  if (values.only !== undefined) {
    const names = values.only.split(',').map((s) => s.trim()).filter(Boolean);
    const unknown = names.filter((n) => !(COMPONENTS as readonly string[]).includes(n));
    if (unknown.length || names.length === 0) throw new UsageError(`--only takes a comma-separated list of ${COMPONENTS.join(', ')}${unknown.length ? ` (unknown: ${unknown.join(', ')})` : ''}`);
    components = new Set(names as Component[]);
  }
  const duration = values.duration === undefined ? undefined : Number(values.duration);
  if (duration !== undefined && !(duration > 0)) throw new UsageError('--duration takes a positive number of seconds');
  // The packages these components load are checked with the settings: a missing one is one more line.
  const config = loadConfig(process.env, {}, { packages: (c) => pipelinePackages(components ?? defaultComponents(c), c) });
  const planned = components ?? defaultComponents(config);
  if (planned.has('http') && !planned.has('clickhouse') && !config.clickhouse.url) {
    // The embedded engine's folder belongs to one process; the dashboard must live where the data is.
    throw new OperatorError('--only http needs clickhouse in the same process with embedded ClickHouse (or set CLICKHOUSE_URL)', 2);
  }
  // The terminal shows the progress block; the structured logs go to a file beside the data (all of them
  // to stdout with --quiet, for log collectors).
  const logFile = join(config.dataDir, 'logs', 'actionpulse.log');
  if (!values.quiet) mkdirSync(dirname(logFile), { recursive: true });
  const logger = createLogger({ level: config.logLevel, destination: values.quiet ? undefined : (pino.destination({ dest: logFile, sync: false }) as unknown as NodeJS.WritableStream) });
  const started = Date.now();
  const running = components ?? defaultComponents(config);
  console.log(`Starting Actionpulse: ${[...running].join(', ')}${running.has('demo') ? ' (with the demo agent workload)' : ''}…`);
  const view = new ProgressView();
  const pipeline = await startPipeline(config, logger, { components, print: (line) => view.note(line) });
  console.log(
    `Kafka ${pipeline.kafka.brokers.join(',')}${pipeline.kafka.local ? ` (local broker ${pipeline.kafka.local.reused ? 'reused' : `started in ${pipeline.kafka.local.startMs} ms`})` : ''}; ` +
      `ClickHouse ${pipeline.clickhouse ? (config.clickhouse.url ?? 'embedded chDB') : 'not used here'}; registry ${pipeline.db?.kind ?? 'not used here'}`,
  );
  if (!values.quiet) console.log(`Logs: ${logFile}`);
  if (pipeline.http) console.log(`Dashboard: ${pipeline.dashboardUrl}   (metrics: ${pipeline.http.url}/metrics, ingest: POST ${pipeline.http.url}/v1/events)`);
  // The operator commands find this service by its announcement while it runs (cli/pipeline-discovery.ts).
  const unannounce = pipeline.http ? announcePipeline(config.dataDir, pipeline.http.url) : () => undefined;

  if (pipeline.alerts) console.log(`Alerts: time scale ×${pipeline.alerts.timeScale}${pipeline.alerts.terminal.length ? '; no SLACK_WEBHOOK_URL, so notifications print here' : ''}`);
  const timer = values.quiet ? undefined : setInterval(() => void snapshot(pipeline, started).then((s) => view.render(s)).catch(() => undefined), 2000);
  let stopping: Promise<void> | undefined;
  const stop = (why: string) => {
    stopping ??= (async () => {
      clearInterval(timer);
      view.note(`\n${why}: stopping — flushing in-flight events…`);
      unannounce();
      await pipeline.stop();
      console.log('stopped cleanly.');
      await stopOwnBroker(config, pipeline);
    })();
    return stopping;
  };
  process.once('SIGINT', () => void stop('Ctrl-C'));
  process.once('SIGTERM', () => void stop('SIGTERM'));
  if (duration !== undefined) {
    await new Promise((r) => setTimeout(r, duration * 1000));
    const s = await snapshot(pipeline, started);
    view.render(s);
    await stop(`${duration}s elapsed`);
    return 0;
  }
  await new Promise<void>((resolve) => {
    const check = setInterval(() => {
      if (stopping) void stopping.then(() => (clearInterval(check), resolve()));
    }, 200);
  });
  return 0;
}

/** The local broker is stopped by the run that started it; one this run found running is left as it was. */
async function stopOwnBroker(config: Config, pipeline: Pipeline): Promise<void> {
  const local = pipeline.kafka.local;
  if (!local) return;
  if (local.reused) {
    console.log(`The local Kafka broker at ${pipeline.kafka.brokers.join(',')} keeps running: this run did not start it (\`npx actionpulse kafka stop\` stops it).`);
    return;
  }
  if (config.kafka.localBrokers > 1) await localCluster(config).stop();
  else await stopLocalBroker({ dataDir: config.dataDir, port: config.kafka.localPort });
  console.log('Stopped the local Kafka broker this run started.');
}

export async function snapshot(p: Pipeline, started: number): Promise<ProgressSnapshot> {
  const stats = p.emitter?.stats();
  // The same lag and stall view as /api/health and the dashboard: one definition of "stalled".
  const consumers = (await p.health.check()).consumers.map((c) => ({
    name: c.name,
    written: c.written,
    lag: c.lag,
    deadLettered: c.deadLettered,
    secondsSinceProgress: c.secondsSinceProgress,
    stalled: c.stalled,
  }));
  return {
    elapsedMs: Date.now() - started,
    emitted: stats?.accepted ?? 0,
    spooled: stats?.spoolRecords ?? 0,
    actionCalls: p.demo?.simulator.stats.calls ?? 0,
    actionFailures: p.demo?.simulator.stats.failed ?? 0,
    consumers,
    ...(await alertSummary(p)),
    dashboardUrl: p.dashboardUrl ?? '(not served by this process)',
  };
}

/** Firing alerts, pages sent and kill-switched actions, read from the registry database (shared by every process). */
async function alertSummary(p: Pipeline): Promise<Pick<ProgressSnapshot, 'alertsFiring' | 'alertsFired' | 'actionsDisabled'>> {
  if (!p.db) return { alertsFiring: [], alertsFired: 0, actionsDisabled: [] };
  const firing = await p.db
    .query<{ rule_id: string; scope: Record<string, string> }>(`SELECT rule_id, scope FROM alert_state WHERE status = 'firing' ORDER BY rule_id`)
    .catch(() => []);
  const [fired] = await p.db
    .query<{ n: number | string }>(`SELECT count(DISTINCT rule_id || '|' || scope_key || '|' || episode) AS n FROM alert_outbox WHERE kind IN ('trigger', 'kill_switch')`)
    .catch(() => [{ n: 0 }]);
  const disabled = await p.db.query<{ node_type: string }>(`SELECT node_type FROM node_registries WHERE NOT enabled ORDER BY node_type`).catch(() => []);
  const forOrganizations = await p.db
    .query<{ node_type: string; organization_id: string }>(`SELECT node_type, organization_id FROM node_registry_organizations WHERE NOT enabled ORDER BY node_type, organization_id`)
    .catch(() => []);
  return {
    alertsFiring: firing.map((f) => `${f.rule_id}${Object.keys(f.scope).length ? ` [${Object.values(f.scope).join(',')}]` : ' [all]'}`),
    alertsFired: Number(fired?.n ?? 0),
    // Off for everyone, then off for one organization only.
    actionsDisabled: [...disabled.map((d) => d.node_type), ...forOrganizations.map((d) => `${d.node_type} for ${d.organization_id}`)],
  };
}
