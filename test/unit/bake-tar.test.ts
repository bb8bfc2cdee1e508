/**
 * The deterministic tar writer and layer builder of layer-append (packages/core/src/bake/tar.ts, layer.ts): the
 * bytes depend only on the content (never on mtimes, owners or the order files were created), entries are in
 * byte order, modes survive, links are stored not followed, long names and large values go into PAX records,
 * and GNU tar and Kiln's own tar reader (image/source/tar.ts) read it all back.
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { createHash, randomBytes } from 'node:crypto';
import {
  appendFile,
  chmod,
  lstat,
  mkdir,
  mkdtemp,
  readFile,
  readlink,
  rm,
  symlink,
  truncate,
  utimes,
  writeFile,
} from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { ConfigurationError } from '../../packages/core/src/errors.js';
import { buildLayer } from '../../packages/core/src/bake/layer.js';
import {
  entryHeader,
  isTarHeader,
  normaliseDestination,
  planDirectory,
  sourceDateEpoch,
  tarStream,
  type TarEntry,
} from '../../packages/core/src/bake/tar.js';
import { indexTar } from '../../packages/core/src/image/source/tar.js';
import { exec } from '../sim/registry/util.js';

const sha256 = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

const LONG_DIR = `${'d'.repeat(70)}/${'e'.repeat(50)}`;
const LONG_FILE = `${LONG_DIR}/a-file-whose-path-is-far-longer-than-the-hundred-bytes-of-ustar.txt`;
const LONG_TARGET = `../../${'t'.repeat(120)}/target`;
const BIG = randomBytes(1024 * 1024 + 1); // crosses the writer's 256 KiB reads

/** The same tree every time; `order` reverses the order files are created in, `mtime` sets every timestamp. */
async function makeTree(dir: string, opts: { reverse?: boolean; mtime?: number } = {}): Promise<void> {
  const steps: Array<() => Promise<unknown>> = [
    () => mkdir(join(dir, 'a/b/c'), { recursive: true }),
    () => mkdir(join(dir, LONG_DIR), { recursive: true }),
    () => mkdir(join(dir, 'bin'), { recursive: true }),
    () => mkdir(join(dir, 'sticky'), { recursive: true }),
  ];
  const files: Array<() => Promise<unknown>> = [
    () => writeFile(join(dir, 'a/b/c/deep.txt'), 'deep\n'),
    () => writeFile(join(dir, 'a-b'), 'dash sorts before slash\n'),
    () => writeFile(join(dir, 'bin/run.sh'), '#!/bin/sh\necho run\n'),
    () => writeFile(join(dir, 'secret'), 'only root\n'),
    () => writeFile(join(dir, 'empty'), ''),
    () => writeFile(join(dir, 'big.bin'), BIG),
    () => writeFile(join(dir, 'ünïcode.txt'), 'utf-8 name\n'),
    () => writeFile(join(dir, LONG_FILE), 'long name\n'),
    () => symlink('bin/run.sh', join(dir, 'link')),
    () => symlink('/etc/does-not-exist', join(dir, 'abs-link')),
    () => symlink(LONG_TARGET, join(dir, 'long-link')),
  ];
  for (const s of steps) await s();
  for (const f of opts.reverse ? [...files].reverse() : files) await f();
  await chmod(join(dir, 'bin/run.sh'), 0o4755);
  await chmod(join(dir, 'secret'), 0o600);
  await chmod(join(dir, 'sticky'), 0o1777);
  await chmod(join(dir, 'a'), 0o750);
  if (opts.mtime !== undefined) {
    for (const p of [
      'a/b/c/deep.txt',
      'a-b',
      'bin/run.sh',
      'secret',
      'empty',
      'big.bin',
      LONG_FILE,
      'a',
      'sticky',
    ]) {
      await utimes(join(dir, p), opts.mtime, opts.mtime);
    }
  }
}

/** Sorted like the writer: byte order of the UTF-8 path. */
const EXPECTED_ORDER = [
  'a',
  'a-b',
  'a/b',
  'a/b/c',
  'a/b/c/deep.txt',
  'abs-link',
  'big.bin',
  'bin',
  'bin/run.sh',
  LONG_DIR.split('/')[0]!,
  LONG_DIR,
  LONG_FILE,
  'empty',
  'link',
  'long-link',
  'secret',
  'sticky',
  'ünïcode.txt',
];

describe('bake: deterministic tar writer', () => {
  let work: string;
  let tree: string;
  let seq = 0;
  const out = () => join(work, `out-${++seq}.tar.gz`);

  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), 'kiln-bake-tar-'));
    tree = join(work, 'tree');
    await makeTree(tree);
  });
  afterAll(async () => {
    if (work) await rm(work, { recursive: true, force: true });
  });

  test('the same content gives the same bytes: other mtimes and creation order change nothing', async () => {
    const t1 = join(work, 'copy1');
    const t2 = join(work, 'copy2');
    await makeTree(t1, { mtime: 1_000_000_000 });
    await makeTree(t2, { mtime: 1_700_000_000, reverse: true });
    const l1 = await buildLayer({ directory: t1, destination: '/app' }, { outFile: out() });
    const l2 = await buildLayer({ directory: t2, destination: '/app' }, { outFile: out() });
    const again = await buildLayer({ directory: t1, destination: '/app' }, { outFile: out() });
    const bytes1 = await readFile(l1.path);
    expect((await readFile(l2.path)).equals(bytes1)).toBe(true);
    expect((await readFile(again.path)).equals(bytes1)).toBe(true);
    expect(l2).toMatchObject({ digest: l1.digest, diffId: l1.diffId, size: l1.size });
    // Digests are what they say.
    expect(sha256(bytes1)).toBe(l1.digest);
    expect(l1.size).toBe(bytes1.length);
    const tar = gunzipSync(bytes1);
    expect(sha256(tar)).toBe(l1.diffId);
    expect(l1.uncompressedSize).toBe(tar.length);
  });

  test('entries are in byte order of their path, each directory before what it holds', async () => {
    const entries = await planDirectory(tree);
    expect(entries.map((e) => e.path)).toEqual(EXPECTED_ORDER);
    const layer = await buildLayer({ directory: tree }, { outFile: out() });
    const listed = (await exec('tar', ['-tzf', layer.path])).stdout.trim().split('\n');
    expect(listed.map((l) => l.replace(/\/$/, ''))).toEqual(EXPECTED_ORDER);
    expect(layer.entries).toBe(EXPECTED_ORDER.length);
  });

  test('metadata: fixed mtime (0 or SOURCE_DATE_EPOCH), root owners unless given, modes kept', async () => {
    const tv = async (path: string) =>
      (
        await exec('tar', ['-tvzf', path, '--numeric-owner', '--full-time'], {
          env: { ...process.env, TZ: 'UTC' },
        })
      ).stdout
        .trim()
        .split('\n');
    const plain = await tv((await buildLayer({ directory: tree }, { outFile: out() })).path);
    expect(plain.every((l) => /^\S+ 0\/0 +\d+ 1970-01-01 00:00:00 /.test(l))).toBe(true);
    const line = (lines: string[], name: string) =>
      lines.find((l) => l.endsWith(` ${name}`) || l.endsWith(` ${name}/`) || l.includes(` ${name} -> `))!;
    expect(line(plain, 'bin/run.sh')).toMatch(/^-rwsr-xr-x /);
    expect(line(plain, 'secret')).toMatch(/^-rw------- /);
    expect(line(plain, 'sticky')).toMatch(/^drwxrwxrwt /);
    expect(line(plain, 'a')).toMatch(/^drwxr-x--- /);
    expect(line(plain, 'link')).toMatch(/^lrwxrwxrwx .* link -> bin\/run\.sh$/);
    expect(line(plain, 'abs-link')).toMatch(/abs-link -> \/etc\/does-not-exist$/);
    expect(line(plain, 'big.bin')).toMatch(new RegExp(`^-rw-r--r-- 0/0 +${BIG.length} `));

    const epoch = sourceDateEpoch({ SOURCE_DATE_EPOCH: '1700000000' })!;
    const dated = await tv(
      (
        await buildLayer(
          { directory: tree },
          { outFile: out(), mtime: epoch, owner: { uid: 1000, gid: 2000 } },
        )
      ).path,
    );
    expect(dated.every((l) => /^\S+ 1000\/2000 +\d+ 2023-11-14 22:13:20 /.test(l))).toBe(true);
    const named = (
      await exec('tar', [
        '-tvzf',
        (await buildLayer({ directory: tree, owner: { uname: 'app', gname: 'staff' } }, { outFile: out() }))
          .path,
      ])
    ).stdout;
    expect(named.split('\n')[0]).toMatch(/ app\/staff /);
  });

  test('long names and link targets, non-ASCII names: PAX records that GNU tar and Kiln’s reader understand', async () => {
    const layer = await buildLayer({ directory: tree }, { outFile: out() });
    const tarFile = join(work, 'long.tar');
    await writeFile(tarFile, gunzipSync(await readFile(layer.path)));
    const index = await indexTar(tarFile);
    expect(index.entries.get(LONG_FILE)).toMatchObject({ type: 'file', size: 'long name\n'.length });
    expect(index.entries.get('long-link')).toMatchObject({ type: 'symlink', linkName: LONG_TARGET });
    expect(index.entries.get('ünïcode.txt')).toMatchObject({ type: 'file' });
    expect([...index.entries.keys()]).toEqual(EXPECTED_ORDER);

    // Round trip through GNU tar: every file, mode and link as in the tree.
    const x = join(work, 'extracted');
    await mkdir(x);
    await exec('tar', ['-xpf', tarFile, '-C', x]);
    for (const p of EXPECTED_ORDER) {
      const a = await lstat(join(tree, p));
      const b = await lstat(join(x, p));
      expect([p, b.mode & 0o7777]).toEqual([p, a.mode & 0o7777]);
      if (a.isSymbolicLink()) expect(await readlink(join(x, p))).toBe(await readlink(join(tree, p)));
      else if (a.isFile())
        expect((await readFile(join(x, p))).equals(await readFile(join(tree, p)))).toBe(true);
    }
  });

  test('PAX for what ustar cannot hold: sizes of 8 GiB and more, large ids, long user names', () => {
    const entry: TarEntry = { path: 'huge.img', type: 'file', mode: 0o644, size: 9_000_000_000 };
    const h = entryHeader(entry, { owner: { uid: 3_000_000, gid: 7, uname: 'u'.repeat(40) } });
    expect(h.length).toBe(3 * 512); // pax header, its records, the ustar header
    expect(String.fromCharCode(h[156]!)).toBe('x');
    const records = h.subarray(512, 1024).toString('utf8').replace(/\0+$/, '');
    expect(records).toBe(`19 size=9000000000\n15 uid=3000000\n50 uname=${'u'.repeat(40)}\n`);
    for (const rec of records.trim().split('\n')) {
      expect(Buffer.byteLength(rec) + 1).toBe(Number(rec.split(' ')[0])); // a record's length counts itself
    }
    expect(isTarHeader(h.subarray(0, 512))).toBe(true);
    expect(isTarHeader(h.subarray(1024))).toBe(true);
    expect(String.fromCharCode(h[1024 + 156]!)).toBe('0');
    // A short ASCII entry needs no PAX header.
    expect(entryHeader({ path: 'x', type: 'file', mode: 0o644, size: 1 }).length).toBe(512);
  });

  test('a destination puts the content under a prefix whose directories the layer creates', async () => {
    const entries = await planDirectory(tree, { destination: '/opt/app/' });
    expect(entries.slice(0, 3)).toEqual([
      { path: 'opt', type: 'directory', mode: 0o755, size: 0 },
      { path: 'opt/app', type: 'directory', mode: 0o755, size: 0 },
      expect.objectContaining({ path: 'opt/app/a', mode: 0o750 }),
    ]);
    expect(entries.every((e) => e.path === 'opt' || e.path.startsWith('opt/app'))).toBe(true);
    expect((await planDirectory(tree, { destination: 'srv', destinationMode: 0o700 }))[0]).toMatchObject({
      path: 'srv',
      mode: 0o700,
    });
    expect(normaliseDestination('/')).toBe('');
    expect(() => normaliseDestination('/app/../etc')).toThrow(ConfigurationError);
  });

  test('gzip is deterministic: no file name, mtime 0, OS byte 255 whatever the machine', async () => {
    const layer = await buildLayer({ directory: tree }, { outFile: out() });
    const head = (await readFile(layer.path)).subarray(0, 10);
    expect([...head]).toEqual([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 255]);
    const fast = await buildLayer({ directory: tree }, { outFile: out(), gzipLevel: 1 });
    expect(fast.diffId).toBe(layer.diffId); // the level changes the blob, never the diff_id
    await expect(buildLayer({ directory: tree }, { outFile: out(), gzipLevel: 10 })).rejects.toThrow(
      /gzip level/,
    );
  });

  test('a file that changes size while the layer is written fails it', async () => {
    const dir = join(work, 'changing');
    await mkdir(dir);
    await writeFile(join(dir, 'grows'), 'x'.repeat(1000));
    const drain = async (entries: TarEntry[]) => {
      for await (const _ of tarStream(entries));
    };
    let entries = await planDirectory(dir);
    await appendFile(join(dir, 'grows'), 'more');
    await expect(drain(entries)).rejects.toThrow(/grew while the layer was written/);
    entries = await planDirectory(dir);
    await truncate(join(dir, 'grows'), 10);
    await expect(drain(entries)).rejects.toThrow(/shrank while the layer was written/);
  });

  test('sockets, pipes and devices are refused, naming the file', async () => {
    const dir = join(work, 'fifo');
    await mkdir(dir);
    await exec('mkfifo', [join(dir, 'pipe')]);
    await expect(planDirectory(dir)).rejects.toThrow(
      `cannot put '${join(dir, 'pipe')}' in a layer: it is a named pipe`,
    );
    await expect(planDirectory(join(work, 'nope'))).rejects.toThrow(ConfigurationError);
  });

  test('tarballs: a gzip tarball is the blob as it is, a plain tar is gzipped, other kinds are refused', async () => {
    const plain = join(work, 'plain.tar');
    await exec('tar', ['--format=gnu', '-cf', plain, '-C', tree, 'a', 'bin']);
    const tarBytes = await readFile(plain);
    const gz = join(work, 'layer.tar.gz');
    await writeFile(gz, gzipSync(tarBytes, { level: 9 }));

    const kept = await buildLayer({ tarball: gz }, { outFile: out() });
    expect(kept.path).toBe(gz);
    expect(kept.digest).toBe(sha256(await readFile(gz)));
    expect(kept.diffId).toBe(sha256(tarBytes));

    const zipped = await buildLayer({ tarball: plain }, { outFile: out() });
    expect(zipped.path).not.toBe(plain);
    expect(zipped.diffId).toBe(sha256(tarBytes));
    expect(gunzipSync(await readFile(zipped.path)).equals(tarBytes)).toBe(true);
    expect(zipped.digest).toBe((await buildLayer({ tarball: plain }, { outFile: out() })).digest);

    const zst = join(work, 'layer.tar.zst');
    await writeFile(zst, Buffer.concat([Buffer.from([0x28, 0xb5, 0x2f, 0xfd]), randomBytes(64)]));
    await expect(buildLayer({ tarball: zst }, { outFile: out() })).rejects.toThrow(/zstd-compressed/);
    const text = join(work, 'notes.txt');
    await writeFile(text, 'not a tar archive at all, just some text that is long enough. '.repeat(20));
    await expect(buildLayer({ tarball: text }, { outFile: out() })).rejects.toThrow(/is not a tar archive/);
    const gzText = join(work, 'notes.txt.gz');
    await writeFile(gzText, gzipSync(await readFile(text)));
    await expect(buildLayer({ tarball: gzText }, { outFile: out() })).rejects.toThrow(/is not a tar archive/);
    await expect(buildLayer({ tarball: join(work, 'missing.tar') }, { outFile: out() })).rejects.toThrow(
      ConfigurationError,
    );
  });

  test('SOURCE_DATE_EPOCH: seconds or nothing', () => {
    expect(sourceDateEpoch({})).toBeUndefined();
    expect(sourceDateEpoch({ SOURCE_DATE_EPOCH: ' 1700000000 ' })).toBe(1_700_000_000);
    expect(() => sourceDateEpoch({ SOURCE_DATE_EPOCH: '2024-01-01' })).toThrow(/SOURCE_DATE_EPOCH/);
  });
});
