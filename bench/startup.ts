/**
 * `npm run bench:startup`: cold-start time of each action bundle on a bad input (no network: the input is
 * rejected before anything else happens), under Node 24 (the runtime GitHub uses) and this machine's Node,
 * plus each bundle's size (the entry, and every file of it: the entry and the chunks it may load). The actions
 * run as GitHub runs them (GITHUB_ACTIONS=true); the CLI as on GitLab CI (GITLAB_CI=true), where it is used.
 * Median of N runs (default 21; BENCH_RUNS overrides).
 * Aims: under 150 ms and under 1 MB per bundle.
 */
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync, existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const runs = Number(process.env.BENCH_RUNS ?? 21);
const node24 = join(root, 'node_modules', 'node', 'bin', 'node');
const host = process.env.npm_node_execpath ?? '/usr/bin/node';

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] as number;
}

function time(
  node: string,
  bundle: string,
  args: string[] = [],
  platform: Record<string, string> = { GITHUB_ACTIONS: 'true' },
): { median: number; min: number; exit: number | null } {
  const env = {
    PATH: process.env.PATH,
    ...platform,
    INPUT_URL: 'http://127.0.0.1:9/',
    INPUT_TIMEOUT: 'abc',
  };
  const samples: number[] = [];
  let exit: number | null = null;
  spawnSync(node, [bundle, ...args], { env }); // warm the file cache
  for (let i = 0; i < runs; i++) {
    const t0 = process.hrtime.bigint();
    const r = spawnSync(node, [bundle, ...args], { env, encoding: 'utf8' });
    samples.push(Number(process.hrtime.bigint() - t0) / 1e6);
    exit = r.status;
  }
  return { median: median(samples), min: Math.min(...samples), exit };
}

const dist = join(root, 'dist');
const rows: string[] = [];
rows.push(`| bundle | entry | all files | Node 24 median (min) | host Node median (min) | exit |`);
rows.push(`| --- | --- | --- | --- | --- | --- |`);
for (const name of readdirSync(dist).sort()) {
  const bundle = join(dist, name, 'index.js');
  if (!existsSync(bundle)) continue;
  const size = statSync(bundle).size;
  const total = readdirSync(join(dist, name))
    .filter((f) => f.endsWith('.js'))
    .reduce((n, f) => n + statSync(join(dist, name, f)).size, 0);
  // The CLI is timed on `kiln smoke-test` with the same bad input given as a flag, as on GitLab CI.
  const cli = name === 'cli';
  const args = cli ? ['smoke-test', '--url', 'http://127.0.0.1:9/', '--timeout', 'abc'] : [];
  const platform = cli ? { GITLAB_CI: 'true', KILN_DOTENV: '/dev/null' } : undefined;
  const t24 = time(node24, bundle, args, platform);
  const th = time(host, bundle, args, platform);
  const fmt = (t: { median: number; min: number }) => `${t.median.toFixed(1)} ms (${t.min.toFixed(1)})`;
  const kib = (n: number) => `${(n / 1024).toFixed(0)} KiB`;
  rows.push(`| ${name} | ${kib(size)} | ${kib(total)} | ${fmt(t24)} | ${fmt(th)} | ${t24.exit} |`);
}
const base = time(node24, '-e', ['']);
process.stdout.write(
  `Cold start on a bad input (INPUT_TIMEOUT=abc), ${runs} runs each.\n` +
    `Baseline: bare \`node -e ''\` under Node 24 takes ${base.median.toFixed(1)} ms.\n\n${rows.join('\n')}\n`,
);
