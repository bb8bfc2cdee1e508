/**
 * `npm run bench:startup [-- --dist DIR]`: how fast each bundle starts, as a ratio to a bare `node -e 0` measured
 * side by side in the same run (bare, bundle, bare, bundle…: load on the machine hits both alike), under Node 24
 * (the runtime GitHub runs the actions with; the `node` dev dependency) and this machine's Node (20).
 *
 * - bad input: the whole run, start to exit, on an input rejected before anything else happens (`timeout: abc`);
 * - `--help`: the CLI's `kiln promote --help`, start to exit;
 * - first request: from start until a local TCP server sees the bundle's first connection (smoke-test on a valid
 *   `url`; push-registry and promote with a registry there; deploy-marathon with `marathon-url` there and a small
 *   valid app definition; the CLI's `kiln smoke-test --url`), then the bundle is killed.
 *
 * Actions run as GitHub runs them (GITHUB_ACTIONS=true), the CLI as on GitLab CI (GITLAB_CI=true). A ratio is the
 * median over runs of (bundle ÷ the bare run beside it); the milliseconds are medians. BENCH_RUNS (default 21)
 * runs per cell; `--dist DIR` (or BENCH_DIST) times scratch bundles instead of the committed dist/; BENCH_ONLY=a,b
 * times only those bundles.
 *
 * Aim (issue #10 "Start fast"): every ratio ≤ 2.0, on both Nodes.
 *
 * Measured on a 2-core machine shared with other builds (load average 1.3-3), BENCH_RUNS=21-31; ratios as
 * Node 24/Node 20 (bare `node -e 0`: 22-24 ms / 20-23 ms), before → after:
 *
 *   | bundle          | bad input              | --help                 | first request          |
 *   | --------------- | ---------------------- | ---------------------- | ---------------------- |
 *   | push-registry   | 3.19/3.34 → 1.41/1.58  |                        | 3.21/3.38 → 1.83/2.08  |
 *   | promote         | 3.12/3.24 → 1.37/1.57  |                        | 3.05/3.31 → 1.81/2.08  |
 *   | deploy-marathon | 3.16/3.34 → 1.30/1.58  |                        | 3.09/3.33 → 1.90/2.16  |
 *   | smoke-test      | 3.70/4.08 → 1.41/1.56  |                        | 3.65/3.97 → 1.71/1.91  |
 *   | cli             | 2.63/2.71 → 1.37/1.56  | 1.95/2.00 → 1.58/1.72  | 2.69/2.81 → 1.79/2.04  |
 *
 * Before (a scratch build of 2f04445): every module was evaluated at start, and @actions/core (with
 * @actions/http-client and undici) on GitHub. After: the entry holds the lifecycle only; each action's run.ts,
 * and the parsers, engines and Node built-ins it needs, load when it runs. Still above the aim: the first request
 * under Node 20 (2.0-2.2), whose bare start is the faster one. An https target adds Node's TLS stack (~10 ms)
 * to the first request: the price of any TLS connection.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const runs = Number(process.env.BENCH_RUNS ?? 21);
const distArg = process.argv.indexOf('--dist');
const dist = resolve(
  distArg >= 0 ? process.argv[distArg + 1]! : (process.env.BENCH_DIST ?? join(root, 'dist')),
);
const version = (bin: string) => spawnSync(bin, ['-v'], { encoding: 'utf8' }).stdout.trim();
const nodes = [
  join(root, 'node_modules', 'node', 'bin', 'node'),
  process.env.npm_node_execpath ?? '/usr/bin/node',
].map((bin) => ({ label: `Node ${version(bin)}`, bin }));

// ---------------------------------------------------------------------------------------------------------
// A local TCP server that notes when each connection arrives (and never answers: the bundle is killed then).

const server = createServer();
let onConnection: ((at: bigint) => void) | undefined;
server.on('connection', (socket) => {
  const at = process.hrtime.bigint();
  socket.on('error', () => undefined);
  socket.destroy();
  onConnection?.(at);
  onConnection = undefined;
});
await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
const port = (server.address() as AddressInfo).port;
const origin = `127.0.0.1:${port}`;

// ---------------------------------------------------------------------------------------------------------
// One timed run.

interface Run {
  args: string[];
  env: Record<string, string>;
  /** Time until the first connection (then kill), instead of until exit. */
  untilRequest?: boolean;
}

interface Sample {
  ms: number;
  exit: number | null;
}

const work = mkdtempSync(join(tmpdir(), 'kiln-bench-startup-'));

function once(node: string, run: Run): Promise<Sample> {
  return new Promise((done, fail) => {
    const env = { PATH: process.env.PATH ?? '', HOME: work, ...run.env };
    let requestAt: bigint | undefined;
    const t0 = process.hrtime.bigint();
    const child = spawn(node, run.args, { env, cwd: work, stdio: 'ignore' });
    // The first connection is noted and the bundle killed; the run ends when it has exited (so that nothing of
    // it can reach the server during the next run).
    if (run.untilRequest)
      onConnection = (at) => {
        requestAt = at;
        child.kill('SIGKILL');
      };
    const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    child.on('exit', (code) => {
      clearTimeout(timer);
      onConnection = undefined;
      const what = run.args.slice(1).join(' ') || run.args.join(' ');
      if (run.untilRequest && requestAt === undefined)
        fail(new Error(`no request from ${what} (exit ${code}): ${JSON.stringify(run.env)}`));
      else if (run.untilRequest) done({ ms: Number(requestAt! - t0) / 1e6, exit: null });
      else done({ ms: Number(process.hrtime.bigint() - t0) / 1e6, exit: code });
    });
  });
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

interface Cell {
  ratio: number;
  ms: number;
  bare: number;
  exit: number | null;
}

/** `runs` pairs, bare then bundle, after one unmeasured run of each (file cache). */
async function measure(node: string, run: Run): Promise<Cell> {
  const bare: Run = { args: ['-e', '0'], env: {} };
  await once(node, bare);
  await once(node, run);
  const ratios: number[] = [];
  const ms: number[] = [];
  const bares: number[] = [];
  let exit: number | null = null;
  for (let i = 0; i < runs; i++) {
    const b = await once(node, bare);
    const s = await once(node, run);
    ratios.push(s.ms / b.ms);
    ms.push(s.ms);
    bares.push(b.ms);
    exit = s.exit;
  }
  return { ratio: median(ratios), ms: median(ms), bare: median(bares), exit };
}

// ---------------------------------------------------------------------------------------------------------
// What each bundle is asked to do.

const github = { GITHUB_ACTIONS: 'true', GITHUB_WORKSPACE: work, RUNNER_TEMP: work };
const gitlab = { GITLAB_CI: 'true', CI_PROJECT_DIR: work, KILN_DOTENV: join(work, 'kiln.env') };
const appDefinition = join(work, 'app.json');
writeFileSync(
  appDefinition,
  JSON.stringify({
    id: '/bench/app',
    instances: 1,
    cpus: 0.1,
    mem: 64,
    container: { type: 'DOCKER', docker: { image: 'registry.example.com/app:1' } },
  }),
);
const digest = `sha256:${'a'.repeat(64)}`;

/** The first request each action makes, at the local server. */
const firstRequest: Record<string, Record<string, string>> = {
  'smoke-test': { INPUT_URL: `http://${origin}/health`, INPUT_DEADLINE: '30s' },
  'push-registry': {
    INPUT_SOURCE: `docker://${origin}/src/app:1`,
    INPUT_DESTINATIONS: `${origin}/dst/app:1`,
  },
  promote: { INPUT_SOURCE: `${origin}/src/app:1`, INPUT_TAGS: '2' },
  'deploy-marathon': {
    'INPUT_MARATHON-URL': `http://${origin}`,
    'INPUT_APP-DEFINITION': appDefinition,
    INPUT_IMAGE: 'registry.example.com/app:1',
    INPUT_DIGEST: digest,
  },
  'bake-image': {
    INPUT_BUILDER: 'layer-append',
    INPUT_BASE: `${origin}/base:1`,
    INPUT_LAYERS: dirname(appDefinition),
    INPUT_REPOSITORY: `${origin}/app`,
    INPUT_TAGS: 'type=raw,value=1',
  },
};

interface Row {
  bundle: string;
  entry: number;
  total: number;
  cells: Record<string, Record<string, Cell | undefined>>;
}

const scenarios = ['bad input', '--help', 'first request'] as const;

function runsFor(name: string, bundle: string): Partial<Record<(typeof scenarios)[number], Run>> {
  if (name === 'cli')
    return {
      'bad input': {
        args: [bundle, 'smoke-test', '--url', `http://${origin}/`, '--timeout', 'abc'],
        env: gitlab,
      },
      '--help': { args: [bundle, 'promote', '--help'], env: gitlab },
      'first request': {
        args: [bundle, 'smoke-test', '--url', `http://${origin}/health`],
        env: gitlab,
        untilRequest: true,
      },
    };
  return {
    'bad input': { args: [bundle], env: { ...github, ...firstRequest[name], INPUT_TIMEOUT: 'abc' } },
    'first request': firstRequest[name]
      ? { args: [bundle], env: { ...github, ...firstRequest[name] }, untilRequest: true }
      : undefined,
  };
}

const rows: Row[] = [];
const only = process.env.BENCH_ONLY?.split(',').filter(Boolean);
for (const name of readdirSync(dist).sort()) {
  const bundle = join(dist, name, 'index.js');
  if (!existsSync(bundle) || (only && !only.includes(name))) continue;
  const files = readdirSync(join(dist, name)).filter((f) => f.endsWith('.js'));
  const row: Row = {
    bundle: name,
    entry: statSync(bundle).size,
    total: files.reduce((n, f) => n + statSync(join(dist, name, f)).size, 0),
    cells: {},
  };
  const todo = runsFor(name, bundle);
  for (const node of nodes) {
    row.cells[node.label] = {};
    for (const s of scenarios) {
      const run = todo[s];
      if (run) row.cells[node.label]![s] = await measure(node.bin, run);
    }
  }
  rows.push(row);
  process.stderr.write(`${name} done\n`);
}
server.close();

// ---------------------------------------------------------------------------------------------------------
// Report.

const kib = (n: number) => `${(n / 1024).toFixed(0)} KiB`;
const fmt = (c: Cell | undefined) =>
  c === undefined
    ? '—'
    : `**${c.ratio.toFixed(2)}×** ${c.ms.toFixed(0)} ms${c.exit !== null ? ` (exit ${c.exit})` : ''}`;
const header = ['bundle', 'entry', 'all files'];
for (const n of nodes) for (const s of scenarios) header.push(`${n.label}: ${s}`);
const lines = [`| ${header.join(' | ')} |`, `| ${header.map(() => '---').join(' | ')} |`];
for (const r of rows) {
  const cells = [r.bundle, kib(r.entry), kib(r.total)];
  for (const n of nodes) for (const s of scenarios) cells.push(fmt(r.cells[n.label]?.[s]));
  lines.push(`| ${cells.join(' | ')} |`);
}
const bareOf = (label: string) =>
  median(rows.flatMap((r) => Object.values(r.cells[label] ?? {}).flatMap((c) => (c ? [c.bare] : []))));
const worst = Math.max(
  ...rows.flatMap((r) => Object.values(r.cells).flatMap((c) => Object.values(c).map((x) => x?.ratio ?? 0))),
);
process.stdout.write(
  `Start-up of ${dist}, ${runs} interleaved runs per cell: ratio to a bare \`node -e 0\` beside it (median), and the bundle's median time.\n` +
    `Bare node -e 0: ${nodes.map((n) => `${n.label} ${bareOf(n.label).toFixed(1)} ms`).join(', ')}. Aim: every ratio ≤ 2.0 (worst here: ${worst.toFixed(2)}).\n\n` +
    `${lines.join('\n')}\n`,
);
