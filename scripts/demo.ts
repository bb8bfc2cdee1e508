/**
 * `npm run demo`: a local slice of the pipeline with the bundled `kiln` CLI, nothing to install beyond `npm ci`:
 *
 *   1. a Marathon (the simulator from test/sim/marathon, at 60× speed) runs version 1 of the users' app;
 *   2. deploy-marathon deploys release 2, pinned by digest, and waits until it is healthy;
 *   3. smoke-test checks the new version (a local service that, like a fresh deploy, warms up first);
 *   4. deploy-marathon deploys release 3, whose tasks crash: Kiln sees the crash loop and rolls back to release 2.
 *
 * Registry steps (push-registry, promote) need a real registry and are shown by the tests instead.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startMarathonSim } from '../test/sim/marathon/server.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const cli = join(root, 'dist', 'cli', 'index.js');
const digest = (c: string) => `sha256:${c.repeat(64)}`;
const GOOD = digest('2');
const BAD = digest('3');

function banner(text: string): void {
  process.stdout.write(`\n\x1b[1m━━ ${text}\x1b[0m\n`);
}

function kiln(args: string[], cwd: string): Promise<number> {
  return new Promise((r) => {
    const child = spawn(process.execPath, [cli, ...args], {
      cwd,
      stdio: 'inherit',
      env: { ...process.env, KILN_PLATFORM: 'terminal', KILN_RELEASE_ID: '' },
    });
    child.on('close', (c) => r(c ?? 1));
  });
}

const sim = await startMarathonSim({
  timeScale: 60,
  scenarios: {
    [`registry.example.com/shop/app@${GOOD}`]: { kind: 'healthy', startSeconds: 5, healthySeconds: 10 },
    [`registry.example.com/shop/app@${BAD}`]: {
      kind: 'crash-loop',
      crashAfterSeconds: 8,
      message: 'Exit code 1: config error',
    },
  },
});
const warmupMs = 1500;
const started = Date.now();
const service = createServer((req, res) => {
  const up = Date.now() - started >= warmupMs;
  res.writeHead(up ? 200 : 503, { 'content-type': 'application/json' });
  res.end(up ? JSON.stringify({ status: 'UP', version: '2' }) : JSON.stringify({ status: 'STARTING' }));
});
await new Promise<void>((r) => service.listen(0, '127.0.0.1', r));
const serviceUrl = `http://127.0.0.1:${(service.address() as AddressInfo).port}`;

const dir = mkdtempSync(join(tmpdir(), 'kiln-demo-'));
// The users' QA app definition (scenario.md), with a lower-case id as Marathon requires.
writeFileSync(
  join(dir, 'qa-deploy.json'),
  JSON.stringify(
    {
      id: '/app-name',
      cpus: 2,
      mem: 2048.0,
      instances: 2,
      args: ['--spring.profiles.active=${ENV}'],
      labels: { HAPROXY_GROUP: 'external', HAPROXY_0_VHOST: 'xxx.example.com' },
      container: {
        type: 'DOCKER',
        docker: {
          image: 'registry.example.com/shop/app',
          network: 'USER',
          forcePullImage: true,
          portMappings: [{ containerPort: 12345, hostPort: 0, protocol: 'tcp', servicePort: 12345 }],
        },
        volumes: [{ containerPath: '/app/log', hostPath: '/home/logs/appName', mode: 'RW' }],
      },
      ipAddress: { networkName: 'calico-net' },
      healthChecks: [
        {
          gracePeriodSeconds: 300,
          intervalSeconds: 20,
          maxConsecutiveFailures: 3,
          path: '/health_check',
          portIndex: 0,
          protocol: 'HTTP',
          timeoutSeconds: 20,
        },
      ],
      uris: ['file:///etc/docker.tar.gz'],
    },
    null,
    2,
  ),
);
const deploy = (d: string, release: string) => [
  'deploy-marathon',
  '--marathon-url',
  `QA=${sim.url}`,
  '--app-definition',
  'qa-deploy.json',
  '--digest',
  d,
  '--vars',
  'ENV=qa',
  '--release-id',
  release,
  '--poll-interval',
  '200ms',
  '--timeout',
  '2m',
];

let code = 0;
try {
  process.stdout.write(`Marathon simulator at ${sim.url} (60× speed); app service at ${serviceUrl}.\n`);
  banner('1. Release 1 is running');
  code = await kiln(deploy(digest('1'), '1'), dir);
  banner('2. Deploy release 2, pinned by digest, and wait until healthy');
  code ||= await kiln(deploy(GOOD, '2'), dir);
  banner('3. Smoke-test the new version');
  code ||= await kiln(
    ['smoke-test', '--url', `${serviceUrl}/health_check`, '--interval', '500ms', '--deadline', '30s'],
    dir,
  );
  banner('4. Deploy release 3, which crash-loops: Kiln rolls back to release 2');
  const bad = await kiln(deploy(BAD, '3'), dir);
  const app = sim.app('/app-name');
  const image = (app?.definition as { container?: { docker?: { image?: string } } } | undefined)?.container
    ?.docker?.image;
  process.stdout.write(
    `\nrelease 3 exited with ${bad} (expected: non-zero); Marathon now runs\n  ${image}\n`,
  );
  if (bad === 0 || !image?.endsWith(GOOD)) code ||= 1;
  banner(
    code === 0
      ? 'Demo finished: deployed, verified, and a bad release rolled back'
      : `Demo failed (exit ${code})`,
  );
} finally {
  service.close();
  await sim.close();
  rmSync(dir, { recursive: true, force: true });
}
process.exitCode = code;
