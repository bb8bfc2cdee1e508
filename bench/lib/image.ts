/**
 * Writes a large OCI image layout for the registry benchmarks, streamed to disk (never whole in memory):
 * `layers` layers of incompressible random bytes (one file per layer in a tar), each stored as gzip level 0
 * (`application/vnd.oci.image.layer.v1.tar+gzip`, a valid gzip stream of stored blocks: real media type, no
 * compression cost, blob size ≈ data size); the config, manifest and `index.json` come from the tests' one
 * layout writer (test/sim/registry/oci-layout.ts).
 */
import { createHash, randomFillSync, type Hash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, rename } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable, Transform, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import { tarHeader, writeImageLayout } from '../../test/sim/registry/oci-layout.js';

export const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
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

  const { config, manifest } = await writeImageLayout(dir, {
    tag,
    layers: layers.map((l) => ({ mediaType: LAYER_GZIP, ...l })),
    labels: { 'org.opencontainers.image.title': 'kiln-bench', seed: opts.seed ?? '' },
  });
  const manifestDigest = manifest.digest;
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
