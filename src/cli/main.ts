import { ConfigError } from '../platform/config.ts';
import { UsageError } from './args.ts';

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
};

function usage(): string {
  const rows = Object.entries(COMMANDS).map(([name, c]) => `  ${name.padEnd(10)} ${c.summary}`);
  return `Usage: actionpulse <command> [options]\n\nCommands:\n${rows.join('\n')}\n\nRun 'actionpulse <command> --help' for a command's options.`;
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...args] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    console.log(usage());
    return name ? 0 : 2;
  }
  const command = COMMANDS[name];
  if (!command) {
    console.error(`unknown command '${name}'\n\n${usage()}`);
    return 2;
  }
  const mod = await command.load();
  if (args.includes('--help') || args.includes('-h')) {
    console.log(mod.help);
    return 0;
  }
  try {
    return await mod.run(args);
  } catch (err) {
    if (err instanceof UsageError) {
      console.error(err.message);
      return 2;
    }
    if (err instanceof ConfigError) {
      console.error(err.message);
      return 78; // EX_CONFIG
    }
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
