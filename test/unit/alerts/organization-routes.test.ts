import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { alertRouting } from '../../../src/app/alerts-wiring.ts';
import { checkReceivers, loadRulesFile, organizationReceiversOf, parseRules, RulesFileError } from '../../../src/consumers/alerts/alert-rules.ts';
import type { Notifier } from '../../../src/consumers/alerts/notifiers/notifier.ts';
import { SlackNotifier } from '../../../src/consumers/alerts/notifiers/slack-notifier.ts';
import { ConfigError, loadConfig } from '../../../src/platform/config.ts';

/**
 * Per-organization routing of the kill switch's organization-scoped pages: the rules file's
 * `blastRadius.organizationRoutes`, the fallback to `organizationReceivers`, and the start-time check that every
 * receiver the rules name is served by a route.
 */
describe('organization routes', () => {
  const base = loadRulesFile();
  const withRoutes = (organizationRoutes: Record<string, string[]>) => parseRules({ ...base, blastRadius: { ...base.blastRadius, organizationRoutes } });

  it('the shipped rules route no organization: every organization falls back to organizationReceivers (crm-oncall)', () => {
    expect(base.blastRadius.organizationRoutes).toEqual({});
    expect(organizationReceiversOf(base.blastRadius, ['org-1'])).toEqual(['crm-oncall']);
  });

  it('pages each organization\'s own receivers, the fallback for one without a route, each receiver once', () => {
    const b = withRoutes({ 'org-a': ['cs-a'], 'org-b': ['cs-b', 'crm-oncall'] }).blastRadius;
    expect(organizationReceiversOf(b, ['org-a'])).toEqual(['cs-a']);
    expect(organizationReceiversOf(b, ['org-z'])).toEqual(['crm-oncall']);
    expect(organizationReceiversOf(b, ['org-a', 'org-b', 'org-z'])).toEqual(['cs-a', 'cs-b', 'crm-oncall']);
  });

  it('matches a plain reference: the union of each organization\'s route or the fallback', () => {
    const names = fc.constantFrom('cs-a', 'cs-b', 'cs-c', 'crm-oncall');
    const orgs = fc.constantFrom('o1', 'o2', 'o3', 'o4');
    fc.assert(
      fc.property(fc.dictionary(orgs, fc.array(names, { minLength: 1, maxLength: 3 })), fc.array(names, { minLength: 1, maxLength: 2 }), fc.array(orgs), (routes, fallback, targets) => {
        const b = parseRules({ ...base, blastRadius: { maxOrganizations: 2, organizationReceivers: fallback, organizationRoutes: routes } }).blastRadius;
        const expected = new Set<string>();
        for (const o of targets) for (const r of Object.hasOwn(routes, o) ? routes[o] : fallback) expected.add(r);
        const got = organizationReceiversOf(b, targets);
        expect(new Set(got)).toEqual(expected);
        expect(got).toHaveLength(expected.size);
      }),
    );
  });

  it('refuses an organization with an empty route', () => {
    expect(() => withRoutes({ 'org-a': [] })).toThrow(/blastRadius\.organizationRoutes\.org-a/);
  });

  it('a receiver no route serves fails with its path in the rules file and reason unknown_receiver', () => {
    const rules = withRoutes({ 'org-a': ['cs-a'], 'org-b': ['crm-oncall', 'cs-typo'] });
    let err: unknown;
    try {
      checkReceivers(rules, ['bot-oncall', 'crm-oncall', 'bot-oncall-slack', 'cs-a'], 'rules.json');
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(RulesFileError);
    expect((err as RulesFileError).reason).toBe('unknown_receiver');
    expect((err as Error).message).toContain('blastRadius.organizationRoutes.org-b.1: unknown receiver "cs-typo"');
    expect((err as Error).message).not.toContain('org-a');
    expect(() => checkReceivers(rules, ['bot-oncall', 'crm-oncall', 'cs-a', 'cs-typo'])).not.toThrow();
  });

  it('names a rule\'s receiver and the fallback by their paths too', () => {
    const rules = parseRules({ ...base, blastRadius: { ...base.blastRadius, organizationReceivers: ['cs-nobody'] } });
    expect(() => checkReceivers(rules, ['bot-oncall'])).toThrow('rules.1.receivers.1 (token-refresh-failures-15m): unknown receiver "crm-oncall"');
    expect(() => checkReceivers(rules, ['bot-oncall'])).toThrow('blastRadius.organizationReceivers.0: unknown receiver "cs-nobody"');
  });
});

describe('alert routing at start', () => {
  const dir = mkdtempSync(join(tmpdir(), 'org-routes-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const base = loadRulesFile();
  const rulesFile = (organizationRoutes: Record<string, string[]>) => {
    const path = join(dir, `rules-${Object.keys(organizationRoutes).join('-') || 'none'}.json`);
    writeFileSync(path, JSON.stringify({ ...base, blastRadius: { ...base.blastRadius, organizationRoutes } }));
    return path;
  };
  const made: { name: string; url: string | undefined }[] = [];
  // The Slack channels alertRouting asks for, and the webhook each is given (nothing is sent here).
  const slack = (name: string, url: string | undefined): Notifier => {
    made.push({ name, url });
    return new SlackNotifier({ name, webhookUrl: url ?? 'http://127.0.0.1:9/none' });
  };

  it('each receiver of SLACK_RECEIVER_WEBHOOKS is a Slack channel of its own, and the rules may route an organization to it', () => {
    made.length = 0;
    const config = loadConfig({
      SLACK_WEBHOOK_URL: 'https://hooks.slack.com/services/T/B/bot',
      SLACK_RECEIVER_WEBHOOKS: 'cs-acme=https://hooks.slack.com/services/T/B/acme, cs-beta=https://hooks.slack.com/services/T/B/beta',
      ALERT_RULES_FILE: rulesFile({ acme: ['cs-acme'], beta: ['cs-beta', 'crm-oncall'] }),
      PAGERDUTY_ROUTING_KEY: 'k'.repeat(32),
    });
    const { routes, rules } = alertRouting(config, false, slack);
    expect(routes['cs-acme']).toEqual(['slack-cs-acme']);
    expect(routes['cs-beta']).toEqual(['slack-cs-beta']);
    expect(routes['crm-oncall']).toEqual(['slack-crm-oncall', 'pagerduty']);
    expect(made).toContainEqual({ name: 'slack-cs-acme', url: 'https://hooks.slack.com/services/T/B/acme' });
    expect(rules.blastRadius.organizationRoutes).toEqual({ acme: ['cs-acme'], beta: ['cs-beta', 'crm-oncall'] });
  });

  it('fails at start when the rules file routes an organization to a receiver no setting declares, naming the rules file and the path', () => {
    const path = rulesFile({ acme: ['cs-acme'] });
    const config = loadConfig({ ALERT_RULES_FILE: path });
    expect(() => alertRouting(config, false, slack)).toThrow(RulesFileError);
    expect(() => alertRouting(config, false, slack)).toThrow(`ALERT_RULES_FILE (${path})`);
    expect(() => alertRouting(config, false, slack)).toThrow('blastRadius.organizationRoutes.acme.0: unknown receiver "cs-acme"');
  });

  it('refuses a built-in receiver name in SLACK_RECEIVER_WEBHOOKS, and a value that is not a URL', () => {
    const config = loadConfig({ SLACK_RECEIVER_WEBHOOKS: 'crm-oncall=https://hooks.slack.com/services/T/B/x' });
    expect(() => alertRouting(config, false, slack)).toThrow(ConfigError);
    expect(() => alertRouting(config, false, slack)).toThrow('alerts.slackReceiverWebhooks.crm-oncall');
    expect(() => loadConfig({ SLACK_RECEIVER_WEBHOOKS: 'cs-acme=not-a-url' })).toThrow(/SLACK_RECEIVER_WEBHOOKS/);
  });

  it('the demo routes each of its organizations to a channel of its own, the crm channel\'s URL when it has none; the rules file\'s routes win', () => {
    made.length = 0;
    const config = loadConfig({ SLACK_CRM_WEBHOOK_URL: 'https://hooks.slack.com/services/T/B/crm', ALERT_RULES_FILE: rulesFile({ 'org-002': ['crm-oncall'] }) });
    const { routes, rules } = alertRouting(config, { organizationRoutes: { 'org-001': ['cs-org-001'], 'org-002': ['cs-org-002'] } }, slack);
    expect(rules.blastRadius.organizationRoutes).toEqual({ 'org-001': ['cs-org-001'], 'org-002': ['crm-oncall'] });
    expect(routes['cs-org-001']).toEqual(['slack-cs-org-001']);
    expect(made).toContainEqual({ name: 'slack-cs-org-001', url: 'https://hooks.slack.com/services/T/B/crm' });
  });
});
