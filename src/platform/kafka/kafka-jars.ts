import { execFile, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { promisify } from 'node:util';
import type { Logger } from '../logger.ts';
import { PrerequisiteError } from '../prerequisite-error.ts';

/**
 * The local broker's Apache Kafka 3.9 jars, copied out of Maven Central by the `pom.xml` shipped at the package
 * root, into `.vendor/kafka/libs` beside it: the same place in a clone (where `npm start` fetches them through
 * scripts/setup.mjs) and in an installed package (where the first `actionpulse kafka start` does).
 */
const PACKAGE_ROOT = resolve(import.meta.dirname, '../../..');
export const KAFKA_LIBS_DIR = resolve(PACKAGE_ROOT, '.vendor/kafka/libs');
const MARKER_JAR = 'kafka_2.13-3.9.1.jar';

export function kafkaJarsPresent(): boolean {
  return existsSync(resolve(KAFKA_LIBS_DIR, MARKER_JAR));
}

/** The Maven invocation that fetches the jars, as an operator would type it. */
export function fetchKafkaJarsCommand(): string[] {
  return ['mvn', '-q', '-B', '-f', resolve(PACKAGE_ROOT, 'pom.xml'), 'dependency:copy-dependencies', `-DoutputDirectory=${KAFKA_LIBS_DIR}`, '-DincludeScope=runtime'];
}

function onPath(command: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${command}`]).status === 0;
}

/** Fetches the jars with Maven when they are missing; a missing tool or a failed fetch is one line naming the fix. */
export async function ensureKafkaJars(logger?: Logger): Promise<void> {
  if (kafkaJarsPresent()) return;
  const command = fetchKafkaJarsCommand();
  const typed = command.map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a}'`)).join(' ');
  if (!onPath('java')) {
    throw new PrerequisiteError('the local Kafka broker needs Java 17 (Debian: apt-get install -y openjdk-17-jre-headless)');
  }
  if (!onPath('mvn')) {
    throw new PrerequisiteError(`the Kafka broker's jars are not in ${KAFKA_LIBS_DIR} and Maven is not installed (Debian: apt-get install -y maven); with Maven, this fetches them: ${typed}`);
  }
  logger?.info({ dir: KAFKA_LIBS_DIR }, 'fetching the Kafka broker jars from Maven Central (pom.xml)');
  try {
    await promisify(execFile)(command[0]!, command.slice(1), { maxBuffer: 16 * 1024 * 1024 });
  } catch (err) {
    const e = err as { code?: unknown; stdout?: string };
    const last = (e.stdout ?? '').trim().split('\n').filter((l) => /ERROR/.test(l))[0] ?? `exit ${String(e.code)}`;
    throw new PrerequisiteError(`fetching the Kafka broker's jars from Maven Central failed (${last.replace(/^\[ERROR\]\s*/, '').slice(0, 300)}); fix that, then: ${typed}`);
  }
  if (!kafkaJarsPresent()) throw new PrerequisiteError(`Maven ran but ${MARKER_JAR} is not in ${KAFKA_LIBS_DIR}; run: ${typed}`);
}
