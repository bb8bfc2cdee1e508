/**
 * Writes a large OCI image layout for the registry benchmarks, streamed to disk (never whole in memory):
 * `layers` layers of incompressible random bytes (one file per layer in a tar), each stored as gzip level 0
 * (`application/vnd.oci.image.layer.v1.tar+gzip`, a valid gzip stream of stored blocks: real media type, no
 * compression cost, blob size ≈ data size), plus a config, a manifest and `index.json` naming it `tag`.
 */
import { createHash, randomFillSync, type Hash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable, Transform, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';

export const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';
const OCI_CONFIG = 'application/vnd.oci.image.config.v1+json';
const LAYER_GZIP = 'application/vnd.oci.image.layer.v1.tar+gzip';

export interface BenchImage {
  dir: string;
  tag: string;
  /** `oci:<dir>:<tag>` (skopeo's and Kiln's source spec). */
  ref: string;
  manifestDigest: string;
  /** Config + layer sizes: what a full push uploads. */
  blobBytes: number;
  layerSizes: number[];
  /** Blob count (config + layers). */
  blobs: number;
}

const sha256 = (b: Buffer): string => `sha256:${createHash('sha256').update(b).digest('hex')}`;

/** A ustar header for one regular file. */
function tarHeader(name: string, size: number): Buffer {
  const h = Buffer.alloc(512, 0);
  const put = (value: string, offset: number, length: number) => h.write(value, offset, length, 'ascii');
  const octal = (n: number, length: number) => n.toString(8).padStart(length - 1, '0') + '\0';
  put(name, 0, 100);
  put(octal(0o644, 8), 100, 8);
  put(octal(0, 8), 108, 8);
  put(octal(0, 8), 116, 8);
  put(octal(size, 12), 124, 12);
  put(octal(0, 12), 136, 12);
  put('        ', 148, 8);
  put('0', 156, 1);
  put('ustar\0', 257, 6);
  put('00', 263, 2);
  let sum = 0;
  for (const byte of h) sum += byte;
  put(sum.toString(8).padStart(6, '0') + '\0 ', 148, 8);
  return h;
}

/** The tar stream of one file of `size` random bytes, produced 1 MiB at a time. */
function* randomTar(name: string, size: number): Generator<Buffer> {
  yield tarHeader(name, size);
  const chunk = 1 << 20;
  for (let left = size; left > 0; left -= chunk)
    yield randomFillSync(Buffer.allocUnsafe(Math.min(chunk, left)));
  yield Buffer.alloc(((512 - (size % 512)) % 512) + 1024); // padding + end-of-archive
}

/** Passes bytes through, hashing and counting them. */
class Tap extends Transform {
  bytes = 0;
  constructor(readonly hash: Hash) {
    super();
  }
  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.hash.update(chunk);
    this.bytes += chunk.length;
    cb(null, chunk);
  }
}

/** Writes one layer blob; returns its descriptor and the tar's digest (the config's diff_id). */
async function writeLayer(
  blobDir: string,
  name: string,
  size: number,
): Promise<{ digest: string; size: number; diffId: string }> {
  const tarTap = new Tap(createHash('sha256'));
  const blobTap = new Tap(createHash('sha256'));
  const tmp = join(blobDir, `.tmp-${name.replace(/\W/g, '_')}`);
  await pipeline(
    Readable.from(randomTar(name, size), { objectMode: false }),
    tarTap,
    createGzip({ level: 0 }),
    blobTap,
    createWriteStream(tmp),
  );
  const hex = blobTap.hash.digest('hex');
  await rename(tmp, join(blobDir, hex));
  return { digest: `sha256:${hex}`, size: blobTap.bytes, diffId: `sha256:${tarTap.hash.digest('hex')}` };
}

/** Writes the image (see the module comment) into `dir` and returns what it wrote. */
export async function writeBenchImage(
  dir: string,
  opts: { totalBytes: number; layers: number; tag?: string; seed?: string },
): Promise<BenchImage> {
  const tag = opts.tag ?? 'v1';
  const blobDir = join(dir, 'blobs', 'sha256');
  await mkdir(blobDir, { recursive: true });
  const per = Math.floor(opts.totalBytes / opts.layers);
  const layers: Array<{ digest: string; size: number; diffId: string }> = [];
  for (let i = 0; i < opts.layers; i++) layers.push(await writeLayer(blobDir, `layer${i}/data.bin`, per));

  const configBytes = Buffer.from(
    JSON.stringify({
      architecture: 'amd64',
      os: 'linux',
      config: { Labels: { 'org.opencontainers.image.title': 'kiln-bench', seed: opts.seed ?? '' } },
      rootfs: { type: 'layers', diff_ids: layers.map((l) => l.diffId) },
    }),
  );
  const config = { mediaType: OCI_CONFIG, digest: sha256(configBytes), size: configBytes.length };
  const manifestBytes = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: OCI_MANIFEST,
      config,
      layers: layers.map((l) => ({ mediaType: LAYER_GZIP, digest: l.digest, size: l.size })),
    }),
  );
  const manifestDigest = sha256(manifestBytes);
  await writeFile(join(blobDir, config.digest.slice(7)), configBytes);
  await writeFile(join(blobDir, manifestDigest.slice(7)), manifestBytes);
  await writeFile(join(dir, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
  await writeFile(
    join(dir, 'index.json'),
    JSON.stringify({
      schemaVersion: 2,
      mediaType: OCI_INDEX,
      manifests: [
        {
          mediaType: OCI_MANIFEST,
          digest: manifestDigest,
          size: manifestBytes.length,
          annotations: { 'org.opencontainers.image.ref.name': tag },
        },
      ],
    }),
  );
  return {
    dir,
    tag,
    ref: `oci:${dir}:${tag}`,
    manifestDigest,
    blobBytes: config.size + layers.reduce((n, l) => n + l.size, 0),
    layerSizes: layers.map((l) => l.size),
    blobs: layers.length + 1,
  };
}
