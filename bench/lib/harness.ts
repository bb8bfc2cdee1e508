/**
 * Shared pieces of the registry benchmarks (bench/promote.ts, bench/push.ts): cleanup on exit and on signals,
 * timing and medians, formatting, skopeo runs, and Kiln runs the way users run it (the bundled CLI when it
 * knows the action, else the same engine in-process, which the output says).
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { closeHttpPools } from '../../packages/core/src/http/http.js';
import { openImageSource } from '../../packages/core/src/image/source/index.js';
import { parseImageReference } from '../../packages/core/src/image/reference.js';
import { MemoryLogger } from '../../packages/core/src/platform/logger.js';
import {
  copyImage,
  localImageSource,
  pushImage,
  RegistryClient,
  type CopyResult,
} from '../../packages/core/src/registry/index.js';
import { createSkopeo, type Skopeo } from '../../test/sim/registry/skopeo.js';
import { removeDir } from '../../test/sim/registry/util.js';

export const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
/** Node 24, the runtime GitHub runs the actions with (the `node` dev dependency), when installed. */
const node24 = join(root, 'node_modules', 'node', 'bin', 'node');
/** The Node that runs the CLI: BENCH_NODE, else Node 24 (what the actions run on), else the one running npm. */
export const node =
  process.env.BENCH_NODE ??
  (existsSync(node24) ? node24 : (process.env.npm_node_execpath ?? process.execPath));
export const cli = join(root, 'dist', 'cli', 'index.js');

// ---------------------------------------------------------------------------------------------------------
// Cleanup

const cleanups: Array<() => Promise<unknown>> = [];

/** Registers `fn` to run at the end (last registered runs first), on success, error or signal. */
export function defer(fn: () => Promise<unknown>): void {
  cleanups.push(fn);
}

async function runCleanups(): Promise<void> {
  while (cleanups.length > 0) {
    const fn = cleanups.pop()!;
    await fn().catch((err: unknown) => console.error(`cleanup failed: ${String(err)}`));
  }
}

/** A temp dir removed at the end. */
export async function tempDir(prefix: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  defer(() => removeDir(dir));
  return dir;
}

/**
 * Runs `main`, then every cleanup; SIGINT/SIGTERM also run the cleanups (exit 130/143). Sets the exit code
 * to 1 on an error.
 */
export async function benchMain(main: () => Promise<void>): Promise<void> {
  let signalled = false;
  const onSignal = (sig: NodeJS.Signals) => {
    if (signalled) return;
    signalled = true;
    console.error(`\n${sig}: cleaning up`);
    void runCleanups().finally(() => process.exit(sig === 'SIGINT' ? 130 : 143));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    await main();
  } catch (err) {
    console.error(err instanceof Error ? (err.stack ?? err.message) : String(err));
    process.exitCode = 1;
  } finally {
    await runCleanups();
    await closeHttpPools();
  }
}

// ---------------------------------------------------------------------------------------------------------
// Numbers

export const now = (): number => Number(process.hrtime.bigint()) / 1e6;

export function median(xs: readonly number[]): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

export function fmtMs(ms: number): string {
  if (!Number.isFinite(ms)) return 'n/a';
  if (Math.round(ms) < 1000) return `${Math.round(ms)} ms`;
  return `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)} s`;
}

export function fmtBytes(n: number): string {
  if (!Number.isFinite(n)) return 'n/a';
  if (n === 0) return '0 B';
  if (n < 1024) return `${n} B`;
  if (n < 1024 ** 2) return `${(n / 1024).toFixed(1)} KiB`;
  if (n < 1024 ** 3) return `${(n / 1024 ** 2).toFixed(1)} MiB`;
  return `${(n / 1024 ** 3).toFixed(2)} GiB`;
}

export const fmtRatio = (r: number): string => (Number.isFinite(r) ? `${r.toFixed(r < 10 ? 2 : 1)}×` : 'n/a');

/** "12" or "12–14" when the samples differ. */
export function fmtRange(xs: readonly number[], fmt: (n: number) => string = String): string {
  if (xs.length === 0) return 'n/a';
  const lo = Math.min(...xs);
  const hi = Math.max(...xs);
  return lo === hi ? fmt(lo) : `${fmt(lo)}–${fmt(hi)}`;
}

/** A markdown table. */
export function table(head: string[], rows: string[][]): string {
  const line = (cells: string[]) => `| ${cells.join(' | ')} |`;
  return [line(head), line(head.map(() => '---')), ...rows.map(line)].join('\n');
}

export const mark = (ok: boolean): string => (ok ? '✓' : '✗');

// ---------------------------------------------------------------------------------------------------------
// Child processes

/** Runs a program (argument array, no shell), resolves with its output; rejects on a non-zero exit. */
export function run(
  file: string,
  args: string[],
  opts: { env?: NodeJS.ProcessEnv; cwd?: string; timeoutMs?: number } = {},
): Promise<{ stdout: string; stderr: string; ms: number }> {
  return new Promise((resolvePromise, reject) => {
    const t0 = now();
    const child = spawn(file, args, {
      env: opts.env ?? process.env,
      cwd: opts.cwd,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (d: Buffer) => out.push(d));
    child.stderr.on('data', (d: Buffer) => err.push(d));
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 15 * 60_000);
    child.once('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      const ms = now() - t0;
      const stdout = Buffer.concat(out).toString();
      const stderr = Buffer.concat(err).toString();
      if (code === 0) resolvePromise({ stdout, stderr, ms });
      else
        reject(
          new Error(
            `${file} ${args.join(' ')} exited ${String(code ?? signal)}:\n${(stderr || stdout).slice(-2000)}`,
          ),
        );
    });
  });
}

/** Median cold start of the bundled CLI (`node dist/cli/index.js --version`), or undefined without a bundle. */
export function cliStartupMs(runs = 7): number | undefined {
  if (!existsSync(cli)) return undefined;
  const samples: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = now();
    const r = spawnSync(node, [cli, '--version'], { stdio: 'ignore' });
    if (r.status !== 0) return undefined;
    samples.push(now() - t0);
  }
  return median(samples);
}

/** `node --version` of the Node that runs the CLI. */
export function cliNodeVersion(): string {
  const r = spawnSync(node, ['--version'], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : 'unknown';
}

/** The 1-minute load average, for the report (the numbers are only as good as the machine was quiet). */
export const load = (): string => loadavg()[0]!.toFixed(2);

// ---------------------------------------------------------------------------------------------------------
// skopeo

/** The flags every skopeo copy of the benchmarks uses (keep every platform and the exact digests). */
export const SKOPEO_COPY = [
  'copy',
  '--all',
  '--preserve-digests',
  '--src-tls-verify=false',
  '--dest-tls-verify=false',
];

export interface Timed {
  ms: number;
}

/** An isolated skopeo (own HOME and auth file; see test/sim/registry/skopeo.ts). */
export async function benchSkopeo(): Promise<Skopeo & { copy(src: string, dst: string): Promise<Timed> }> {
  const skopeo = await createSkopeo();
  defer(() => skopeo.close());
  return {
    ...skopeo,
    copy: async (src, dst) => {
      const t0 = now();
      await skopeo.run([...SKOPEO_COPY, src, dst], { timeoutMs: 15 * 60_000 });
      return { ms: now() - t0 };
    },
  };
}

/** skopeo's version line, for the report. */
export function skopeoVersion(): string {
  const r = spawnSync('skopeo', ['--version'], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : 'skopeo (version unknown)';
}

// ---------------------------------------------------------------------------------------------------------
// Kiln

export interface KilnRun extends Timed {
  /** Kiln's own account: 'pushed' / 'unchanged', and blobs mounted / uploaded / present, requests. */
  action?: string;
  detail?: string;
}

export interface KilnRunner {
  mode: 'cli' | 'in-process';
  /** One line for the report: how Kiln is run. */
  how: string;
  run(source: string, target: string): Promise<KilnRun>;
}

/** The CLI's flag names for `action`, when `dist/cli/index.js` knows the action; else why not. */
function cliFlags(
  action: string,
  sourceFlags: string[],
  targetFlags: string[],
): { source: string; targets: string } | { why: string } {
  if (!existsSync(cli)) return { why: 'dist/cli/index.js does not exist' };
  const help = spawnSync(node, [cli, 'help'], { encoding: 'utf8' });
  if (!new RegExp(`^\\s+${action}\\s`, 'm').test(help.stdout ?? '')) {
    return { why: `\`node dist/cli/index.js help\` does not list \`${action}\` yet` };
  }
  const own = spawnSync(node, [cli, action, '--help'], { encoding: 'utf8' });
  const text = `${own.stdout ?? ''}\n${own.stderr ?? ''}`;
  const has = (flag: string) => new RegExp(`(^|\\s)${flag}(\\s|=|,|$)`, 'm').test(text);
  const source = sourceFlags.find(has);
  const targets = targetFlags.find(has);
  if (!source || !targets) {
    return {
      why: `\`kiln ${action} --help\` has none of ${[...sourceFlags, ...targetFlags].join(', ')} as expected`,
    };
  }
  return { source, targets };
}

/** Environment of a Kiln CLI run: no credentials, no CI variables, terminal platform. */
async function cliEnv(): Promise<NodeJS.ProcessEnv> {
  const home = await tempDir('kiln-bench-home-');
  await writeFile(join(home, 'config.json'), JSON.stringify({ auths: {} }));
  return {
    PATH: process.env.PATH,
    HOME: home,
    DOCKER_CONFIG: home,
    KILN_PLATFORM: 'terminal',
    NO_COLOR: '1',
  };
}

/** An in-process RegistryClient isolated from this machine's docker config and CI variables. */
async function inProcessClient(): Promise<() => RegistryClient> {
  const home = await tempDir('kiln-bench-home-');
  await writeFile(join(home, 'config.json'), JSON.stringify({ auths: {} }));
  return () =>
    new RegistryClient({
      logger: new MemoryLogger(false),
      env: { PATH: process.env.PATH, HOME: home },
      dockerConfigDir: home,
    });
}

function describeResult(r: CopyResult): Pick<KilnRun, 'action' | 'detail'> {
  const d = r.destinations[0]!;
  return {
    action: d.action,
    detail: `${d.blobsMounted} mounted, ${d.blobsUploaded} uploaded, ${d.blobsSkipped} present, ${d.requests} requests`,
  };
}

/** The same engine the action runs, in-process (a fresh RegistryClient and connection pool per run). */
export async function kilnInProcess(action: 'promote' | 'push-registry', why?: string): Promise<KilnRunner> {
  const client = await inProcessClient();
  const engine = action === 'promote' ? 'copyImage' : 'pushImage(localImageSource(openImageSource(…)))';
  return {
    mode: 'in-process',
    how: why
      ? `IN-PROCESS \`${engine}\` from packages/core (a fresh RegistryClient and connection pool per run), because ${why}; no process start-up is included`
      : `\`${engine}\` in-process (engine only: no process start-up; a fresh RegistryClient and connection pool per run)`,
    run: async (source, target) => {
      const t0 = now();
      let result: CopyResult;
      if (action === 'promote') {
        result = await copyImage(parseImageReference(source), [parseImageReference(target)], {
          client: client(),
        });
      } else {
        const image = await openImageSource(source);
        try {
          result = await pushImage(localImageSource(image), [parseImageReference(target)], {
            client: client(),
          });
        } finally {
          await image.close();
        }
      }
      const ms = now() - t0;
      await closeHttpPools();
      return { ms, ...describeResult(result) };
    },
  };
}

/** Kiln's own account of one destination, from the CLI's `results` output. */
function describeCliResults(stdout: string): Pick<KilnRun, 'action' | 'detail'> {
  try {
    const outputs = JSON.parse(stdout) as { results?: string };
    const d = (JSON.parse(outputs.results ?? '[]') as Array<Record<string, unknown>>)[0];
    if (!d) return {};
    return {
      action: String(d.action),
      detail: `${String(d.mounted)} mounted, ${String(d.uploaded)} uploaded, ${String(d.skipped)} present, ${String(d.requests)} requests`,
    };
  } catch {
    return {};
  }
}

/**
 * How to run Kiln for `action` ('promote': source is an image reference; 'push-registry': source is
 * `oci:<dir>:<tag>`): the bundled CLI when `node dist/cli/index.js help` lists the action and its --help has the
 * flags (promote: --source/--targets; push-registry: --source/--destinations, as declared in
 * actions/<name>/src/action.ts). `probe` is a move to try the CLI on once; if the CLI fails on it, the engine is
 * run in-process and `how` says why.
 */
export async function kilnRunner(
  action: 'promote' | 'push-registry',
  probe?: () => { source: string; target: string },
): Promise<KilnRunner> {
  const flags =
    action === 'promote'
      ? cliFlags(action, ['--source'], ['--targets'])
      : cliFlags(action, ['--source'], ['--destinations']);
  let why: string;
  if ('source' in flags) {
    const env = await cliEnv();
    const viaCli: KilnRunner = {
      mode: 'cli',
      how: `bundled CLI, a fresh process per run: \`node dist/cli/index.js ${action} ${flags.source} … ${flags.targets} … --json\``,
      run: async (source, target) => {
        const r = await run(node, [cli, action, flags.source, source, flags.targets, target, '--json'], {
          env,
          cwd: env.HOME,
        });
        return { ms: r.ms, ...describeCliResults(r.stdout) };
      },
    };
    if (!probe) return viaCli;
    const p = probe();
    try {
      await viaCli.run(p.source, p.target);
      return viaCli;
    } catch (err) {
      why = `the CLI failed on a trial run (${String(err).split('\n').slice(0, 3).join(' ')})`;
    }
  } else {
    why = flags.why;
  }
  return kilnInProcess(action, why);
}
