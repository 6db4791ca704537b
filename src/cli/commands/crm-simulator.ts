import { randomBytes } from 'node:crypto';
import { QontakCrmSimulator } from '../../simulators/qontak-crm-simulator.ts';
import { EX_UNAVAILABLE, OperatorError, parse, UsageError } from '../args.ts';

export const help = `actionpulse crm-simulator [--port 8090] [--api-key KEY]

  Runs the simulated Qontak CRM API v3.1 (deals, tickets, leads, company tokens, the X-Crm-Api-Key fallback) on
  http://127.0.0.1:PORT until Ctrl-C, for trying the agent runtime without a CRM account. It prints the two
  settings that point a runtime at it: QONTAK_CRM_BASE_URL, and QONTAK_CRM_API_KEY (the key it accepts, random
  unless --api-key), which the runtime uses for an organization with no company token stored. Local use only.`;

export async function run(args: string[]): Promise<number> {
  const { values, positionals } = parse(args, { port: { type: 'string', default: '8090' }, 'api-key': { type: 'string' } });
  if (positionals.length) throw new UsageError(`unexpected argument '${positionals[0]}'`);
  const port = Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new UsageError('--port takes a port number (0 = any free one)');
  const apiKey = values['api-key'] ?? `sim_${randomBytes(12).toString('hex')}`;
  // Bounded request log: this runs for as long as the operator leaves it.
  const crm = new QontakCrmSimulator({ apiKey, maxRecordedRequests: 1000 });
  const url = await crm.start(port).catch((err: NodeJS.ErrnoException) => {
    throw new OperatorError(`cannot listen on 127.0.0.1:${port} (${err.code ?? err.message}): choose another with --port`, EX_UNAVAILABLE);
  });
  console.log(`Simulated Qontak CRM at ${url}. Point the runtime at it with:`);
  console.log(`  QONTAK_CRM_BASE_URL=${url} QONTAK_CRM_API_KEY=${apiKey}`);
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  await crm.close();
  return 0;
}
