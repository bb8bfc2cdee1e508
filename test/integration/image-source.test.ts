/**
 * Image sources (packages/core/src/image/source) against inputs written by real tools: OCI layouts from the
 * registry equipment, OCI and docker archives written by `skopeo copy`, archives re-packed by GNU tar (ustar,
 * pax, GNU long names, hard and symbolic links), gzip-compressed archives, a docker 25+ style archive, and, when
 * buildah is installed, an image built by `buildah from scratch` / `copy` / `commit` / `push`.
 *
 * skopeo is required (the suite fails without it); buildah is optional (`apt-get install -y buildah`).
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { createReadStream, createWriteStream, existsSync } from 'node:fs';
import { cp, link, mkdir, mkdtemp, open, readFile, readdir, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import { ConfigurationError } from '../../packages/core/src/errors.js';
import type { Logger } from '../../packages/core/src/platform/types.js';
import {
  BlobDigestMismatchError,
  openImageSource,
  parseImageSourceSpec,
  walkImage,
  type ImageSource,
  type ImageWalkItem,
} from '../../packages/core/src/image/source/index.js';
import { indexTar, readTarFile, resolveTarFile } from '../../packages/core/src/image/source/tar.js';
import { tarFiles, writeOciLayout, type OciLayoutImage } from '../sim/registry/oci-layout.js';
import { createSkopeo, skopeoAvailable, type Skopeo } from '../sim/registry/skopeo.js';
import { exec, removeDir, which } from '../sim/registry/util.js';

const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';
const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
const DOCKER_MANIFEST = 'application/vnd.docker.distribution.manifest.v2+json';
const DOCKER_CONFIG = 'application/vnd.docker.container.image.v1+json';
const DOCKER_LAYER = 'application/vnd.docker.image.rootfs.diff.tar';
const DOCKER_LAYER_GZIP = 'application/vnd.docker.image.rootfs.diff.tar.gzip';

const sha256 = (b: Buffer | string): string => `sha256:${createHash('sha256').update(b).digest('hex')}`;
const hexOf = (digest: string): string => digest.slice('sha256:'.length);

/** Reads a stream to its end, hashing it. */
async function drain(stream: NodeJS.ReadableStream): Promise<{ digest: string; size: number }> {
  const hash = createHash('sha256');
  let size = 0;
  for await (const chunk of stream as AsyncIterable<Buffer>) {
    hash.update(chunk);
    size += chunk.length;
  }
  return { digest: `sha256:${hash.digest('hex')}`, size };
}

async function collect(source: ImageSource, digest?: string): Promise<ImageWalkItem[]> {
  const items: ImageWalkItem[] = [];
  for await (const item of walkImage(source, digest)) items.push(item);
  return items;
}

/** Walks the image and streams every blob, checking digest and size; returns the walk. */
async function verifyAll(source: ImageSource): Promise<ImageWalkItem[]> {
  const items = await collect(source);
  for (const item of items) {
    if (item.type === 'blob') {
      const { stream, size } = await source.openBlob(item.descriptor.digest);
      expect(size).toBe(item.descriptor.size);
      expect(await drain(stream)).toEqual({ digest: item.descriptor.digest, size: item.descriptor.size });
    } else {
      expect(sha256(item.bytes)).toBe(item.descriptor.digest);
    }
  }
  return items;
}

/** Opens, runs `fn`, always closes. */
async function withSource<T>(spec: string, fn: (s: ImageSource) => Promise<T>, tmpDir?: string): Promise<T> {
  const source = await openImageSource(spec, { tmpDir });
  try {
    return await fn(source);
  } finally {
    await source.close();
  }
}

/** The ConfigurationError opening `spec` fails with. */
async function openError(spec: string): Promise<ConfigurationError> {
  let source: ImageSource | undefined;
  try {
    source = await openImageSource(spec);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigurationError);
    return err as ConfigurationError;
  }
  await source.close();
  throw new Error(`expected opening '${spec}' to fail`);
}

/** A Logger that keeps what it is given (debug included). */
function recordingLogger(): Logger & { lines: string[] } {
  const lines: string[] = [];
  const log = (level: string) => (message: string) => void lines.push(`${level}: ${message}`);
  return {
    lines,
    debugEnabled: true,
    debug: log('debug'),
    info: log('info'),
    notice: log('notice'),
    warning: log('warning'),
    error: log('error'),
    startGroup: log('group'),
    endGroup: () => undefined,
    group: async <T>(title: string, fn: () => Promise<T>) => {
      lines.push(`group: ${title}`);
      return fn();
    },
  };
}

/** Digests of a walk, in order. */
const digests = (items: ImageWalkItem[]): string[] => items.map((i) => i.descriptor.digest);

/** Asserts push order: every digest once, each manifest after everything it references, the root last. */
function expectChildrenFirst(items: ImageWalkItem[], root: string): void {
  const order = digests(items);
  expect(new Set(order).size).toBe(order.length);
  expect(order.at(-1)).toBe(root);
  for (const [i, item] of items.entries()) {
    if (item.type !== 'manifest') continue;
    const doc = JSON.parse(item.bytes.toString()) as {
      manifests?: Array<{ digest: string }>;
      config?: { digest: string };
      layers?: Array<{ digest: string }>;
    };
    const refs = [...(doc.manifests ?? []), ...(doc.config ? [doc.config] : []), ...(doc.layers ?? [])];
    for (const r of refs) expect(order.indexOf(r.digest)).toBeLessThan(i);
  }
}

/** Rewrites the checksum of the tar header at `offset` after it was patched. */
function fixChecksum(tar: Buffer, offset: number): void {
  tar.fill(0x20, offset + 148, offset + 156);
  let sum = 0;
  for (let i = offset; i < offset + 512; i++) sum += tar[i]!;
  tar.write(`${sum.toString(8).padStart(6, '0')}\0 `, offset + 148, 8, 'ascii');
}

/** Writes a file of `size` random bytes in 1 MiB pieces; returns its digest. */
async function writeRandomFile(path: string, size: number): Promise<string> {
  const hash = createHash('sha256');
  const out = createWriteStream(path);
  for (let left = size; left > 0; left -= 1024 * 1024) {
    const chunk = randomBytes(Math.min(left, 1024 * 1024));
    hash.update(chunk);
    if (!out.write(chunk)) await once(out, 'drain');
  }
  await new Promise<void>((resolve, reject) =>
    out.end((err?: Error | null) => (err ? reject(err) : resolve())),
  );
  return `sha256:${hash.digest('hex')}`;
}

async function gzipFile(from: string, to: string): Promise<void> {
  await pipeline(createReadStream(from), createGzip(), createWriteStream(to));
}

/** Flips one byte of a file at `offset`. */
async function flipByte(path: string, offset: number): Promise<void> {
  const fh = await open(path, 'r+');
  try {
    const b = Buffer.alloc(1);
    await fh.read(b, 0, 1, offset);
    b[0] = b[0]! ^ 0xff;
    await fh.write(b, 0, 1, offset);
  } finally {
    await fh.close();
  }
}

describe('image sources (oci layout, oci-archive, docker-archive)', () => {
  let work: string;
  let skopeo: Skopeo;
  let seq = 0;
  /** Two images in one layout, named 'v1' and 'v2'. */
  let two: { dir: string; v1: OciLayoutImage; v2: OciLayoutImage };
  let single: OciLayoutImage;
  let ociArchive: string;
  let dockerArchive: string;

  const path = (name: string): string => join(work, name);
  const image = (opts: Parameters<typeof writeOciLayout>[1] = {}) =>
    writeOciLayout(path(`img-${++seq}`), { seed: String(seq), ...opts });
  const skopeoCopy = async (...args: string[]) => {
    await skopeo.run(['copy', '-q', ...args]);
  };
  const rawOf = async (ref: string): Promise<string> => (await skopeo.run(['inspect', '--raw', ref])).stdout;

  beforeAll(async () => {
    if (!skopeoAvailable())
      throw new Error('image source tests need skopeo; install with: apt-get install -y skopeo');
    work = await mkdtemp(join(tmpdir(), 'kiln-image-source-'));
    skopeo = await createSkopeo();
    single = await image({ tag: 'v1' });
    const v2 = await image({ tag: 'v2' });
    await skopeoCopy(`oci:${single.dir}:v1`, `oci:${path('two')}:v1`);
    await skopeoCopy(`oci:${v2.dir}:v2`, `oci:${path('two')}:v2`);
    two = { dir: path('two'), v1: single, v2 };
    ociArchive = path('single-oci.tar');
    dockerArchive = path('single-docker.tar');
    await skopeoCopy(single.ref, `oci-archive:${ociArchive}:v1`);
    await skopeoCopy(single.ref, `docker-archive:${dockerArchive}:app:v1`);
  });

  afterAll(async () => {
    await skopeo?.close();
    if (work) await removeDir(work);
  });

  test('parseImageSourceSpec: transports split at the first colon after the path, like skopeo', () => {
    expect(parseImageSourceSpec('oci:/a/b:v1')).toEqual({ transport: 'oci', path: '/a/b', ref: 'v1' });
    expect(parseImageSourceSpec('oci:/a/b')).toEqual({ transport: 'oci', path: '/a/b', ref: undefined });
    expect(parseImageSourceSpec('oci-archive:x.tar:app:1')).toEqual({
      transport: 'oci-archive',
      path: 'x.tar',
      ref: 'app:1',
    });
    expect(parseImageSourceSpec('docker-archive:/x.tar:@2')).toEqual({
      transport: 'docker-archive',
      path: '/x.tar',
      ref: '@2',
    });
    expect(parseImageSourceSpec('./build/image.tar')).toEqual({
      transport: 'path',
      path: './build/image.tar',
    });
    expect(() => parseImageSourceSpec('')).toThrow(/empty image source/);
    expect(() => parseImageSourceSpec('oci:')).toThrow(/has no path after 'oci:'/);
    expect(() => parseImageSourceSpec('docker://ghcr.io/org/app:1')).toThrow(
      /the 'docker:' transport is not a local image file; expected 'oci:<dir>/,
    );
    expect(() => parseImageSourceSpec('containers-storage:app')).toThrow(ConfigurationError);
  });

  test('oci layout: root manifest bytes and digest are what skopeo reports; every blob streams verified', async () => {
    await withSource(`oci:${single.dir}:v1`, async (src) => {
      expect(src.kind).toBe('oci-layout');
      expect(src.describe()).toBe(`oci-layout:${single.dir}:v1`);
      const root = await src.rootManifest();
      expect(root.mediaType).toBe(OCI_MANIFEST);
      expect(root.bytes.toString()).toBe(await rawOf(`oci:${single.dir}:v1`));
      const rawFile = path('single-manifest.json');
      await writeFile(rawFile, root.bytes);
      expect((await skopeo.run(['manifest-digest', rawFile])).stdout.trim()).toBe(root.digest);
      expect(root.digest).toBe(single.manifest.digest);
      expect((await src.manifest(root.digest)).bytes.equals(root.bytes)).toBe(true);

      const items = await verifyAll(src);
      expect(items.map((i) => (i.type === 'blob' ? i.role : i.role))).toEqual([
        'config',
        'layer',
        'manifest',
      ]);
      expect(digests(items)).toEqual([
        single.config.digest,
        single.layers[0]!.digest,
        single.manifest.digest,
      ]);
      expect(items[0]).toMatchObject({ type: 'blob', parent: root.digest });
      expect(items[2]).toMatchObject({ type: 'manifest', parent: undefined });
    });
    // A bare directory is detected as a layout; with a single image no name is needed, but one may be given.
    for (const spec of [single.dir, `${single.dir}:v1`]) {
      await withSource(spec, async (src) => {
        expect(src.kind).toBe('oci-layout');
        expect(src.describe()).toBe(`oci-layout:${single.dir}:v1`);
        expect((await src.rootManifest()).digest).toBe(single.manifest.digest);
      });
    }
    expect((await openError(`${single.dir}:v9`)).message).toMatch(
      /^no image named 'v9' in OCI layout .*; available: 'v1'$/,
    );
  });

  test('oci layout: selection by ref name or @digest; without one, an error lists the names', async () => {
    for (const tag of ['v1', 'v2'] as const) {
      await withSource(`oci:${two.dir}:${tag}`, async (src) => {
        expect((await src.rootManifest()).digest).toBe(two[tag].manifest.digest);
      });
    }
    await withSource(`oci:${two.dir}:@${two.v2.manifest.digest}`, async (src) => {
      expect((await src.rootManifest()).digest).toBe(two.v2.manifest.digest);
    });
    expect((await openError(`oci:${two.dir}`)).message).toBe(
      `OCI layout '${two.dir}' holds 2 images; name the one to use (…:<name>); available: 'v1', 'v2'`,
    );
    expect((await openError(`oci:${two.dir}:v3`)).message).toBe(
      `no image named 'v3' in OCI layout '${two.dir}'; available: 'v1', 'v2'`,
    );
  });

  test('oci-archive written by skopeo: same digests as the layout, blobs streamed by offset', async () => {
    for (const spec of [`oci-archive:${ociArchive}:v1`, `oci-archive:${ociArchive}`, ociArchive]) {
      await withSource(spec, async (src) => {
        expect(src.kind).toBe('oci-archive');
        expect(src.describe()).toBe(`oci-archive:${ociArchive}:v1`);
        const root = await src.rootManifest();
        expect(root.digest).toBe(single.manifest.digest);
        expect(root.bytes.toString()).toBe(await rawOf(`oci-archive:${ociArchive}`));
        expect(digests(await verifyAll(src))).toEqual([
          single.config.digest,
          single.layers[0]!.digest,
          single.manifest.digest,
        ]);
      });
    }
    expect((await openError(`oci-archive:${ociArchive}:nope`)).message).toMatch(
      /^no image named 'nope' in OCI archive '.*'; available: 'v1'$/,
    );
  });

  test('docker-archive written by skopeo: synthesised Docker v2 manifest, deterministic, layers as stored', async () => {
    const skopeoView = JSON.parse(await rawOf(`docker-archive:${dockerArchive}`)) as {
      config: { digest: string; size: number };
      layers: Array<{ digest: string; size: number; mediaType: string }>;
    };
    const first = await withSource(`docker-archive:${dockerArchive}:app:v1`, async (src) => {
      expect(src.kind).toBe('docker-archive');
      expect(src.describe()).toBe(`docker-archive:${dockerArchive}:app:v1`);
      const root = await src.rootManifest();
      expect(root.mediaType).toBe(DOCKER_MANIFEST);
      expect(sha256(root.bytes)).toBe(root.digest);
      const m = JSON.parse(root.bytes.toString()) as typeof skopeoView & { mediaType: string };
      expect(m.mediaType).toBe(DOCKER_MANIFEST);
      // Same config and layers as skopeo sees; the uncompressed layer is labelled as such.
      expect(m.config).toEqual({
        mediaType: DOCKER_CONFIG,
        size: single.config.size,
        digest: single.config.digest,
      });
      expect(m.layers).toEqual(skopeoView.layers.map((l) => ({ ...l, mediaType: DOCKER_LAYER })));
      // skopeo decompressed the gzip layer: its digest is the DiffID of the layout's config.
      const diffIds = (JSON.parse(single.config.bytes.toString()) as { rootfs: { diff_ids: string[] } })
        .rootfs.diff_ids;
      expect(m.layers.map((l) => l.digest)).toEqual(diffIds);
      // Same key order and spacing as containers/image: only the layer media type differs from skopeo's bytes.
      expect(root.bytes.toString().replace(DOCKER_LAYER, DOCKER_LAYER_GZIP)).toBe(
        await rawOf(`docker-archive:${dockerArchive}`),
      );
      const items = await verifyAll(src);
      expect(items.map((i) => i.descriptor.mediaType)).toEqual([
        DOCKER_CONFIG,
        DOCKER_LAYER,
        DOCKER_MANIFEST,
      ]);
      await expect(src.manifest(single.manifest.digest)).rejects.toThrow(
        /a docker archive image has one manifest/,
      );
      return root.digest;
    });
    for (const spec of [
      `docker-archive:${dockerArchive}`,
      `docker-archive:${dockerArchive}:docker.io/library/app:v1`,
      `docker-archive:${dockerArchive}:@0`,
      dockerArchive,
    ]) {
      await withSource(spec, async (src) => {
        expect(src.kind).toBe('docker-archive');
        expect((await src.rootManifest()).digest).toBe(first);
      });
    }
    expect((await openError(`docker-archive:${dockerArchive}:app:v2`)).message).toBe(
      `no image tagged 'app:v2' in docker archive '${dockerArchive}'; available: 'docker.io/library/app:v1 (@0)'`,
    );
    expect((await openError(`docker-archive:${dockerArchive}:@1`)).message).toBe(
      `docker archive '${dockerArchive}' has no image @1: it holds 1 (@0 to @0)`,
    );
    expect((await openError(`docker-archive:${dockerArchive}:Not_Valid`)).message).toMatch(
      /is not a valid image name .*expected 'name:tag' or '@<index>'/,
    );
  });

  test('gzip-compressed archives are decompressed to a temp dir that close() removes', async () => {
    const tmp = path('gz-tmp');
    await mkdir(tmp);
    const gzOci = path('single-oci.tar.gz');
    const gzDocker = path('single-docker.tar.gz');
    await gzipFile(ociArchive, gzOci);
    await gzipFile(dockerArchive, gzDocker);
    const plainDocker = await withSource(dockerArchive, async (s) => (await s.rootManifest()).digest);
    for (const [spec, kind, digest] of [
      [gzOci, 'oci-archive', single.manifest.digest],
      [`oci-archive:${gzOci}:v1`, 'oci-archive', single.manifest.digest],
      [gzDocker, 'docker-archive', plainDocker],
    ] as const) {
      const logger = recordingLogger();
      const src = await openImageSource(spec, { tmpDir: tmp, logger });
      expect(await readdir(tmp)).toHaveLength(1);
      expect(src.kind).toBe(kind);
      expect(src.describe()).toContain(spec.includes('docker') ? gzDocker : gzOci);
      expect((await src.rootManifest()).digest).toBe(digest);
      await verifyAll(src);
      expect(
        logger.lines.some((l) =>
          l.startsWith(`debug: decompressed '${spec.replace(/^oci-archive:|:v1$/g, '')}'`),
        ),
      ).toBe(true);
      await src.close();
      await src.close(); // idempotent
      expect(await readdir(tmp)).toEqual([]);
    }
    // A failed open cleans up too.
    await expect(openImageSource(`oci-archive:${gzOci}:nope`, { tmpDir: tmp })).rejects.toThrow(
      /no image named/,
    );
    expect(await readdir(tmp)).toEqual([]);
  });

  test('archives re-packed by GNU tar (ustar prefix, pax, GNU long names, hard and symbolic links)', async () => {
    const dir = path('repack');
    await cp(single.dir, dir, { recursive: true });
    const long = `${'d'.repeat(90)}/${'f'.repeat(90)}`; // ustar: needs the 155-byte prefix field
    const veryLong = `${'x'.repeat(150)}/${'y'.repeat(150)}.txt`; // pax / GNU only
    await mkdir(join(dir, long.split('/')[0]!));
    await writeFile(join(dir, long), 'long name\n');
    await link(join(dir, 'blobs', 'sha256', hexOf(single.layers[0]!.digest)), join(dir, 'hardlinked-layer'));
    await symlink(`blobs/sha256/${hexOf(single.config.digest)}`, join(dir, 'config-link'));
    for (const format of ['ustar', 'pax', 'gnu'] as const) {
      const tarFile = path(`repack-${format}.tar`);
      const extra = format === 'ustar' ? [] : [veryLong.split('/')[0]!];
      if (format !== 'ustar' && !existsSync(join(dir, veryLong))) {
        await mkdir(join(dir, veryLong.split('/')[0]!));
        await writeFile(join(dir, veryLong), 'very long name\n');
      }
      const members = [
        'oci-layout',
        'index.json',
        'blobs',
        'hardlinked-layer',
        'config-link',
        long.split('/')[0]!,
      ];
      await exec('tar', [`--format=${format}`, '-C', dir, '-cf', tarFile, ...members, ...extra]);

      const index = await indexTar(tarFile);
      const read = async (name: string) => readTarFile(index, resolveTarFile(index, name)!, 1 << 20);
      expect((await read(long)).toString()).toBe('long name\n');
      if (format !== 'ustar') expect((await read(veryLong)).toString()).toBe('very long name\n');
      expect(index.entries.get('config-link')?.type).toBe('symlink');
      expect(sha256(await read('config-link'))).toBe(single.config.digest);
      // One of the two names of the hard-linked layer is stored as a hard link to the other.
      const layerPath = `blobs/sha256/${hexOf(single.layers[0]!.digest)}`;
      expect(
        [index.entries.get(layerPath)?.type, index.entries.get('hardlinked-layer')?.type].sort(),
      ).toEqual(['file', 'hardlink']);
      expect(sha256(await read('hardlinked-layer'))).toBe(single.layers[0]!.digest);
      await withSource(tarFile, async (src) => {
        expect(src.kind).toBe('oci-archive');
        expect((await src.rootManifest()).digest).toBe(single.manifest.digest);
        await verifyAll(src);
      });
    }
  });

  test('tar reader: base-256 sizes; sparse and device entries are unsupported when read', async () => {
    const tar = tarFiles({ 'a.txt': 'hello', 'b.bin': 'world!' });
    tar.fill(0, 124, 136);
    tar[124] = 0x80;
    tar[135] = 5; // base-256 size 5
    fixChecksum(tar, 0);
    const file = path('base256.tar');
    await writeFile(file, tar);
    const index = await indexTar(file);
    expect((await readTarFile(index, resolveTarFile(index, 'a.txt')!, 100)).toString()).toBe('hello');
    expect((await readTarFile(index, resolveTarFile(index, './b.bin')!, 100)).toString()).toBe('world!');
    expect(resolveTarFile(index, 'missing')).toBeUndefined();

    const layout = tarFiles({
      'oci-layout': JSON.stringify({ imageLayoutVersion: '1.0.0' }),
      'index.json': '{}',
    });
    layout[1024 + 156] = 'S'.charCodeAt(0); // index.json: GNU sparse
    fixChecksum(layout, 1024);
    const sparse = path('sparse.tar');
    await writeFile(sparse, layout);
    expect((await openError(`oci-archive:${sparse}`)).message).toBe(
      `unsupported tar entry: 'index.json' in archive '${sparse}' is a GNU sparse file`,
    );
    layout[1024 + 156] = '6'.charCodeAt(0); // a FIFO
    fixChecksum(layout, 1024);
    await writeFile(sparse, layout);
    expect((await openError(sparse)).message).toMatch(/^unsupported tar entry: 'index.json' .* type '6'/);

    const corrupt = Buffer.from(tar);
    corrupt[1024 + 10]! ^= 0xff; // the name of the second header
    await writeFile(file, corrupt);
    await expect(indexTar(file)).rejects.toThrow(/at offset 1024: corrupt header \(bad checksum\)/);
    await writeFile(file, tar.subarray(0, 1024 + 256));
    await expect(indexTar(file)).rejects.toThrow(/is a truncated tar archive/);
  });

  test('multi-image docker archive (merged by GNU tar, pax format): select by RepoTags or @index', async () => {
    const a = await image();
    const b = await image();
    const one = path('one.tar');
    const second = path('second.tar');
    await skopeoCopy(a.ref, `docker-archive:${one}:app:one`);
    await skopeoCopy(b.ref, `docker-archive:${second}:example.com/team/app:two`);
    const dir = path('merged');
    await mkdir(dir);
    await exec('tar', ['-C', dir, '-xf', one]);
    const firstItems = JSON.parse(await readFile(join(dir, 'manifest.json'), 'utf8')) as unknown[];
    await exec('tar', ['-C', dir, '-xf', second]);
    const secondItems = JSON.parse(await readFile(join(dir, 'manifest.json'), 'utf8')) as unknown[];
    await writeFile(join(dir, 'manifest.json'), JSON.stringify([...firstItems, ...secondItems]));
    const merged = path('merged.tar');
    await exec('tar', ['--format=pax', '-C', dir, '-cf', merged, '.']);

    const expected = async (archive: string) => (await withSource(archive, (s) => s.rootManifest())).digest;
    const digestOne = await expected(one);
    const digestTwo = await expected(second);
    expect(digestOne).not.toBe(digestTwo);
    for (const [ref, digest] of [
      ['app:one', digestOne],
      ['@0', digestOne],
      ['example.com/team/app:two', digestTwo],
      ['@1', digestTwo],
    ] as const) {
      await withSource(`docker-archive:${merged}:${ref}`, async (src) => {
        expect((await src.rootManifest()).digest).toBe(digest);
        await verifyAll(src);
      });
    }
    expect((await openError(merged)).message).toBe(
      `docker archive '${merged}' holds 2 images; name the one to use (…:<name:tag> or …:@<index>); available: ` +
        `'docker.io/library/app:one (@0)', 'example.com/team/app:two (@1)'`,
    );
  });

  test('docker-archive: legacy <id>/layer.tar symlinks and gzip layers', async () => {
    const a = await image({ tag: 'x' });
    const dir = path('legacy');
    await mkdir(dir);
    const layer = a.layers[0]!;
    const config = a.config;
    // docker ≤ 24 layout: <id>/layer.tar; here the second image's layer is a symlink to the first.
    await mkdir(join(dir, 'aaaa'));
    await writeFile(join(dir, 'aaaa', 'layer.tar'), layer.bytes); // gzip, as some tools write
    await mkdir(join(dir, 'bbbb'));
    await symlink('../aaaa/layer.tar', join(dir, 'bbbb', 'layer.tar'));
    await writeFile(join(dir, `${hexOf(config.digest)}.json`), config.bytes);
    await writeFile(
      join(dir, 'manifest.json'),
      JSON.stringify([
        { Config: `${hexOf(config.digest)}.json`, RepoTags: ['legacy:1'], Layers: ['aaaa/layer.tar'] },
        { Config: `${hexOf(config.digest)}.json`, RepoTags: null, Layers: ['bbbb/layer.tar'] },
      ]),
    );
    const archive = path('legacy.tar');
    await exec('tar', ['--format=gnu', '-C', dir, '-cf', archive, '.']);
    const roots: string[] = [];
    for (const ref of ['legacy:1', '@1']) {
      await withSource(`docker-archive:${archive}:${ref}`, async (src) => {
        const m = JSON.parse((await src.rootManifest()).bytes.toString()) as { layers: unknown[] };
        expect(m.layers).toEqual([{ mediaType: DOCKER_LAYER_GZIP, size: layer.size, digest: layer.digest }]);
        roots.push((await src.rootManifest()).digest);
        await verifyAll(src);
      });
    }
    expect(roots[0]).toBe(roots[1]);
  });

  test('docker 25+ archive (an OCI layout with manifest.json) is read as OCI; RepoTags and @N select', async () => {
    const a = await image({ tag: 'ignored' });
    const b = await image({ tag: 'ignored' });
    const entry = (img: OciLayoutImage, name: string) => ({
      mediaType: OCI_MANIFEST,
      digest: img.manifest.digest,
      size: img.manifest.size,
      annotations: {
        'io.containerd.image.name': `docker.io/library/${name}`,
        'org.opencontainers.image.ref.name': name.split(':')[1],
      },
    });
    const files: Record<string, Buffer | string> = {
      'oci-layout': JSON.stringify({ imageLayoutVersion: '1.0.0' }),
      'index.json': JSON.stringify({
        schemaVersion: 2,
        mediaType: OCI_INDEX,
        manifests: [entry(a, 'web:1'), entry(b, 'web:2')],
      }),
      'manifest.json': JSON.stringify(
        [a, b].map((img, i) => ({
          Config: `blobs/sha256/${hexOf(img.config.digest)}`,
          RepoTags: [`web:${i + 1}`],
          Layers: img.layers.map((l) => `blobs/sha256/${hexOf(l.digest)}`),
        })),
      ),
    };
    for (const img of [a, b]) {
      for (const blob of [img.manifest, img.config, ...img.layers])
        files[`blobs/sha256/${hexOf(blob.digest)}`] = blob.bytes;
    }
    const archive = path('docker25.tar');
    await writeFile(archive, tarFiles(files));
    for (const [ref, img] of [
      ['web:1', a],
      ['docker.io/library/web:2', b],
      ['@0', a],
      ['@1', b],
    ] as const) {
      await withSource(`docker-archive:${archive}:${ref}`, async (src) => {
        expect(src.kind).toBe('docker-archive');
        const root = await src.rootManifest();
        expect(root.digest).toBe(img.manifest.digest);
        expect(root.mediaType).toBe(OCI_MANIFEST);
        await verifyAll(src);
      });
    }
    expect((await openError(archive)).message).toMatch(
      /holds 2 images; .* available: 'web:1 \(@0\)', 'web:2 \(@1\)'$/,
    );
    expect((await openError(`docker-archive:${archive}:web:3`)).message).toBe(
      `no image tagged 'web:3' in docker archive '${archive}'; available: 'web:1 (@0)', 'web:2 (@1)'`,
    );
  });

  test('multi-arch and nested indexes: skopeo agrees on the root; the walk puts children before parents', async () => {
    const shared = { 'shared.txt': 'the same layer in every platform\n' };
    const amd = await image({ files: shared });
    const arm = await image({ files: shared });
    const extra = await image();
    expect(amd.layers[0]!.digest).toBe(arm.layers[0]!.digest);
    const dir = path('multi');
    await mkdir(join(dir, 'blobs', 'sha256'), { recursive: true });
    const put = async (bytes: Buffer) => {
      await writeFile(join(dir, 'blobs', 'sha256', hexOf(sha256(bytes))), bytes);
      return { digest: sha256(bytes), size: bytes.length };
    };
    for (const img of [amd, arm, extra]) {
      for (const blob of [img.manifest, img.config, ...img.layers]) await put(blob.bytes);
    }
    const child = (img: OciLayoutImage, architecture: string, variant?: string) => ({
      mediaType: OCI_MANIFEST,
      digest: img.manifest.digest,
      size: img.manifest.size,
      platform: { architecture, os: 'linux', ...(variant ? { variant } : {}) },
    });
    const innerBytes = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: OCI_INDEX,
        manifests: [child(amd, 'amd64'), child(arm, 'arm64', 'v8')],
      }),
    );
    const inner = await put(innerBytes);
    const outerBytes = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: OCI_INDEX,
        manifests: [{ mediaType: OCI_INDEX, ...inner }, child(extra, 's390x'), child(amd, 'amd64')],
      }),
    );
    const outer = await put(outerBytes);
    await writeFile(join(dir, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
    const name = (n: string) => ({ annotations: { 'org.opencontainers.image.ref.name': n } });
    await writeFile(
      join(dir, 'index.json'),
      JSON.stringify({
        schemaVersion: 2,
        manifests: [
          { mediaType: OCI_INDEX, ...inner, ...name('multi') },
          { mediaType: OCI_INDEX, ...outer, ...name('nested') },
        ],
      }),
    );

    await withSource(`oci:${dir}:multi`, async (src) => {
      const root = await src.rootManifest();
      expect(root).toEqual({ bytes: innerBytes, digest: inner.digest, mediaType: OCI_INDEX });
      expect(root.bytes.toString()).toBe(await rawOf(`oci:${dir}:multi`));
      const items = await verifyAll(src);
      expectChildrenFirst(items, inner.digest);
      expect(digests(items)).toEqual([
        amd.config.digest,
        amd.layers[0]!.digest,
        amd.manifest.digest,
        arm.config.digest,
        arm.manifest.digest, // the shared layer comes once
        inner.digest,
      ]);
      const armItem = items.find((i) => i.descriptor.digest === arm.manifest.digest);
      expect(armItem).toMatchObject({
        type: 'manifest',
        role: 'manifest',
        parent: inner.digest,
        descriptor: { platform: { architecture: 'arm64', os: 'linux', variant: 'v8' } },
      });
      // A walk from a child manifest covers that platform only.
      expect(digests(await collect(src, arm.manifest.digest))).toEqual([
        arm.config.digest,
        arm.layers[0]!.digest,
        arm.manifest.digest,
      ]);
    });
    await withSource(`oci:${dir}:nested`, async (src) => {
      const items = await verifyAll(src);
      expectChildrenFirst(items, outer.digest);
      expect(
        items.filter((i) => i.type === 'manifest').map((i) => (i.type === 'manifest' ? i.role : '')),
      ).toEqual(['manifest', 'manifest', 'index', 'manifest', 'index']);
      expect(items).toHaveLength(3 + 2 + 1 + 3 + 1);
    });
    // skopeo copies the whole multi-arch image into an archive, keeping the digests.
    const archive = path('multi.tar');
    await skopeoCopy('--all', '--preserve-digests', `oci:${dir}:multi`, `oci-archive:${archive}:multi`);
    await withSource(archive, async (src) => {
      expect((await src.rootManifest()).digest).toBe(inner.digest);
      expectChildrenFirst(await verifyAll(src), inner.digest);
    });
  });

  test('corrupt content fails with a digest-mismatch error (layout, oci-archive, docker-archive)', async () => {
    const img = await image({ randomBytes: 200_000 });
    const layer = img.layers[0]!;
    const layerFile = join(img.dir, 'blobs', 'sha256', hexOf(layer.digest));
    const archive = path('corrupt-oci.tar');
    const dockerTar = path('corrupt-docker.tar');
    await skopeoCopy(img.ref, `oci-archive:${archive}:c`);
    await skopeoCopy(img.ref, `docker-archive:${dockerTar}:corrupt:1`);
    await flipByte(layerFile, 1000);

    await withSource(img.dir, async (src) => {
      await src.rootManifest();
      const { stream, size } = await src.openBlob(layer.digest);
      expect(size).toBe(layer.size);
      const failure = await drain(stream).catch((e: unknown) => e);
      expect(failure).toBeInstanceOf(BlobDigestMismatchError);
      expect(failure).toBeInstanceOf(ConfigurationError);
      expect((failure as Error).message).toMatch(
        new RegExp(
          `^digest mismatch: blob ${layer.digest} in oci-layout:.* is corrupt: its content hashes to sha256:`,
        ),
      );
      // The other blobs are fine.
      expect((await drain((await src.openBlob(img.config.digest)).stream)).digest).toBe(img.config.digest);
      await expect(src.openBlob(`sha256:${'0'.repeat(64)}`)).rejects.toThrow(
        /^blob sha256:0{64} not found in oci-layout:/,
      );
      await expect(src.openBlob('sha256:../../etc/passwd')).rejects.toThrow(
        /invalid sha256 digest|invalid digest/,
      );
    });

    // A truncated blob: the size the manifest gives is checked when the blob is opened.
    const short = await image();
    const shortLayer = join(short.dir, 'blobs', 'sha256', hexOf(short.layers[0]!.digest));
    await writeFile(shortLayer, short.layers[0]!.bytes.subarray(0, 100));
    await withSource(short.dir, async (src) => {
      await src.rootManifest();
      await expect(src.openBlob(short.layers[0]!.digest)).rejects.toThrow(
        new RegExp(
          `^digest mismatch: blob ${short.layers[0]!.digest} .* expected ${short.layers[0]!.size} bytes, read 100$`,
        ),
      );
    });
    // A corrupt manifest blob.
    await flipByte(join(short.dir, 'blobs', 'sha256', hexOf(short.manifest.digest)), 5);
    await withSource(short.dir, async (src) => {
      await expect(src.rootManifest()).rejects.toThrow(BlobDigestMismatchError);
    });

    // Inside an archive: find the layer's bytes and flip one.
    const tarBytes = await readFile(archive);
    const at = tarBytes.indexOf(layer.bytes.subarray(0, 4096));
    expect(at).toBeGreaterThan(0);
    await flipByte(archive, at + 2000);
    await withSource(archive, async (src) => {
      await expect(drain((await src.openBlob(layer.digest)).stream)).rejects.toThrow(BlobDigestMismatchError);
    });
    // A docker archive's uncompressed layer is checked against the config's DiffIDs.
    await flipByte(dockerTar, (await readFile(dockerTar)).indexOf(Buffer.from('hello from kiln')) + 1);
    await withSource(dockerTar, async (src) => {
      await expect(src.rootManifest()).rejects.toThrow(
        /^digest mismatch: blob sha256:[a-f0-9]{64} in docker-archive:/,
      );
    });
  });

  test('bad specs and malformed inputs give one clear ConfigurationError each', async () => {
    const missing = path('does-not-exist');
    expect((await openError(`oci:${missing}`)).message).toBe(
      `image source 'oci:${missing}': '${missing}' does not exist`,
    );
    expect((await openError(missing)).message).toContain('does not exist');
    expect((await openError(`oci:${ociArchive}`)).message).toMatch(
      /is a file, not an OCI layout directory .*'oci-archive:'/,
    );

    const empty = path('empty-dir');
    await mkdir(empty);
    expect((await openError(empty)).message).toBe(
      `OCI layout '${empty}' is not an OCI image layout: it has no 'oci-layout' file`,
    );
    await writeFile(join(empty, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '2.0.0' }));
    expect((await openError(`oci:${empty}`)).message).toMatch(/imageLayoutVersion "2.0.0"; expected "1.0.0"/);
    await writeFile(join(empty, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
    expect((await openError(`oci:${empty}`)).message).toMatch(/it has no 'index.json'/);
    await writeFile(join(empty, 'index.json'), '{ not json');
    expect((await openError(`oci:${empty}`)).message).toMatch(
      /^'index.json' in OCI layout '.*' is not valid JSON/,
    );
    await writeFile(join(empty, 'index.json'), JSON.stringify({ schemaVersion: 2, manifests: [] }));
    expect((await openError(`oci:${empty}`)).message).toMatch(
      /holds no image: its index.json lists no manifests/,
    );
    await writeFile(
      join(empty, 'index.json'),
      JSON.stringify({
        schemaVersion: 2,
        manifests: [{ mediaType: OCI_MANIFEST, digest: 'md5:abc', size: 1 }],
      }),
    );
    expect((await openError(`oci:${empty}`)).message).toMatch(
      /manifests\[0\]: unsupported digest algorithm 'md5' in 'md5:abc'/,
    );

    expect((await openError(`oci-archive:${dockerArchive}`)).message).toBe(
      `image source 'oci-archive:${dockerArchive}': '${dockerArchive}' is a docker archive, not an OCI archive; use 'docker-archive:${dockerArchive}'`,
    );
    expect((await openError(`docker-archive:${ociArchive}`)).message).toBe(
      `'${ociArchive}' is an OCI archive, not a docker archive (it has no 'manifest.json'); use 'oci-archive:${ociArchive}'`,
    );
    const garbage = path('garbage.tar');
    await writeFile(garbage, randomBytes(4096));
    expect((await openError(garbage)).message).toMatch(
      /is not a tar archive \(bad header checksum\)|compressed/,
    );
    await writeFile(garbage, Buffer.concat([Buffer.from([0x28, 0xb5, 0x2f, 0xfd]), randomBytes(100)]));
    expect((await openError(garbage)).message).toBe(
      `archive '${garbage}' is zstd-compressed; only tar and gzip tar are supported`,
    );
    const notImage = path('not-image.tar');
    await writeFile(notImage, tarFiles({ 'README.md': 'hello' }));
    expect((await openError(notImage)).message).toMatch(/is neither an OCI archive .* nor a docker archive/);
    const legacy = path('legacy-repositories.tar');
    await writeFile(legacy, tarFiles({ repositories: '{}' }));
    expect((await openError(`docker-archive:${legacy}`)).message).toMatch(/pre-1.10 'docker save' format/);
    const badGzip = path('bad.tar.gz');
    await writeFile(badGzip, Buffer.concat([Buffer.from([0x1f, 0x8b, 8, 0]), randomBytes(64)]));
    expect((await openError(badGzip)).message).toMatch(/^cannot decompress gzip archive/);
  });

  test('a 50 MB layer streams with bounded memory (from a layout and from an archive)', async () => {
    const size = 50 * 1024 * 1024;
    const base = await image({ files: { 'x.txt': 'x' } });
    const dir = path('big');
    await mkdir(join(dir, 'blobs', 'sha256'), { recursive: true });
    const tmpLayer = join(dir, 'layer.tmp');
    const layerDigest = await writeRandomFile(tmpLayer, size);
    await cp(tmpLayer, join(dir, 'blobs', 'sha256', hexOf(layerDigest)));
    const manifest = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: OCI_MANIFEST,
        config: { mediaType: base.config.mediaType, digest: base.config.digest, size: base.config.size },
        layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: layerDigest, size }],
      }),
    );
    await writeFile(join(dir, 'blobs', 'sha256', hexOf(base.config.digest)), base.config.bytes);
    await writeFile(join(dir, 'blobs', 'sha256', hexOf(sha256(manifest))), manifest);
    await writeFile(join(dir, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
    await writeFile(
      join(dir, 'index.json'),
      JSON.stringify({
        schemaVersion: 2,
        manifests: [{ mediaType: OCI_MANIFEST, digest: sha256(manifest), size: manifest.length }],
      }),
    );
    await removeDir(tmpLayer);
    const archive = path('big.tar');
    await exec('tar', ['-C', dir, '-cf', archive, 'oci-layout', 'index.json', 'blobs']);

    for (const spec of [`oci:${dir}`, `oci-archive:${archive}`]) {
      await withSource(spec, async (src) => {
        await src.rootManifest();
        const before = process.memoryUsage().rss;
        let peak = before;
        const { stream } = await src.openBlob(layerDigest);
        const hash = createHash('sha256');
        let read = 0;
        for await (const chunk of stream as AsyncIterable<Buffer>) {
          hash.update(chunk);
          read += chunk.length;
          peak = Math.max(peak, process.memoryUsage().rss);
        }
        expect(read).toBe(size);
        expect(`sha256:${hash.digest('hex')}`).toBe(layerDigest);
        expect(peak - before).toBeLessThan(16 * 1024 * 1024);
      });
    }
  });

  // CI installs buildah (.ci/run): a missing tool fails here rather than skipping quietly.
  test('an image built by buildah (from scratch, copy, commit, push oci-archive and docker-archive)', async () => {
    if (!which('buildah')) throw new Error('this test needs buildah: apt-get install -y buildah');
    const root = path('buildah');
    await mkdir(join(root, 'ctx'), { recursive: true });
    await writeFile(join(root, 'ctx', 'hello.txt'), 'built by buildah\n');
    const policy = join(root, 'policy.json');
    await writeFile(policy, JSON.stringify({ default: [{ type: 'insecureAcceptAnything' }] }));
    const env = {
      PATH: process.env.PATH,
      HOME: root,
      XDG_RUNTIME_DIR: join(root, 'run'),
      BUILDAH_ISOLATION: 'chroot',
      TMPDIR: root,
    };
    const buildah = async (...args: string[]) =>
      (
        await exec(
          'buildah',
          [
            '--root',
            join(root, 'storage'),
            '--runroot',
            join(root, 'runroot'),
            '--storage-driver',
            'vfs',
            ...args,
          ],
          { env, timeoutMs: 60_000 },
        )
      ).stdout.trim();
    const container = await buildah('from', 'scratch');
    await buildah('copy', container, join(root, 'ctx', 'hello.txt'), '/hello.txt');
    await buildah(
      'config',
      '--cmd',
      '/hello.txt',
      '--label',
      'org.opencontainers.image.title=kiln',
      container,
    );
    await buildah('commit', '--quiet', '--signature-policy', policy, container, 'kiln-built:1');
    const ociTar = join(root, 'built-oci.tar');
    const dockerTar = join(root, 'built-docker.tar');
    await buildah(
      'push',
      '--quiet',
      '--signature-policy',
      policy,
      'kiln-built:1',
      `oci-archive:${ociTar}:kiln-built:1`,
    );
    await buildah(
      'push',
      '--quiet',
      '--signature-policy',
      policy,
      'kiln-built:1',
      `docker-archive:${dockerTar}:kiln-built:1`,
    );

    await withSource(`oci-archive:${ociTar}:kiln-built:1`, async (src) => {
      const manifest = await src.rootManifest();
      expect(manifest.bytes.toString()).toBe(await rawOf(`oci-archive:${ociTar}`));
      const items = await verifyAll(src);
      expect(items.map((i) => i.type)).toEqual(['blob', 'blob', 'manifest']);
    });
    await withSource(dockerTar, async (src) => {
      expect(src.kind).toBe('docker-archive');
      expect(src.describe()).toBe(`docker-archive:${dockerTar}:docker.io/library/kiln-built:1`);
      await withSource(`docker-archive:${dockerTar}:kiln-built:1`, async (again) =>
        expect((await again.rootManifest()).digest).toBe((await src.rootManifest()).digest),
      );
      await verifyAll(src);
    });
  });
});
