import { describe, expect, test } from '@jest/globals';
import { CancelledError, ConfigurationError } from '../../packages/core/src/errors.js';
import { displayCommand, exec, ExecError } from '../../packages/core/src/exec/exec.js';
import { MemoryLogger } from '../../packages/core/src/platform/logger.js';

const node = process.execPath;

describe('exec', () => {
  test('arguments are passed verbatim: no shell ever interprets them', async () => {
    const hostile = ['$(touch /tmp/kiln-pwned)', '; rm -rf /', '`id`', 'a\'b"c', '*'];
    const r = await exec(node, ['-e', 'console.log(JSON.stringify(process.argv.slice(1)))', ...hostile]);
    expect(JSON.parse(r.stdout)).toEqual(hostile);
  });
  test('output is captured and streamed line by line to the logger', async () => {
    const log = new MemoryLogger();
    const r = await exec(node, ['-e', 'console.log("one\\ntwo"); console.error("three")'], { logger: log });
    expect(r.stdout).toBe('one\ntwo\n');
    expect(r.stderr).toBe('three\n');
    expect(log.lines).toEqual(expect.arrayContaining(['one', 'two', 'three']));
  });
  test('non-zero exit throws ExecError with the tail of the output', async () => {
    const e = await exec(node, ['-e', 'console.error("boom"); process.exit(3)']).catch((x) => x);
    expect(e).toBeInstanceOf(ExecError);
    expect(e.result.exitCode).toBe(3);
    expect(e.message).toContain('boom');
  });
  test('allowFailure returns the exit code instead', async () => {
    const r = await exec(node, ['-e', 'process.exit(4)'], { allowFailure: true });
    expect(r.exitCode).toBe(4);
  });
  test('a timeout stops the process', async () => {
    const e = await exec(node, ['-e', 'setTimeout(() => {}, 60000)'], { timeoutMs: 200 }).catch((x) => x);
    expect(e).toBeInstanceOf(ExecError);
    expect(e.result.timedOut).toBe(true);
    expect(e.result.signal).toBe('SIGTERM');
  });
  test('aborting sends the child the signal and rejects with CancelledError', async () => {
    const ac = new AbortController();
    const p = exec(
      node,
      [
        '-e',
        'process.on("SIGINT", () => { console.log("got SIGINT"); process.exit(130) }); setInterval(() => {}, 1000); console.log("ready")',
      ],
      {
        signal: ac.signal,
        logger: {
          ...new MemoryLogger(),
          info: (l: string) => {
            if (l === 'ready') ac.abort(new CancelledError('SIGINT'));
          },
        } as unknown as MemoryLogger,
      },
    );
    const e = await p.catch((x) => x);
    expect(e).toBeInstanceOf(CancelledError);
    expect(e.signal).toBe('SIGINT');
  });
  test('a missing program is a configuration error naming it', async () => {
    await expect(exec('kiln-no-such-tool', [])).rejects.toThrow(ConfigurationError);
    await expect(exec('kiln-no-such-tool', [])).rejects.toThrow("'kiln-no-such-tool' was not found on PATH");
  });
  test('displayCommand quotes for reading only', () => {
    expect(displayCommand('buildah', ['push', 'a b', "it's"])).toBe(`buildah push 'a b' 'it'\\''s'`);
  });
});
