/** Assertions several action test files share: what a user checks after a step failed or handled a secret. */
import { expect } from '@jest/globals';
import { listFiles, type RunResult } from './runner.js';
import type { ChildResult } from './tsx.js';

const ACCEPT = [
  'application/vnd.oci.image.index.v1+json',
  'application/vnd.oci.image.manifest.v1+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
  'application/vnd.docker.distribution.manifest.v2+json',
].join(', ');

/** The digest a reference points at (a raw HEAD, independent of Kiln's client), or undefined. */
export async function rawHead(
  url: string,
  repo: string,
  reference: string,
  auth?: string,
): Promise<string | undefined> {
  const res = await fetch(`${url}/v2/${repo}/manifests/${reference}`, {
    method: 'HEAD',
    headers: { Accept: ACCEPT, ...(auth ? { Authorization: auth } : {}) },
  });
  return res.status === 200 ? (res.headers.get('docker-content-digest') ?? '') : undefined;
}

/**
 * The secret appears nowhere: stdout (but the runner's mask commands), stderr, outputs, summary, and every file
 * left in `dirs` (GITHUB_STATE aside: the runner's own hand-over to the post step). `user` adds the base64 of
 * `user:secret`, the form basic auth travels in.
 */
export function expectNoLeak(
  r: RunResult | ChildResult,
  dirs: string[],
  secret: string,
  user = 'alice',
): void {
  const printed =
    r.stdout
      .split('\n')
      .filter((l) => !l.startsWith('::add-mask::'))
      .join('\n') + r.stderr;
  expect(printed).not.toContain(secret);
  expect(printed).not.toContain(Buffer.from(`${user}:${secret}`).toString('base64'));
  if ('outputs' in r) {
    expect(JSON.stringify([...r.outputs])).not.toContain(secret);
    expect(r.summary).not.toContain(secret);
  }
  for (const dir of dirs)
    for (const [path, content] of listFiles(dir))
      if (!path.endsWith('/state'))
        expect({ path, leaked: content.includes(secret) }).toEqual({ path, leaked: false });
}

/** The step printed nothing but one `::error::` line (mask and debug commands aside), exit 1: an input error. */
export function onlyErrorLine(r: RunResult): string {
  expect(r.exitCode).toBe(2); // a bad input or setting (EXIT_CODES.badInput)
  const lines = (r.stdout + r.stderr)
    .split('\n')
    .filter((l) => l.trim() !== '' && !/^::(add-mask|debug)::/.test(l));
  expect(lines).toHaveLength(1);
  expect(lines[0]).toMatch(/^::error::/);
  return lines[0] as string;
}

/**
 * Exactly one `::error::` line, no stack trace: a failure after the work started (exit 1), or a setting a server
 * refused, such as credentials (exit 2).
 */
export function oneErrorLine(r: RunResult, exitCode: 1 | 2 = 1): string {
  expect(r.exitCode).toBe(exitCode);
  const errors = r.stdout.split('\n').filter((l) => l.startsWith('::error::'));
  expect(errors).toHaveLength(1);
  expect(r.stdout + r.stderr).not.toMatch(/^\s+at /m);
  return errors[0] as string;
}
