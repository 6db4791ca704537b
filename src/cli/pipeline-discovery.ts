import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Config } from '../platform/config.ts';
import { EX_CONFIG, EX_UNAVAILABLE, OperatorError } from './args.ts';

/**
 * How the operator commands find the pipeline they act on. Each `actionpulse start` serving HTTP announces
 * itself with a file `<data dir>/run/pipeline-<pid>.json` ({ url, pid, startedAt }) while it runs, and removes it
 * when it stops. A file whose process is gone (a crash, a kill -9) is stale and ignored. ACTIONPULSE_URL, when
 * set, is used as is; otherwise exactly one announced pipeline is needed: with none or several the command says so
 * in one line instead of guessing.
 */
export interface Announcement {
  url: string;
  pid: number;
  startedAt: string;
}

export function announceDir(dataDir: string): string {
  return resolve(dataDir, 'run');
}

/** Writes this process's announcement; the returned function removes it (call it when the service stops). */
export function announcePipeline(dataDir: string, url: string): () => void {
  const dir = announceDir(dataDir);
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `pipeline-${process.pid}.json`);
  const body: Announcement = { url, pid: process.pid, startedAt: new Date().toISOString() };
  // Written whole then renamed: a reader never sees half a file.
  writeFileSync(`${file}.tmp`, `${JSON.stringify(body)}\n`);
  renameSync(`${file}.tmp`, file);
  return () => rmSync(file, { force: true });
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: the process exists but belongs to another user.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function parse(text: string): Announcement | undefined {
  try {
    const v = JSON.parse(text) as Partial<Announcement>;
    if (typeof v.url === 'string' && /^https?:\/\//.test(v.url) && Number.isInteger(v.pid) && (v.pid as number) > 0) {
      return { url: v.url, pid: v.pid as number, startedAt: String(v.startedAt ?? '') };
    }
  } catch {
    // unreadable or half-written: not an announcement
  }
  return undefined;
}

/** The pipelines announced under the data folder whose process is still running. */
export function discoverPipelines(dataDir: string): Announcement[] {
  const dir = announceDir(dataDir);
  let names: string[];
  try {
    names = readdirSync(dir).filter((n) => /^pipeline-\d+\.json$/.test(n));
  } catch {
    return [];
  }
  const found: Announcement[] = [];
  for (const name of names) {
    let text: string;
    try {
      text = readFileSync(join(dir, name), 'utf8');
    } catch {
      continue; // removed while listing: that pipeline stopped
    }
    const a = parse(text);
    if (a && alive(a.pid)) found.push(a);
  }
  return found.sort((x, y) => x.url.localeCompare(y.url));
}

/** The URL of the one service the operator commands act on, or an OperatorError saying in one line what to do. */
export function serviceUrl(config: Config): string {
  if (config.cli.serviceUrl) return config.cli.serviceUrl.replace(/\/$/, '');
  const found = discoverPipelines(config.dataDir);
  const dir = announceDir(config.dataDir);
  if (found.length === 1) return found[0].url.replace(/\/$/, '');
  if (found.length === 0) {
    throw new OperatorError(
      `no running Actionpulse pipeline announced in ${dir}: start one with \`npx actionpulse start\` (same ACTIONPULSE_DATA_DIR), or set ACTIONPULSE_URL to the service, e.g. ACTIONPULSE_URL=http://127.0.0.1:8080`,
      EX_UNAVAILABLE,
    );
  }
  const list = found.map((a) => `${a.url} (pid ${a.pid})`).join(', ');
  throw new OperatorError(`${found.length} Actionpulse pipelines are running (${list}): set ACTIONPULSE_URL to the one to act on`, EX_CONFIG);
}
