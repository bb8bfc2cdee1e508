/**
 * A registry that rate-limits: every third request answered 429 (Retry-After: 1) and one in ten 503, by the
 * counting proxy in front of a real registry. push-registry and promote, as GitHub runs them, must succeed every
 * time with the same digests: retries jitter (after Retry-After too), go on until the operation's deadline
 * rather than for a fixed count, and chunked uploads resume instead of starting over.
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { mkdir, mkdtemp, cp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { rawHead } from '../harness/assertions.js';
import { repoRoot, runBundle, type RunResult } from '../harness/runner.js';
import { runNode } from '../harness/tsx.js';
import { startFaultProxy, type FaultProxy } from '../sim/registry/fault-proxy.js';
import { writeOciLayout, type OciLayoutImage } from '../sim/registry/oci-layout.js';
import { registryAvailable, startRegistry, type RunningRegistry } from '../sim/registry/registry.js';
import { removeDir } from '../sim/registry/util.js';

const RUNS = 10;
let reg: RunningRegistry;
let proxy: FaultProxy;
let work: string;
let layout: OciLayoutImage;
let dockerConfig: string;

beforeAll(async () => {
  if (!registryAvailable())
    throw new Error('these tests need docker-registry (apt-get install docker-registry)');
  work = await mkdtemp(join(tmpdir(), 'kiln-ratelimit-'));
  dockerConfig = join(work, 'docker-config');
  await mkdir(dockerConfig);
  reg = await startRegistry({ logLevel: 'error' });
  proxy = await startFaultProxy(reg.url);
  layout = await writeOciLayout(join(work, 'layout'), { seed: 'rate-limit', randomBytes: 300_000 });
  let n = 0;
  // One counter for every request, as a registry's rate limiter sees them: the 3rd, 6th, … get 429; of the
  // others, every 10th gets 503.
  proxy.addFault({ match: () => ++n % 3 === 0, times: Infinity, fault: { kind: '429', retryAfter: '1' } });
  proxy.addFault({ match: () => n % 10 === 0, times: Infinity, fault: { kind: '503' } });
});

afterAll(async () => {
  await proxy?.close();
  await reg?.stop();
  if (work) await removeDir(work);
});

const env = (): Record<string, string> => ({ DOCKER_CONFIG: dockerConfig });

async function inBatches<T>(count: number, size: number, run: (i: number) => Promise<T>): Promise<T[]> {
  const out: T[] = [];
  for (let i = 0; i < count; i += size)
    out.push(...(await Promise.all(Array.from({ length: Math.min(size, count - i) }, (_, j) => run(i + j)))));
  return out;
}

describe('a registry answering 429 to every third request and 503 to one in ten', () => {
  test(`push-registry then promote, ${RUNS} times each: every run succeeds with the same digest`, async () => {
    const pushes: RunResult[] = await inBatches(RUNS, 5, async (i) => {
      const ws = await mkdtemp(join(work, 'ws-'));
      await cp(layout.dir, join(ws, 'oci'), { recursive: true });
      return runBundle('push-registry', {
        workspace: ws,
        env: env(),
        with: { source: 'oci', destinations: `${proxy.host}/limited/app${i}`, tags: '1.0', timeout: '2m' },
      });
    });
    for (const r of pushes)
      expect([
        r.exitCode,
        r.outputs.get('digest'),
        r.stderr,
        r.exitCode ? r.stdout.slice(-3000) : '',
      ]).toEqual([0, layout.manifest.digest, '', '']);

    const promotes: RunResult[] = await inBatches(RUNS, 5, (i) =>
      runBundle('promote', {
        env: env(),
        with: {
          source: `${proxy.host}/limited/app${i}:1.0`,
          targets: `${proxy.host}/limited/released${i}`,
          tags: 'v1',
          timeout: '2m',
        },
      }),
    );
    for (const r of promotes)
      expect([r.exitCode, r.outputs.get('digest'), r.stderr]).toEqual([0, layout.manifest.digest, '']);
    for (let i = 0; i < RUNS; i++)
      expect(await rawHead(reg.url, `limited/released${i}`, 'v1')).toBe(layout.manifest.digest);
    // The CLI as a GitLab job and in a terminal: the same client, the same faults.
    for (const [i, env] of [
      [0, { GITLAB_CI: 'true' }],
      [1, {}],
    ] as const) {
      const ws = await mkdtemp(join(work, 'cli-'));
      const r = await runNode(
        [
          join(repoRoot, 'dist', 'cli', 'index.js'),
          'promote',
          '--source',
          `${proxy.host}/limited/app${i}:1.0`,
          '--targets',
          `${proxy.host}/limited/cli${i}`,
          '--tags',
          'v1',
          '--json',
        ],
        {
          cwd: ws,
          env: {
            PATH: process.env.PATH,
            HOME: process.env.HOME,
            NO_COLOR: '1',
            DOCKER_CONFIG: dockerConfig,
            CI_PROJECT_DIR: ws,
            ...env,
          },
        },
      );
      expect([r.exitCode, await rawHead(reg.url, `limited/cli${i}`, 'v1')]).toEqual([
        0,
        layout.manifest.digest,
      ]);
    }
    const served = proxy.stats().faultsServed;
    expect(served).toBeGreaterThan(RUNS * 2); // the faults really were there
  });
});
