/**
 * `npm run demo`: the local end-to-end demo. Today it is the verification step of the pipeline only: a local
 * service that, like a version that has just been deployed, answers 503 for its first seconds and then 200,
 * and the bundled `kiln smoke-test` waiting for it to become healthy. Later waves extend it to the whole
 * pipeline (bake → push → deploy to QA → smoke-test → promote → deploy to prod → rollback).
 */
import { spawn } from 'node:child_process';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join, resolve } from 'node:path';

const root = resolve(import.meta.dirname, '..');
const warmupMs = Number(process.env.DEMO_WARMUP_MS ?? 3000);
const started = Date.now();
const server = createServer((req, res) => {
  const up = Date.now() - started >= warmupMs;
  if (!up) {
    res.writeHead(503, { 'content-type': 'text/plain', 'retry-after': '1' });
    res.end('starting');
    return;
  }
  if (req.url === '/health_check') {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end('{"status":"UP"}');
  } else if (req.url === '/api/version') {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end('{"version":"1.4.2"}');
  } else {
    res.writeHead(404);
    res.end();
  }
});
await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
process.stdout.write(`Demo service "deployed" at ${base}; it becomes healthy after ${warmupMs / 1000}s.\n\n`);

const child = spawn(
  process.execPath,
  [
    join(root, 'dist', 'cli', 'index.js'),
    'smoke-test',
    '--url',
    `${base}/health_check`,
    '--url',
    `${base}/api/version`,
    '--interval',
    '1s',
    '--deadline',
    '30s',
  ],
  { stdio: 'inherit', env: { ...process.env, KILN_PLATFORM: 'terminal' } },
);
const code: number = await new Promise((r) => child.on('close', (c) => r(c ?? 1)));
server.close();
process.stdout.write(`\nkiln smoke-test exited with ${code}.\n`);
process.exitCode = code;
