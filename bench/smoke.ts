/**
 * `npm run bench:smoke`: 200 checks against a local server, measured side by side in one run.
 *
 *   kiln @16   `kiln smoke-test --checks <200 checks> --concurrency 16` (the bundled CLI, a fresh process)
 *   kiln @1    the same with --concurrency 1 (what each check costs Kiln, one after another)
 *   kiln x1    one check only (process start-up + one request: subtracted to get the per-check cost)
 *   curl loop  200 `curl` runs one after another (what a shell script does)
 *   curl @16   200 `curl` runs, 16 at a time (xargs -P 16)
 *
 * Each check asserts the status and a JSONPath, as a real smoke test would; curl only gets the status. The
 * server runs in its own process so it does not share Kiln's event loop. BENCH_ROUNDS (default 3) rounds; the
 * median is reported.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
// The CLI bundle, and the Node that runs it (Node 24, the actions' runtime, unless BENCH_NODE says otherwise).
import { cli, node } from './lib/harness.js';

const rounds = Number(process.env.BENCH_ROUNDS ?? 3);
const N = 200;

const serverCode = `
const http = require('node:http');
const body = JSON.stringify({ status: 'UP', version: '1.2.3' });
const s = http.createServer((req, res) => { res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) }); res.end(body); });
s.keepAliveTimeout = 5000;
s.listen(0, '127.0.0.1', () => console.log(s.address().port));
`;

async function startServer(): Promise<{ url: string; stop: () => void }> {
  const child = spawn(node, ['-e', serverCode], { stdio: ['ignore', 'pipe', 'inherit'] });
  const port = await new Promise<string>((r) =>
    child.stdout.once('data', (d: Buffer) => r(d.toString().trim())),
  );
  return { url: `http://127.0.0.1:${port}`, stop: () => child.kill() };
}

function time(cmd: string, args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): number {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(cmd, args, {
    cwd: opts.cwd,
    env: opts.env ?? process.env,
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  if (r.status !== 0)
    throw new Error(
      `${cmd} ${args.slice(0, 3).join(' ')} exited ${r.status}: ${r.stderr?.toString().slice(0, 500)}`,
    );
  return ms;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;

const server = await startServer();
try {
  const dir = mkdtempSync(join(tmpdir(), 'kiln-bench-smoke-'));
  const checks = (n: number) =>
    `defaults: { baseUrl: ${server.url} }\nchecks:\n` +
    Array.from(
      { length: n },
      (_, i) =>
        `  - { name: c${i}, url: "/health?i=${i}", expect: { status: 200, jsonpath: { $.status: UP } } }`,
    ).join('\n') +
    '\n';
  writeFileSync(join(dir, 'checks.yml'), checks(N));
  writeFileSync(join(dir, 'one.yml'), checks(1));
  const urls = Array.from({ length: N }, (_, i) => `${server.url}/health?i=${i}`);
  const env = { PATH: process.env.PATH, HOME: process.env.HOME, KILN_PLATFORM: 'terminal', NO_COLOR: '1' };
  const kiln = (file: string, concurrency: number) =>
    time(
      node,
      [
        cli,
        'smoke-test',
        '--checks',
        file,
        '--concurrency',
        String(concurrency),
        '--report-dir',
        join(dir, 'out'),
      ],
      { cwd: dir, env },
    );
  const curlArgs = ['-s', '-o', '/dev/null', '-w', '%{http_code}\\n', '--fail'];

  const samples: Record<string, number[]> = {
    'kiln @16': [],
    'kiln @1': [],
    'kiln x1': [],
    'curl loop': [],
    'curl @16': [],
  };
  kiln('one.yml', 1); // warm the file cache
  for (let r = 0; r < rounds; r++) {
    samples['kiln @16']!.push(kiln('checks.yml', 16));
    samples['kiln @1']!.push(kiln('checks.yml', 1));
    samples['kiln x1']!.push(kiln('one.yml', 1));
    const t0 = process.hrtime.bigint();
    for (const u of urls) {
      const c = spawnSync('curl', [...curlArgs, u]);
      if (c.status !== 0) throw new Error(`curl failed: ${c.stderr}`);
    }
    samples['curl loop']!.push(Number(process.hrtime.bigint() - t0) / 1e6);
    const t1 = process.hrtime.bigint();
    const x = spawnSync('xargs', ['-P', '16', '-n', '1', 'curl', ...curlArgs], {
      input: urls.join('\n') + '\n',
    });
    if (x.status !== 0) throw new Error(`xargs curl failed: ${x.stderr}`);
    samples['curl @16']!.push(Number(process.hrtime.bigint() - t1) / 1e6);
  }

  const m = Object.fromEntries(Object.entries(samples).map(([k, v]) => [k, median(v)]));
  const perCheckKiln = (m['kiln @1']! - m['kiln x1']!) / (N - 1);
  const perCheckCurl = m['curl loop']! / N;
  const rows = [
    ['kiln smoke-test, 200 checks, concurrency 16', m['kiln @16']!],
    ['kiln smoke-test, 200 checks, concurrency 1', m['kiln @1']!],
    ['kiln smoke-test, 1 check (start-up + 1 request)', m['kiln x1']!],
    ['curl, 200 runs one after another', m['curl loop']!],
    ['curl, 200 runs, 16 at a time (xargs -P 16)', m['curl @16']!],
  ];
  process.stdout.write(
    `bench/smoke: ${N} checks (status + JSONPath) against a local server, median of ${rounds} round(s)\n\n` +
      `| run | wall time |\n| --- | --- |\n` +
      rows.map(([k, v]) => `| ${k} | ${(v as number).toFixed(0)} ms |`).join('\n') +
      `\n\nKiln's cost per check (sequential, start-up excluded): ${perCheckKiln.toFixed(2)} ms` +
      `\ncurl's cost per check (a process per request):            ${perCheckCurl.toFixed(2)} ms` +
      `\nratio curl/kiln per check: ${(perCheckCurl / perCheckKiln).toFixed(1)}x;` +
      ` wall time at 16: curl@16 / kiln@16 = ${(m['curl @16']! / m['kiln @16']!).toFixed(2)}x, curl loop / kiln@16 = ${(m['curl loop']! / m['kiln @16']!).toFixed(1)}x\n`,
  );
} finally {
  server.stop();
}
