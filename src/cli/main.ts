import { ConfigError, missingPackage, missingPackageProblem } from '../platform/config.ts';
import { PrerequisiteError } from '../platform/prerequisite-error.ts';
import { EX_CONFIG, EX_UNAVAILABLE, OperatorError, UsageError } from './args.ts';

/**
 * `actionpulse <command>`: one entry point for the main job and the operator commands. Each command
 * module exports `help` and `run(args)` returning the exit code.
 */
interface CommandModule {
  help: string;
  run(args: string[]): Promise<number>;
}

const COMMANDS: Record<string, { summary: string; load: () => Promise<CommandModule> }> = {
  start: { summary: 'run the whole pipeline (local infra unless configured otherwise)', load: () => import('./commands/start.ts') },
  smoke: { summary: 'send one of each event through Kafka and read them back', load: () => import('./commands/smoke.ts') },
  doctor: { summary: 'check every configured part and say how to fix what is wrong', load: () => import('./commands/doctor.ts') },
  registry: { summary: 'list, enable or disable actions (the kill switch), with audit', load: () => import('./commands/registry.ts') },
  silence: { summary: 'add, list or expire alert silences', load: () => import('./commands/silence.ts') },
  report: { summary: 'the weekly review (--week), as Markdown or a Slack digest', load: () => import('./commands/report.ts') },
  dlq: { summary: 'inspect or replay dead-lettered events', load: () => import('./commands/dlq.ts') },
  replay: { summary: 're-feed a sink from Kafka from a point in time', load: () => import('./commands/replay.ts') },
  kafka: { summary: 'start or stop the local Kafka broker', load: () => import('./commands/kafka.ts') },
  topics: { summary: "create the pipeline's Kafka topics (once per cluster, before the first runtime)", load: () => import('./commands/topics.ts') },
  'crm-simulator': { summary: 'run the simulated Qontak CRM locally (to try the agent runtime)', load: () => import('./commands/crm-simulator.ts') },
};

function usage(): string {
  const rows = Object.entries(COMMANDS).map(([name, c]) => `  ${name.padEnd(13)} ${c.summary}`);
  return `Usage: actionpulse <command> [options]\n\nCommands:\n${rows.join('\n')}\n\nRun 'actionpulse <command> --help' for a command's options.`;
}

/** Whether the Kafka client raised `err` (only a command that loaded the client can have got one from it). */
async function fromKafkaClient(err: unknown): Promise<boolean> {
  if (!(err instanceof Error)) return false;
  const { isKafkaClientError } = await import('../platform/kafka/platformatic-adapter.ts');
  return isKafkaClientError(err);
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...args] = argv;
  if (!name) {
    console.error(usage());
    return 2;
  }
  if (name === '--help' || name === '-h' || name === 'help') {
    console.log(usage());
    return 0;
  }
  const command = COMMANDS[name];
  if (!command) {
    console.error(`unknown command '${name}'\n\n${usage()}`);
    return 2;
  }
  let mod: CommandModule | undefined;
  try {
    // Loading a command imports the packages it uses: one left out of the install fails here, reported below.
    mod = await command.load();
    if (args.includes('--help') || args.includes('-h')) {
      console.log(mod.help);
      return 0;
    }
    return await mod.run(args);
  } catch (err) {
    if (err instanceof UsageError) {
      const help = mod?.help ?? '';
      console.error(err.message.includes(help) ? err.message : `${err.message}\n\n${help}`);
      return 2;
    }
    if (err instanceof ConfigError) {
      console.error(`actionpulse ${name}: ${err.message}`);
      return EX_CONFIG;
    }
    const pkg = missingPackage(err);
    if (pkg) {
      // An optional package left out of the install: one line naming it, the same as a missing setting.
      console.error(`actionpulse ${name}: ${new ConfigError([missingPackageProblem(pkg, `actionpulse ${name}`)]).message}`);
      return EX_CONFIG;
    }
    if (err instanceof OperatorError) {
      console.error(`actionpulse ${name}: ${err.message}`);
      return err.exitCode;
    }
    if (err instanceof PrerequisiteError) {
      console.error(`actionpulse ${name}: ${err.message}`);
      return EX_UNAVAILABLE;
    }
    if (await fromKafkaClient(err)) {
      // An unreachable or refusing cluster is the operator's to fix; the client's stack says nothing more.
      console.error(`actionpulse ${name}: Kafka: ${(err as Error).message}: check KAFKA_BROKERS (and KAFKA_SSL/KAFKA_SASL_*), or start the local broker with \`npx actionpulse kafka start\``);
      return EX_UNAVAILABLE;
    }
    // Anything else is a bug: the stack is what a bug report needs.
    console.error(`actionpulse ${name}: ${(err as Error).stack ?? err}`);
    return 1;
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (err: unknown) => {
      console.error(err);
      process.exitCode = 1;
    },
  );
}
