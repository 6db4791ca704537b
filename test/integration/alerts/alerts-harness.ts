import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll } from 'vitest';
import { encodeEvent, type ActionEvent } from '../../../src/events/index.ts';
import { toRecord } from '../../../src/producers/record-batch.ts';
import { migrateRegistry } from '../../../src/executors/registry-schema.ts';
import type { RegistryGate } from '../../../src/executors/registry-gate.ts';
import type { KafkaPort } from '../../../src/platform/kafka/kafka-port.ts';
import { createLogger, silentLogger } from '../../../src/platform/logger.ts';
import { openRegistryDb, type SqlDb } from '../../../src/platform/registry-db.ts';
import { AlertEvaluator, type AlertEvaluatorOptions } from '../../../src/consumers/alerts/alert-evaluator.ts';
import { migrateAlerts } from '../../../src/consumers/alerts/alert-store-schema.ts';
import { SlackNotifier } from '../../../src/consumers/alerts/notifiers/slack-notifier.ts';
import { PagerDutyNotifier } from '../../../src/consumers/alerts/notifiers/pagerduty-notifier.ts';
import { FakeSlack } from '../../fakes/fake-slack.ts';
import { FakePagerDuty } from '../../fakes/fake-pagerduty.ts';
import type { RulesFile } from '../../../src/consumers/alerts/alert-rules.ts';
import { freshTopics, testPort, uniqueName, waitFor } from '../../helpers/kafka.ts';
import { MIN } from '../../unit/alerts/engine-driver.ts';

export const PG_URL = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

/** A registry database in a schema of its own (the executors' tables + ours), dropped afterwards. */
export async function freshRegistryDb(): Promise<{ db: SqlDb; schema: string; drop: () => Promise<void> }> {
  const schema = `alerts_${Date.now().toString(36)}_${randomBytes(3).toString('hex')}`;
  const admin = new pg.Client({ connectionString: PG_URL });
  await admin.connect();
  await admin.query(`CREATE SCHEMA ${schema}`);
  await admin.end();
  const db = await openRegistryDb({ url: `${PG_URL}?options=${encodeURIComponent(`-c search_path=${schema}`)}` });
  await migrateRegistry(db);
  await migrateAlerts(db);
  return {
    db,
    schema,
    drop: async () => {
      await db.close().catch(() => undefined);
      const c = new pg.Client({ connectionString: PG_URL });
      await c.connect();
      await c.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
      await c.end();
    },
  };
}

export async function produce(kafka: KafkaPort, topic: string, events: readonly ActionEvent[]): Promise<void> {
  const producer = kafka.producer({ acks: 'all', idempotent: true, codec: 'none' });
  try {
    for (let i = 0; i < events.length; i += 5000) {
      const result = await producer.send(topic, events.slice(i, i + 5000).map((e) => toRecord(encodeEvent(e))));
      if (!result.ok) throw new Error(`produce to ${topic} failed: ${result.reason} ${result.detail}`);
    }
  } finally {
    await producer.close();
  }
}

export interface Harness {
  slack: FakeSlack;
  pd: FakePagerDuty;
}

export interface AlertsSuite extends Harness {
  readonly kafka: KafkaPort;
  readonly db: SqlDb;
}

/**
 * For one describe block: the Kafka port, a fresh registry database and started fake Slack and
 * PagerDuty; afterwards `beforeTeardown` (say, stopping the suite's evaluators), then the fakes are
 * stopped and the schema dropped. Read `kafka` and `db` inside hooks and tests only.
 */
export function alertsSuite({ beforeTeardown }: { beforeTeardown?: () => Promise<void> } = {}): AlertsSuite {
  let kafka: KafkaPort | undefined;
  let registry: Awaited<ReturnType<typeof freshRegistryDb>> | undefined;
  const slack = new FakeSlack();
  const pd = new FakePagerDuty();

  beforeAll(async () => {
    kafka = await testPort();
    registry = await freshRegistryDb();
    await slack.start();
    await pd.start();
  });

  afterAll(async () => {
    await beforeTeardown?.();
    await kafka?.close();
    await slack.stop();
    await pd.stop();
    await registry?.drop();
  });

  const ready = <T>(value: T | undefined): T => {
    if (value === undefined) throw new Error('alertsSuite() is only ready inside hooks and tests');
    return value;
  };
  return {
    slack,
    pd,
    get kafka() {
      return ready(kafka);
    },
    get db() {
      return ready(registry).db;
    },
  };
}

/** An alertsSuite whose teardown also stops the evaluators the tests push to `running` and closes their `gates`. */
export function gatedAlertsSuite(): AlertsSuite & { running: AlertEvaluator[]; gates: RegistryGate[] } {
  const running: AlertEvaluator[] = [];
  const gates: RegistryGate[] = [];
  const suite = alertsSuite({
    beforeTeardown: async () => {
      for (const ev of running) await ev.stop().catch(() => undefined);
      for (const g of gates) await g.close().catch(() => undefined);
    },
  });
  return Object.assign(suite, { running, gates });
}

/**
 * bot-oncall → Slack #bot + PagerDuty; crm-oncall → Slack #crm. A minute per Slack answer, not the 10 s default: on
 * a busy machine the local fake's answer can be held up past 10 s, and the outbox then sends the page again (it
 * delivers at least once), which these tests would count as a second page of the same transition.
 */
export function channels(h: Harness, slackReceivers: readonly string[] = []): Pick<AlertEvaluatorOptions, 'notifiers' | 'routes'> {
  const slack = (name: string) => new SlackNotifier({ name: `slack-${name}`, webhookUrl: h.slack.webhook(name), timeoutMs: 60_000 });
  const notifiers: AlertEvaluatorOptions['notifiers'] = {
    'slack-bot': slack('bot'),
    'slack-crm': slack('crm'),
    pagerduty: new PagerDutyNotifier({ name: 'pagerduty', baseUrl: h.pd.url, routingKey: h.pd.routingKey }),
  };
  const routes: AlertEvaluatorOptions['routes'] = { 'bot-oncall': ['slack-bot', 'pagerduty'], 'crm-oncall': ['slack-crm'] };
  // More receivers, each a Slack channel of its own name (an organization's channel, as SLACK_RECEIVER_WEBHOOKS declares them).
  for (const name of slackReceivers) {
    notifiers[`slack-${name}`] = slack(name);
    routes[name] = [`slack-${name}`];
  }
  return { notifiers, routes };
}

/**
 * For tests that hold the evaluator's clock at the start of their timeline while they feed it hours of event time
 * (so the idle advance cannot close windows before their events are read): to that clock the events are hours in
 * the future, so the future bound is lifted for them. future-events.test.ts tests the bound itself.
 */
export const CLOCK_BEHIND_EVENTS: Pick<AlertEvaluatorOptions, 'futureAllowanceMs'> = { futureAllowanceMs: Number.POSITIVE_INFINITY };

export function evaluator(o: Partial<AlertEvaluatorOptions> & Pick<AlertEvaluatorOptions, 'kafka' | 'db' | 'rules' | 'eventsTopic' | 'notifiers' | 'routes'>): AlertEvaluator {
  return new AlertEvaluator({
    timeScale: 1,
    dashboardBaseUrl: 'http://dash.test',
    killSwitch: { dryRun: false, maxPer24h: 2 },
    logger: process.env.ALERTS_TEST_LOG ? createLogger({ level: process.env.ALERTS_TEST_LOG }) : silentLogger,
    groupId: uniqueName('alerts'),
    controlTopic: uniqueName('t-alerts-control'),
    idleAdvanceMs: 500,
    sessionTimeoutMs: 10_000,
    ...o,
  });
}

/**
 * One evaluator identity (group, control topic) on a fresh events topic that can be stopped and started again, with
 * a movable clock starting 8 h back on a whole minute. Every evaluator it starts is pushed to `running` for teardown.
 */
export async function restartableService(
  suite: AlertsSuite,
  rules: RulesFile,
  { partitions, running, slackReceivers = [] }: { partitions: number; running: AlertEvaluator[]; slackReceivers?: readonly string[] },
) {
  const { kafka, db } = suite;
  const { events: topic } = await freshTopics(kafka, partitions);
  const start = Math.floor((Date.now() - 8 * 3600_000) / MIN) * MIN;
  const clock = { now: start };
  const shared = { kafka, db, rules, eventsTopic: topic, clock: () => clock.now, ...CLOCK_BEHIND_EVENTS, groupId: uniqueName('alerts'), controlTopic: uniqueName('t-ctl'), ...channels(suite, slackReceivers) };
  let current: AlertEvaluator | undefined;
  const api = {
    start,
    clock,
    topic,
    async up() {
      current = evaluator(shared);
      running.push(current);
      await current.start();
      await waitFor(() => current!.isLeader, { timeoutMs: 60_000, what: 'leadership' });
      await current.rebuiltAndLeading();
    },
    async restart() {
      await current!.stop();
      await api.up();
    },
    /** Produces and waits until the evaluator has read them (a restart rebuilds earlier ones too). */
    async feed(events: ActionEvent[], nowAfter: number) {
      // counted before producing: the evaluator may read some of them before produce() returns
      const target = current!.stats.events + events.length;
      await produce(kafka, topic, events);
      await waitFor(() => current!.stats.events >= target, { timeoutMs: 90_000, what: 'events consumed' });
      clock.now = nowAfter;
      await current!.settled();
    },
    get ev() {
      return current!;
    },
  };
  return api;
}

export function slackTexts(slack: FakeSlack, name: string): string[] {
  return slack.for(name).map((m) => m.body.text ?? '');
}

/** Notifications leave through the outbox after the decision: pages are counted once nothing is left to send. */
export function outboxDrained(db: SqlDb): Promise<unknown> {
  return waitFor(async () => (await db.query(`SELECT 1 FROM alert_outbox WHERE status = 'pending'`)).length === 0, { timeoutMs: 90_000, what: 'outbox drained' });
}
