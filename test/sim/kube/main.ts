/**
 * Runs the Kubernetes simulator standalone:
 *
 *   npx tsx test/sim/kube/main.ts --port 8443
 *   KUBECONFIG=<the path it prints> kubectl get nodes
 *
 * Prints the URL and a kubeconfig path, logs one line per request (unless --quiet), runs until SIGTERM / SIGINT.
 */
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import type { PodScenario } from './scenarios.js';
import { parseScenarioAssignment } from './scenarios.js';
import type { KubeSimOptions } from './server.js';
import { startKubeSim } from './server.js';

const USAGE = `Usage: tsx test/sim/kube/main.ts [options]
  --port <n>                 listen port (default 8443; 0 = ephemeral)
  --host <addr>              listen address (default 127.0.0.1)
  --time-scale <n>           simulated seconds per real second (default 1)
  --nodes <n>                number of nodes (default 3; 4 CPUs, 16Gi each)
  --tls                      serve https with a generated CA (written into the kubeconfig)
  --client-certs             with --tls: accept client certificates; the kubeconfig carries one
  --token <t>                require 'Authorization: Bearer <t>'
  --read-only-token <t>      a token that may only get, list and watch
  --scenario <image=kind>    repeatable; kind[:key=value,...], e.g.
                             'reg/app:2=crash-loop:crashAfterSeconds=5,message=boom'
                             'reg/app=healthy:readySeconds=30'
                             kinds: healthy, crash-loop, oom, image-pull-error, never-ready, fail
  --kubeconfig <path>        where to write the kubeconfig (default: a temp file)
  --quiet                    do not log requests
Without a scenario an image's name decides: 'crash' crash-loops, 'oom' is OOMKilled, 'nosuch' or a '.invalid'
registry fails to pull, 'unready' never becomes ready, 'fail' exits 1; anything else is healthy.`;

export function optionsFromArgs(
  argv: string[],
): KubeSimOptions & { quiet: boolean; kubeconfig: string | undefined } {
  const { values } = parseArgs({
    args: argv,
    options: {
      port: { type: 'string', default: '8443' },
      host: { type: 'string', default: '127.0.0.1' },
      'time-scale': { type: 'string', default: '1' },
      nodes: { type: 'string', default: '3' },
      tls: { type: 'boolean', default: false },
      'client-certs': { type: 'boolean', default: false },
      token: { type: 'string' },
      'read-only-token': { type: 'string' },
      scenario: { type: 'string', multiple: true, default: [] },
      kubeconfig: { type: 'string' },
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
  const scenarios: Record<string, PodScenario> = {};
  for (const spec of values.scenario) {
    const { image, scenario } = parseScenarioAssignment(spec);
    scenarios[image] = scenario;
  }
  if (values['client-certs'] && !values.tls) throw new Error('--client-certs needs --tls');
  return {
    port: number('port', values.port),
    host: values.host,
    timeScale: number('time-scale', values['time-scale']),
    nodes: number('nodes', values.nodes),
    tls: values.tls,
    clientCertificates: values['client-certs'],
    ...(values.token !== undefined ? { token: values.token } : {}),
    ...(values['read-only-token'] !== undefined ? { readOnlyToken: values['read-only-token'] } : {}),
    scenarios,
    quiet: values.quiet,
    kubeconfig: values.kubeconfig,
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
  const sim = await startKubeSim(options);
  const path = sim.writeKubeconfig(options.kubeconfig ? { path: resolve(options.kubeconfig) } : {});
  process.stdout.write(
    `Kubernetes simulator (v1.32) listening on ${sim.url} (time scale ${options.timeScale}x)\n`,
  );
  process.stdout.write(`kubeconfig: ${path}\n  export KUBECONFIG=${path}\n  kubectl get nodes\n`);
  if (!options.quiet) {
    let logged = 0;
    const logRequests = setInterval(() => {
      for (; logged < sim.requests.length; logged++) {
        const r = sim.requests[logged];
        if (r)
          process.stdout.write(`${new Date(r.at).toISOString()} ${r.method} ${r.url} ${r.status ?? ''}\n`);
      }
    }, 100);
    logRequests.unref();
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
