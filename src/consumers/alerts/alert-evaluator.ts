import { randomBytes } from 'node:crypto';
import { type Meter } from '@opentelemetry/api';
import { decodeEvent, futureAllowanceMs } from '../../events/index.ts';
import type { GroupConsumer, IncomingBatch, KafkaAdmin, KafkaPort, TopicPartitions } from '../../platform/kafka/kafka-port.ts';
import { controlTopic, ensureTopics, type TopicReplication } from '../../platform/kafka/topics.ts';
import { startProcessSpan } from '../../platform/kafka/messaging-spans.ts';
import type { Logger } from '../../platform/logger.ts';
import { tracingActive } from '../../platform/telemetry.ts';
import type { SqlDb } from '../../platform/registry-db.ts';
import { AlertEngine, LATENESS_BUCKETS, type Transition } from './alert-engine.ts';
import { longestWindowMinutes, type RulesFile } from './alert-rules.ts';
import { migrateAlerts } from './alert-store-schema.ts';
import { AlertStore } from './alert-store.ts';
import type { Notifier } from './notifiers/notifier.ts';
import { OutboxDispatcher } from './outbox-dispatcher.ts';
import { isRecoveryStep, type RecoveryStep } from './recovery.ts';
import { inSpan } from '../../platform/span-scope.ts';

/**
 * The alert evaluator service. Per-node_type and overall rates need every partition, so exactly one
 * instance evaluates: the members of consumer group `actionpulse-alerts` share a one-partition control
 * topic, and whoever is assigned its partition is the leader. The others stand by and take over when
 * the group rebalances (leader crash or shutdown). Leadership is an optimisation, not the safety net:
 * every transition is a compare-and-set in the database, so even two leaders page once.
 *
 * On becoming leader the windows are rebuilt from Kafka: offsets for "now − (longest window + lateness
 * allowance + grace)" (or further back, to the last evaluated instant) come from the port's `offsetsAt`
 * — producers set the record timestamp to the event time — and are committed for a fresh reader group before
 * it joins, so the reader, its group's only member, starts exactly there on every partition. Records below the checkpoint's offsets were decided on before
 * the restart and instants before its event time were evaluated: both are replayed for their counts only, so a
 * restart neither re-pages nor forgets a pending-since, and a late record read after the checkpoint still counts
 * and may page.
 */
export interface AlertEvaluatorOptions {
  kafka: KafkaPort;
  db: SqlDb;
  rules: RulesFile;
  eventsTopic: string;
  controlTopic?: string;
  /** Copies of the control topic (as the pipeline's topics; default 1 copy). */
  controlTopicReplication?: TopicReplication;
  groupId?: string;
  instanceId?: string;
  /** 1 = real minutes; 60 = a minute lasts one second (demo, tests). */
  timeScale: number;
  notifiers: Record<string, Notifier>;
  /** Logical receiver of the rules file → notifier names. */
  routes: Record<string, string[]>;
  dashboardBaseUrl: string;
  killSwitch: { dryRun: boolean; maxPer24h: number };
  logger: Logger;
  /** Wall clock (ms); injectable so tests drive time by event timestamps. */
  clock?: () => number;
  /** Extra event-time minutes read before the longest window on rebuild. */
  rebuildGraceMinutes?: number;
  /** Event-time minutes an event may be late and still count; the rebuild reads this far back too (default 360). */
  latenessAllowanceMinutes?: number;
  /**
   * Real milliseconds an event may be dated ahead of `clock()` and still count (default: the process's
   * EVENT_FUTURE_ALLOWANCE_SECONDS, 5 min unless set). The watermark never passes clock() + this either.
   */
  futureAllowanceMs?: number;
  /** Advance the watermark by the clock after this much quiet with every partition caught up; 0 = never. */
  idleAdvanceMs?: number;
  /** Deliver the outbox from this instance (default true). */
  dispatch?: boolean;
  sessionTimeoutMs?: number;
}

export interface EvaluatorStats {
  leaderTerms: number;
  events: number;
  invalid: number;
  /** Events dated further ahead of the clock than the future allowance: not counted. */
  future: number;
  transitions: number;
  /** Recovery steps (probe rounds started and ended, probes counted, automatic re-enables) this instance persisted. */
  recoverySteps: number;
  lostRaces: number;
  notificationsQueued: number;
  rebuildMs: number;
  rebuildEvents: number;
}

const CONTROL_TOPIC = 'actionpulse.alerts.control.v1';
/** The SLO rule whose window gives the error budget left (slo-burn-rate-rules.json). */
export const ERROR_BUDGET_RULE = 'slo-budget-burn-3d';
const GROUP_ID = 'actionpulse-alerts';

export class AlertEvaluator {
  readonly stats: EvaluatorStats = { leaderTerms: 0, events: 0, invalid: 0, future: 0, transitions: 0, recoverySteps: 0, lostRaces: 0, notificationsQueued: 0, rebuildMs: 0, rebuildEvents: 0 };
  readonly store: AlertStore;
  readonly dispatcher: OutboxDispatcher;
  readonly instanceId: string;
  private readonly groupId: string;
  private readonly controlTopic: string;
  private readonly minuteMs: number;
  private readonly clock: () => number;
  private readonly futureAllowanceMs: number;
  private control: GroupConsumer | undefined;
  private reader: GroupConsumer | undefined;
  private readerGroup: string | undefined;
  private engine: AlertEngine | undefined;
  private leader = false;
  private rebuilt = false;
  private rebuildTargets = new Map<number, bigint>();
  private work: Promise<void> = Promise.resolve();
  private lastEventWall = Date.now();
  private idleTimer: NodeJS.Timeout | undefined;
  private stopped = false;
  private rebuiltWaiters: (() => void)[] = [];
  private readerClosing: Promise<void> = Promise.resolve();
  /** Next offset to read and last known end, per partition: a partition with unread records holds the watermark. */
  private readonly consumed = new Map<number, bigint>();
  private readonly highs = new Map<number, bigint>();
  private readonly startOffsets = new Map<number, bigint>();
  /** Per partition, the next offset not yet decided on when the checkpoint was saved (earlier ones replay for counts). */
  private decidedUntil = new Map<number, bigint>();
  private admin: KafkaAdmin | undefined;

  constructor(private readonly o: AlertEvaluatorOptions) {
    this.instanceId = o.instanceId ?? randomBytes(4).toString('hex');
    this.groupId = o.groupId ?? GROUP_ID;
    this.controlTopic = o.controlTopic ?? CONTROL_TOPIC;
    this.minuteMs = 60_000 / o.timeScale;
    this.clock = o.clock ?? Date.now;
    this.futureAllowanceMs = o.futureAllowanceMs ?? futureAllowanceMs();
    this.store = new AlertStore(o.db, {
      routes: o.routes,
      dashboardBaseUrl: o.dashboardBaseUrl,
      killSwitch: {
        dryRun: o.killSwitch.dryRun,
        maxPer24h: o.killSwitch.maxPer24h,
        capWindowMs: 24 * 60 * this.minuteMs,
        blastRadius: o.rules.blastRadius,
        recovery: o.rules.recovery,
        minuteMs: this.minuteMs,
      },
      rules: o.rules.rules,
    });
    this.dispatcher = new OutboxDispatcher({ db: o.db, notifiers: o.notifiers, logger: o.logger });
  }

  get isLeader(): boolean {
    return this.leader;
  }

  /** The live engine while leading (tests and benchmarks read its stats). */
  get currentEngine(): AlertEngine | undefined {
    return this.engine;
  }

  async start(): Promise<void> {
    await migrateAlerts(this.o.db);
    await ensureTopics(this.o.kafka, [controlTopic(this.o.controlTopicReplication ?? {}, this.controlTopic)]);
    if (this.o.dispatch ?? true) this.dispatcher.start();
    const control = this.o.kafka.groupConsumer({
      groupId: this.groupId,
      topics: [this.controlTopic],
      startWhenNew: 'latest',
      sessionTimeoutMs: this.o.sessionTimeoutMs ?? 10_000,
      heartbeatIntervalMs: 1000,
      // Every join (a rebalance, or the member joining again after losing the group) says who leads now.
      onAssignment: (assigned: TopicPartitions[]) => {
        const mine = assigned.some((a) => a.topic === this.controlTopic && a.partitions.includes(0));
        this.o.logger.info({ instance: this.instanceId, leader: mine }, 'alert evaluator group joined');
        this.serialize(() => (mine ? this.becomeLeader() : this.becomeStandby()));
      },
    });
    this.control = control;
    // Nothing is written to the control topic: the group's assignment is the only message.
    await control.start(async () => undefined);
    const idle = this.o.idleAdvanceMs ?? 5000;
    if (idle > 0) {
      this.idleTimer = setInterval(() => this.serialize(() => this.idleAdvance(idle)), Math.max(50, idle / 2));
      this.idleTimer.unref();
    }
  }

  /** Resolves once this instance leads and has rebuilt its windows up to the topic's end at start. */
  async rebuiltAndLeading(): Promise<void> {
    if (this.leader && this.rebuilt) return;
    await new Promise<void>((resolve) => this.rebuiltWaiters.push(resolve));
  }

  /** Waits for the in-flight evaluation work (tests use it after feeding events). */
  async settled(): Promise<void> {
    let current: Promise<void>;
    do {
      current = this.work;
      await current;
    } while (current !== this.work);
  }

  private serialize(fn: () => Promise<void>): void {
    this.work = this.work.then(fn).catch((err: unknown) => this.o.logger.error({ err: (err as Error).message, stack: (err as Error).stack }, 'alert evaluator step failed'));
  }

  private async becomeLeader(): Promise<void> {
    if (this.leader || this.stopped) return;
    this.leader = true;
    this.rebuilt = false;
    this.stats.leaderTerms++;
    const started = Date.now();
    const allowance = this.o.latenessAllowanceMinutes ?? 360;
    const engine = new AlertEngine(this.o.rules, { minuteMs: this.minuteMs, latenessAllowanceMinutes: allowance });
    engine.watermark.limitTo(() => this.clock() + this.futureAllowanceMs);
    const progress = await this.store.loadProgress(this.groupId);
    const now = this.clock();
    let checkpoint = progress?.evaluatedThrough ?? null;
    if (checkpoint !== null && checkpoint > now) {
      // Saved after an event dated ahead dragged event time forward (before the future bound existed). Kept, every
      // instant up to it would replay for counts only, deciding nothing — no page — until the clock caught up.
      this.o.logger.warn({ evaluatedThrough: new Date(checkpoint).toISOString(), now: new Date(now).toISOString() }, 'alert checkpoint ahead of the clock: repaired to now');
      await this.store.clampCheckpoint(this.groupId, now);
      checkpoint = now;
    }
    engine.restore(await this.store.loadStates(), checkpoint);
    engine.recovery.restore(await this.store.loadRecovery());
    this.engine = engine;
    this.decidedUntil = new Map(Object.entries(progress?.offsets ?? {}).map(([p, o]) => [Number(p), BigInt(o)]));
    // The same horizon as the live engine: the longest window plus the lateness allowance (and the evaluation delay).
    const horizon = (longestWindowMinutes(this.o.rules) + allowance + this.o.rules.evaluationDelayMinutes + (this.o.rebuildGraceMinutes ?? 10)) * this.minuteMs;
    let from = now - horizon;
    // After a long outage, reach back to the last evaluated instant's window so none is skipped (bounded).
    if (checkpoint !== null) from = Math.max(Math.min(from, checkpoint - longestWindowMinutes(this.o.rules) * this.minuteMs), now - horizon - 2 * 1440 * this.minuteMs);
    const admin = this.o.kafka.admin();
    this.readerGroup = `${this.groupId}-reader-${this.instanceId}-${this.stats.leaderTerms}`;
    try {
      const starts = await admin.offsetsAt(this.o.eventsTopic, from);
      const ends = await admin.partitionRanges(this.o.eventsTopic);
      this.rebuildTargets = new Map();
      this.consumed.clear();
      this.highs.clear();
      for (const end of ends) {
        const start = starts.find((s) => s.partition === end.partition)?.offset ?? end.high;
        this.startOffsets.set(end.partition, start);
        this.highs.set(end.partition, end.high);
        if (start < end.high) this.rebuildTargets.set(end.partition, end.high - 1n);
        else engine.watermark.setCaughtUp(end.partition, true);
      }
      await admin.setCommittedOffsets(this.readerGroup, this.o.eventsTopic, starts);
    } finally {
      await admin.close().catch(() => undefined);
    }
    for (const p of this.rebuildTargets.keys()) engine.watermark.setCaughtUp(p, false);
    this.o.logger.info({ instance: this.instanceId, from: new Date(from).toISOString(), partitions: this.rebuildTargets.size }, 'alert evaluator leading; rebuilding windows');
    // Fetches are bounded in compressed bytes, and a batch is decoded whole: with 4 MiB a partition, the alerts
    // process fell behind 10k events/s on a machine at load 20 and reached 415 MB RSS catching up. 1 MiB a
    // partition and 3 MiB a fetch bound a catch-up batch; the decoding rate, not the fetch size, bounds a rebuild.
    // The reader group is this term's own and has offsets for every partition before it joins: it is a way to
    // start at chosen offsets, not to share work (its one member is handed every partition). What it commits is
    // never read back; the checkpoint in the database is what a restart trusts.
    // Under a steady stream the broker waits (at most 200 ms) for 256 KiB before answering: without it every fetch
    // came back with the few records produced since the last one, and each batch pays the partition ends and a
    // checkpoint write.
    const reader = this.o.kafka.groupConsumer({
      groupId: this.readerGroup,
      topics: [this.o.eventsTopic],
      startWhenNew: 'earliest',
      maxBytesPerPartition: 1024 * 1024,
      maxBytes: 3 * 1024 * 1024,
      minBytes: 256 * 1024,
      maxWaitMs: 200,
      sessionTimeoutMs: this.o.sessionTimeoutMs ?? 30_000,
    });
    this.reader = reader;
    const rebuildStart = started;
    await reader.start((batch) => this.onBatch(batch, engine, rebuildStart));
    if (this.rebuildTargets.size === 0) this.markRebuilt(rebuildStart);
  }

  private markRebuilt(started: number): void {
    if (this.rebuilt) return;
    this.rebuilt = true;
    this.stats.rebuildMs = Date.now() - started;
    this.o.logger.info({ instance: this.instanceId, ms: this.stats.rebuildMs, events: this.stats.rebuildEvents }, 'alert windows rebuilt');
    for (const w of this.rebuiltWaiters.splice(0)) w();
  }

  private async onBatch(batch: IncomingBatch, engine: AlertEngine, rebuildStart: number): Promise<void> {
    // One CONSUMER span per batch (like the consumer runner's), linked to each message's creation context.
    const span = tracingActive() && batch.records.length > 0
      ? startProcessSpan({ topic: batch.topic, partition: batch.partition, consumerGroup: this.readerGroup ?? this.groupId, messages: batch.records, attributes: { 'actionpulse.sink': 'alerts' } })
      : undefined;
    const transitionsBefore = this.stats.transitions;
    const rebuilding = !this.rebuilt;
    await inSpan(span, () => this.evaluateBatch(batch, engine, rebuildStart), (_, s) =>
      s.setAttributes({ 'actionpulse.alerts.transitions': this.stats.transitions - transitionsBefore, 'actionpulse.alerts.rebuilding': rebuilding }),
    );
  }

  private async evaluateBatch(batch: IncomingBatch, engine: AlertEngine, rebuildStart: number): Promise<void> {
    // Evaluation is serialized with leadership changes and the idle timer.
    const done = new Promise<void>((resolve, reject) => {
      this.serialize(async () => {
        try {
          if (this.engine !== engine) return resolve();
          const replayBelow = this.decidedUntil.get(batch.partition) ?? -1n;
          // Offsets rise within a batch: once one reaches the checkpoint's, every later one has too (no BigInt each).
          let decide = replayBelow < 0n;
          // Decoding bounds event time by the process clock; this bounds it by the evaluator's own clock.
          const newestAllowed = this.clock() + this.futureAllowanceMs;
          for (const message of batch.records) {
            decide ||= message.offset >= replayBelow;
            const decoded = decodeEvent(message.value);
            if (!decoded.ok) {
              // Invalid messages are the ingest consumers' to dead-letter; here they only count.
              if (decoded.reason === 'timestamp_in_future') this.stats.future++;
              else this.stats.invalid++;
              continue;
            }
            if (decoded.event.timestamp > newestAllowed) {
              // Counted, it would drag the watermark ahead: empty steps evaluated, the real events that follow late.
              this.stats.future++;
              continue;
            }
            this.stats.events++;
            if (!this.rebuilt) this.stats.rebuildEvents++;
            engine.ingest(decoded.event, batch.partition, decide);
          }
          if (batch.records.length > 0) {
            this.lastEventWall = Date.now();
            const last = batch.records[batch.records.length - 1].offset;
            this.consumed.set(batch.partition, last + 1n);
            // The end last read from the broker; refreshHighs() below asks again before anything is decided.
            engine.watermark.setCaughtUp(batch.partition, last + 1n >= (this.highs.get(batch.partition) ?? 0n));
            const target = this.rebuildTargets.get(batch.partition);
            if (target !== undefined && last >= target) {
              this.rebuildTargets.delete(batch.partition);
              engine.watermark.setCaughtUp(batch.partition, true);
            }
          }
          await this.refreshHighs(engine);
          await this.evaluatePending(engine, batch.records.length > 0);
          this.o.logger.debug({ partition: batch.partition, messages: batch.records.length, watermark: engine.watermark.current, closedThrough: engine.closedThroughMs }, 'alert batch evaluated');
          if (this.rebuildTargets.size === 0) this.markRebuilt(rebuildStart);
          resolve();
        } catch (err) {
          reject(err as Error);
        }
      });
    });
    await done;
  }

  private lastBudgetWrite = 0;
  /** The evaluated-through instant this instance last saved. */
  private savedThrough = -Infinity;

  /** The error budget left per scope, from the SLO rule's window (written at most every 10 s of wall time). */
  private async saveErrorBudget(engine: AlertEngine): Promise<void> {
    const rule = this.o.rules.rules.find((r) => r.id === ERROR_BUDGET_RULE);
    if (!rule || Date.now() - this.lastBudgetWrite < 10_000 || engine.closedThroughMs === -Infinity) return;
    this.lastBudgetWrite = Date.now();
    await this.store.saveErrorBudget(rule.id, rule.windowMinutes, rule.threshold, engine.closedThroughMs, engine.windowFigures(rule.id));
  }

  private async evaluatePending(engine: AlertEngine, read = false): Promise<void> {
    const before = engine.closedThroughMs;
    for (const t of engine.decide()) await this.persist(engine, t);
    // Steps evaluated ahead of the clock are saved as evaluated once the clock has passed them, read or not.
    const clockPassedSaved = Math.min(engine.closedThroughMs, this.clock()) > this.savedThrough;
    if (engine.closedThroughMs > before || read || clockPassedSaved) {
      // Everything read so far has been decided on and its transitions persisted.
      const offsets: Record<string, string> = {};
      for (const [p, o] of this.decidedUntil) offsets[p] = o.toString();
      for (const [p, o] of this.consumed) if (o > (this.decidedUntil.get(p) ?? -1n)) offsets[p] = o.toString();
      // Never ahead of the clock: a restart replays instants up to the checkpoint without deciding on them.
      this.savedThrough = Math.min(engine.closedThroughMs, this.clock());
      await this.store.saveCheckpoint(this.groupId, this.savedThrough, offsets);
    }
    await this.saveErrorBudget(engine);
  }

  private async persist(engine: AlertEngine, t: Transition | RecoveryStep): Promise<void> {
    if (isRecoveryStep(t)) return this.persistRecovery(engine, t);
    const r = await this.store.apply(t);
    engine.commit(r.state);
    for (const cycle of r.recovery) engine.commitRecovery(cycle);
    this.o.logger.debug({ rule: t.rule.id, scope: t.next.scopeKey, status: r.state.status, effects: t.effects, won: r.won, at: t.at }, 'alert transition');
    if (r.won) {
      this.stats.transitions++;
      this.stats.notificationsQueued += r.notifications;
      if (r.notifications > 0) this.dispatcher.poke();
    } else {
      this.stats.lostRaces++;
    }
  }

  private async persistRecovery(engine: AlertEngine, step: RecoveryStep): Promise<void> {
    const r = await this.store.applyRecovery(step);
    engine.commitRecovery(r.state);
    const s = r.state;
    this.o.logger.info(
      { node_type: s.nodeType, organization_id: s.organizationId, step: step.step, phase: s.phase, won: r.won, at: step.at, cycle: s.cycle, probes: s.probes.length },
      'kill-switch recovery step',
    );
    if (r.won && s.endedBy === 'dry_run') {
      this.o.logger.warn({ node_type: s.nodeType, organization_id: s.organizationId, cycle: s.cycle, at: step.at }, 'dry run: automatic recovery ended; the switch stays off until a person re-enables it');
    }
    if (r.won) {
      this.stats.recoverySteps++;
      this.stats.notificationsQueued += r.notifications;
      if (r.notifications > 0) this.dispatcher.poke();
    } else {
      this.stats.lostRaces++;
    }
  }

  /**
   * A batch says nothing of the other partitions' ends, so a partition that has unread records but no batch
   * yet would not hold the watermark back: ask the broker.
   */
  private async refreshHighs(engine: AlertEngine): Promise<void> {
    try {
      this.admin ??= this.o.kafka.admin();
      for (const p of await this.admin.partitionRanges(this.o.eventsTopic)) {
        const high = p.high;
        this.highs.set(p.partition, high);
        if (this.engine === engine) engine.watermark.setCaughtUp(p.partition, (this.consumed.get(p.partition) ?? this.startOffsets.get(p.partition) ?? 0n) >= high);
      }
    } catch (err) {
      this.o.logger.warn({ err: (err as Error).message }, 'could not read partition ends');
      await this.admin?.close().catch(() => undefined);
      this.admin = undefined;
    }
  }

  private async idleAdvance(idleMs: number): Promise<void> {
    const engine = this.engine;
    if (!engine || !this.leader || !this.rebuilt || this.rebuildTargets.size > 0) return;
    await this.refreshHighs(engine);
    if (!engine.watermark.allCaughtUp() || Date.now() - this.lastEventWall < idleMs) return;
    engine.watermark.advanceTo(this.clock());
    await this.evaluatePending(engine);
  }

  private async becomeStandby(): Promise<void> {
    if (!this.leader) return;
    this.leader = false;
    this.engine = undefined;
    const reader = this.reader;
    const group = this.readerGroup;
    this.reader = undefined;
    // Not awaited inside the serialized chain: stop waits for the reader's current batch, which may itself be
    // queued behind this step.
    const closing = (async () => {
      await reader?.stop().catch(() => undefined);
      if (group) await this.deleteGroup(group);
    })();
    this.readerClosing = this.readerClosing.then(() => closing);
    this.o.logger.info({ instance: this.instanceId }, 'alert evaluator standing by');
  }

  private async deleteGroup(group: string): Promise<void> {
    const admin = this.o.kafka.admin();
    try {
      await admin.deleteGroups([group]);
    } catch {
      // an empty reader group without offsets expires on its own; nothing is lost
    } finally {
      await admin.close().catch(() => undefined);
    }
  }

  /** Exposes metrics() on the process's /metrics (counters for `_total`, gauges for the rest). */
  register(meter: Meter): void {
    const help: Record<string, string> = {
      actionpulse_alerts_events_total: 'Valid events the evaluator counted into its windows',
      actionpulse_alerts_invalid_events_total: 'Messages the evaluator could not decode (the ingest consumers dead-letter them)',
      actionpulse_alerts_future_events_total: 'Events dated further ahead of the evaluator clock than EVENT_FUTURE_ALLOWANCE_SECONDS: not counted (the ingest consumers dead-letter them)',
      actionpulse_alerts_duplicate_events_total: 'Redelivered events counted once by event_id',
      actionpulse_alerts_transitions_total: 'Alert state transitions this instance persisted',
      actionpulse_alerts_recovery_steps_total: 'Kill-switch recovery steps this instance persisted (probe rounds started and ended, probes counted, automatic re-enables)',
      actionpulse_alerts_late_probes_total: 'Probe outcomes read after the watermark passed their instant: taken there, counted only if their switch had decided nothing later',
      actionpulse_alerts_notifications_sent_total: 'Notifications delivered to a receiver',
      actionpulse_alerts_notifications_dead_total: 'Notifications given up after their retries, left for a human in alert_outbox',
      actionpulse_alerts_is_leader: '1 on the instance that evaluates (the control topic partition owner)',
      actionpulse_alerts_late_events_total: 'Events that arrived after their instant was evaluated, by lateness (le_1m … le_24h, more); counted unless beyond the allowance',
      actionpulse_alerts_too_late_events_total: 'Events beyond the lateness allowance: not counted',
      actionpulse_alerts_late_breaches_paged_total: 'Breaches found through late events and paged (once, saying when they began)',
      actionpulse_alerts_late_breaches_already_paged_total: 'Breaches found through late events inside or before an episode already paged: not paged again',
      actionpulse_alerts_early_firings_total: 'Count rules fired on the event that crossed the threshold',
    };
    const lateness = meter.createObservableCounter('actionpulse_alerts_late_events_total', { description: help.actionpulse_alerts_late_events_total });
    const instruments = Object.keys(this.metrics()).map((name) => ({
      name,
      instrument: name.endsWith('_total') ? meter.createObservableCounter(name, { description: help[name] }) : meter.createObservableGauge(name, { description: help[name] }),
    }));
    meter.addBatchObservableCallback(
      (result) => {
        const values = this.metrics();
        for (const { name, instrument } of instruments) result.observe(instrument, values[name] ?? 0);
        const byLateness = this.engine?.stats.lateByLateness;
        for (const [bucket] of LATENESS_BUCKETS) result.observe(lateness, byLateness?.[bucket] ?? 0, { lateness: bucket });
      },
      [...instruments.map((i) => i.instrument), lateness],
    );
  }

  metrics(): Record<string, number> {
    const e = this.engine?.stats;
    return {
      actionpulse_alerts_events_total: this.stats.events,
      actionpulse_alerts_invalid_events_total: this.stats.invalid,
      actionpulse_alerts_future_events_total: this.stats.future,
      actionpulse_alerts_too_late_events_total: e?.tooLate ?? 0,
      actionpulse_alerts_late_breaches_paged_total: e?.lateFirings ?? 0,
      actionpulse_alerts_late_breaches_already_paged_total: e?.lateBreachesAlreadyPaged ?? 0,
      actionpulse_alerts_early_firings_total: e?.earlyFirings ?? 0,
      actionpulse_alerts_duplicate_events_total: e?.duplicates ?? 0,
      actionpulse_alerts_transitions_total: this.stats.transitions,
      actionpulse_alerts_recovery_steps_total: this.stats.recoverySteps,
      actionpulse_alerts_late_probes_total: this.engine?.recovery.stats.lateProbes ?? 0,
      actionpulse_alerts_notifications_sent_total: this.dispatcher.stats.sent,
      actionpulse_alerts_notifications_dead_total: this.dispatcher.stats.dead,
      actionpulse_alerts_is_leader: this.leader ? 1 : 0,
    };
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.idleTimer) clearInterval(this.idleTimer);
    await this.control?.stop().catch(() => undefined);
    await this.settled();
    this.serialize(() => this.becomeStandby());
    await this.settled();
    await this.readerClosing;
    await this.admin?.close().catch(() => undefined);
    await this.dispatcher.stop();
  }
}
