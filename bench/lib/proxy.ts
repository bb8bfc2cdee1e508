/**
 * The 50 ms "remote registry" for the benchmarks: test/sim/registry's fault proxy (latency on every request,
 * requests counted by route, uploaded and downloaded blob bytes), run in a child process (./proxy-child.ts).
 */
import { fork, type ChildProcess } from 'node:child_process';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));

/** What the proxy saw between a `reset()` and a `counts()`. */
export interface ProxyCounts {
  requests: number;
  /** Request-body bytes of blob uploads (POST/PATCH/PUT on /v2/<name>/blobs/uploads/…). */
  uploadedBytes: number;
  /** Response-body bytes of blob downloads (GET /v2/<name>/blobs/<digest>). */
  downloadedBytes: number;
  byRoute: Record<string, number>;
  /** POST …/blobs/uploads/?mount=… requests, and how many of them were answered 201 (mounted). */
  mountsTried: number;
  mounted: number;
  /** Sequential round trips (requests grouped by arrival time; see proxy-child.ts). */
  roundTrips: number;
  /** Responses by status code. */
  statuses: Record<string, number>;
}

export interface BenchProxy {
  /** `127.0.0.1:PORT`, for image references. */
  host: string;
  url: string;
  reset(): Promise<void>;
  counts(): Promise<ProxyCounts>;
  close(): Promise<void>;
}

/** Starts a latency proxy in front of `target` (`http://127.0.0.1:PORT`) in a child process. */
export async function startBenchProxy(target: string, latencyMs: number): Promise<BenchProxy> {
  const child: ChildProcess = fork(resolve(here, 'proxy-child.ts'), [target, String(latencyMs)], {
    execArgv: ['--import', 'tsx'],
    cwd: resolve(here, '..', '..'),
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  /** Sends `msg` and resolves with the next message (one request at a time). */
  const ask = <T>(msg: string): Promise<T> =>
    new Promise<T>((resolveAnswer, reject) => {
      const onExit = () => reject(new Error('bench proxy exited'));
      child.once('exit', onExit);
      child.once('message', (answer) => {
        child.off('exit', onExit);
        resolveAnswer(answer as T);
      });
      child.send(msg);
    });
  const url = await new Promise<string>((resolveUrl, reject) => {
    const timer = setTimeout(() => reject(new Error('bench proxy did not start within 20 s')), 20_000);
    child.once('exit', (code) => reject(new Error(`bench proxy exited (${String(code)}) before starting`)));
    child.once('message', (m) => {
      clearTimeout(timer);
      resolveUrl((m as { ready: string }).ready);
    });
  });
  let closing: Promise<void> | undefined;
  return {
    url,
    host: url.slice('http://'.length),
    reset: async () => {
      await ask('reset');
    },
    counts: () => ask<ProxyCounts>('stats'),
    close: () =>
      (closing ??= (async () => {
        if (child.exitCode === null && child.signalCode === null) {
          child.send('close');
          const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
          await exited;
          clearTimeout(timer);
        }
      })()),
  };
}
