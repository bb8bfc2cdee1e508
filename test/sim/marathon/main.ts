/**
 * Standalone Marathon simulator, for poking at a deployer by hand:
 *
 *   npx tsx test/sim/marathon/main.ts --port 8080 --time-scale 60 --scenario 'myimage=crash-loop'
 *
 * Prints its URL, logs one line per request and per deployment event, runs until SIGTERM / SIGINT.
 */
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import type { Scenario } from './scenarios.js';
import { parseScenario, parseScenarioAssignment } from './scenarios.js';
import type { MarathonSimOptions } from './server.js';
import { startMarathonSim } from './server.js';

const USAGE = `Usage: tsx test/sim/marathon/main.ts [options]
  --port <n>                 listen port (default 8080; 0 = ephemeral)
  --host <addr>              listen address (default 127.0.0.1)
  --time-scale <n>           simulated seconds per real second (default 60)
  --seed <n>                 seed for shuffling events of one batch (default 1)
  --no-shuffle               deliver events in logical order
  --scenario <image=kind>    repeatable; kind[:key=value,...], e.g.
                             'reg/app=crash-loop:crashAfterSeconds=30,message=boom'
                             'reg/app:2=slow-readiness:readySeconds=120'
  --default-scenario <kind>  for images without a scenario (default healthy)
  --user <u> --password <p>  require HTTP basic auth
  --token <t>                accept 'Authorization: token=<t>'
  --quiet                    do not log requests and events
Scenario kinds: healthy, never-healthy, crash-loop, slow-readiness, instant.`;

export function optionsFromArgs(argv: string[]): MarathonSimOptions & { quiet: boolean } {
  const { values } = parseArgs({
    args: argv,
    options: {
      port: { type: 'string', default: '8080' },
      host: { type: 'string', default: '127.0.0.1' },
      'time-scale': { type: 'string', default: '60' },
      seed: { type: 'string', default: '1' },
      'no-shuffle': { type: 'boolean', default: false },
      scenario: { type: 'string', multiple: true, default: [] },
      'default-scenario': { type: 'string' },
      user: { type: 'string' },
      password: { type: 'string' },
      token: { type: 'string' },
      quiet: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
  });
  if (values.help) {
    process.stdout.write(USAGE + '\n');
    process.exit(0);
  }
  const number = (name: string, raw: string): number => {
    const n = Number(raw);
    if (!Number.isFinite(n) || n < 0) throw new Error(`--${name} must be a number >= 0, got '${raw}'`);
    return n;
  };
  const scenarios: Record<string, Scenario> = {};
  for (const spec of values.scenario) {
    const { image, scenario } = parseScenarioAssignment(spec);
    scenarios[image] = scenario;
  }
  if ((values.user === undefined) !== (values.password === undefined)) {
    throw new Error('--user and --password go together');
  }
  const auth: NonNullable<MarathonSimOptions['auth']> = {};
  if (values.user !== undefined && values.password !== undefined) {
    auth.basic = { user: values.user, password: values.password };
  }
  if (values.token !== undefined) auth.token = values.token;
  return {
    port: number('port', values.port),
    host: values.host,
    timeScale: number('time-scale', values['time-scale']),
    seed: number('seed', values.seed),
    shuffleEvents: !values['no-shuffle'],
    scenarios,
    ...(values['default-scenario'] !== undefined
      ? { defaultScenario: parseScenario(values['default-scenario']) }
      : {}),
    ...(auth.basic || auth.token !== undefined ? { auth } : {}),
    quiet: values.quiet,
  };
}

async function main(): Promise<void> {
  let options: ReturnType<typeof optionsFromArgs>;
  try {
    options = optionsFromArgs(process.argv.slice(2));
  } catch (err) {
    process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n\n${USAGE}\n`);
    process.exit(2);
  }
  const sim = await startMarathonSim(options);
  process.stdout.write(`Marathon simulator listening on ${sim.url} (time scale ${options.timeScale}x)\n`);
  if (!options.quiet) {
    const clock = (): string => new Date(sim.now()).toISOString();
    let logged = 0;
    const logRequests = setInterval(() => {
      for (; logged < sim.requests.length; logged++) {
        const r = sim.requests[logged];
        if (r) process.stdout.write(`${new Date(r.at).toISOString()} ${r.method} ${r.url}\n`);
      }
    }, 50);
    logRequests.unref();
    sim.events.on(
      'event',
      (e: { eventType: string; id?: unknown; reason?: unknown; taskStatus?: unknown }) => {
        if (e.eventType.startsWith('deployment_') || e.eventType === 'unhealthy_instance_kill_event') {
          const detail = [e.id, e.reason].filter((x) => typeof x === 'string').join(' ');
          process.stdout.write(`${clock()} event ${e.eventType} ${detail}\n`);
        }
      },
    );
  }
  const stop = (): void => {
    void sim.close().then(() => process.exit(0));
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  void main();
}
