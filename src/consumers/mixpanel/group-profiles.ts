import Mixpanel from 'mixpanel';
import type { ActionEvent } from '../../events/index.ts';
import type { Logger } from '../../platform/logger.ts';
import { MIXPANEL_GROUP_KEY } from './event-mapping.ts';

/**
 * Keeps one Mixpanel group profile per organization up to date through the `mixpanel` package's groups
 * API (what the package does well). Throttled to one update per organization per interval: a profile
 * says "this org is active, last seen then", which does not need one call per event. Best effort —
 * a failed update is retried on the organization's next event, and never holds back event delivery.
 */
export interface GroupProfileOptions {
  projectToken: string;
  apiHost: string;
  intervalMs: number;
  logger: Logger;
  /** Organizations remembered for throttling; the least recently updated are forgotten first. */
  maxOrganizations?: number;
  maxInFlight?: number;
}

type GroupsClient = ReturnType<typeof Mixpanel.init>;

export class GroupProfileUpdater {
  private readonly client: GroupsClient;
  private readonly lastSent = new Map<string, number>();
  private inFlight = 0;
  private readonly idle: (() => void)[] = [];
  readonly stats = { sent: 0, failed: 0 };

  constructor(private readonly o: GroupProfileOptions) {
    const url = new URL(o.apiHost);
    // Profiles authenticate with the project token inside the payload; no secret, so no HTTPS-only rule.
    const config = {
      host: url.hostname,
      port: url.port ? Number(url.port) : undefined,
      protocol: url.protocol.replace(':', ''),
      keepAlive: true,
      logger: { trace: noop, debug: noop, info: noop, warn: noop, error: noop },
    };
    this.client = Mixpanel.init(o.projectToken, config as Parameters<typeof Mixpanel.init>[1]);
  }

  observe(event: ActionEvent, nowMs = Date.now()): void {
    const org = event.organization_id;
    const last = this.lastSent.get(org);
    if (last !== undefined && nowMs - last < this.o.intervalMs) return;
    if (this.inFlight >= (this.o.maxInFlight ?? 8)) return; // the org's next event tries again
    this.lastSent.delete(org);
    this.lastSent.set(org, nowMs);
    while (this.lastSent.size > (this.o.maxOrganizations ?? 100_000)) this.lastSent.delete(this.lastSent.keys().next().value!);
    this.inFlight++;
    const properties = {
      $name: org,
      last_event: event.event,
      last_event_at: new Date(event.timestamp).toISOString(),
      last_seen_by_pipeline_at: new Date(nowMs).toISOString(),
    };
    this.client.groups.set(MIXPANEL_GROUP_KEY, org, properties, (err: Error | undefined) => {
      this.inFlight--;
      if (err) {
        this.stats.failed++;
        this.lastSent.delete(org);
        this.o.logger.warn({ err: err.message, organization_id: org }, 'mixpanel group profile update failed');
      } else {
        this.stats.sent++;
      }
      if (this.inFlight === 0) this.idle.splice(0).forEach((r) => r());
    });
  }

  /** Resolves when no update is in flight (shutdown, tests). */
  async drain(): Promise<void> {
    if (this.inFlight === 0) return;
    await new Promise<void>((resolve) => this.idle.push(resolve));
  }
}

function noop(): void {}
