/**
 * The one OCI image layout writer of the tests and the benchmarks (`oci-layout`, `index.json`, `blobs/sha256/…`),
 * with node:crypto and node:zlib only, so tests can push a real image with real clients (`skopeo copy
 * oci:<dir>:<tag> …`): {@link writeOciLayout} writes a tiny image in memory; the benchmarks stream large layers
 * themselves (bench/lib/image.ts) and finish the layout with {@link writeImageLayout}.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';

/** A blob written into the layout. */
export interface LayoutBlob {
  mediaType: string;
  digest: string;
  size: number;
  bytes: Buffer;
}

/** What {@link writeOciLayout} wrote. */
export interface OciLayoutImage {
  dir: string;
  tag: string;
  /** `oci:<dir>:<tag>`, the skopeo source reference. */
  ref: string;
  manifest: LayoutBlob;
  config: LayoutBlob;
  layers: LayoutBlob[];
  /** Sum of config and layer sizes: the blob bytes a full push uploads. */
  blobBytes: number;
}

const sha256 = (b: Buffer): string => `sha256:${createHash('sha256').update(b).digest('hex')}`;

/** One ustar header block for a regular file (mode 0644, owner root). */
export function tarHeader(name: string, size: number, mtime = 0): Buffer {
  const h = Buffer.alloc(512, 0);
  const put = (value: string, offset: number, length: number) => h.write(value, offset, length, 'ascii');
  const octal = (n: number, length: number) => n.toString(8).padStart(length - 1, '0') + '\0';
  put(name, 0, 100);
  put(octal(0o644, 8), 100, 8);
  put(octal(0, 8), 108, 8);
  put(octal(0, 8), 116, 8);
  put(octal(size, 12), 124, 12);
  put(octal(mtime, 12), 136, 12);
  put('        ', 148, 8); // checksum placeholder: eight spaces
  put('0', 156, 1);
  put('ustar\0', 257, 6);
  put('00', 263, 2);
  put('root', 265, 32);
  put('root', 297, 32);
  let sum = 0;
  for (const byte of h) sum += byte;
  put(sum.toString(8).padStart(6, '0') + '\0 ', 148, 8);
  return h;
}

/** An uncompressed tar archive of regular files. */
export function tarFiles(files: Record<string, Buffer | string>, mtime = 0): Buffer {
  const parts: Buffer[] = [];
  for (const [name, content] of Object.entries(files)) {
    const data = Buffer.from(content);
    parts.push(tarHeader(name, data.length, mtime), data, Buffer.alloc((512 - (data.length % 512)) % 512));
  }
  parts.push(Buffer.alloc(1024));
  return Buffer.concat(parts);
}

/**
 * Writes an image into `dir`: one gzip layer holding `files` (default: a small text file plus `randomBytes`
 * of incompressible data, so the upload size is predictable), a config, a manifest, and an index naming it
 * `tag`. Different `seed` strings give images with different digests.
 */
export async function writeOciLayout(
  dir: string,
  opts: { tag?: string; files?: Record<string, Buffer | string>; randomBytes?: number; seed?: string } = {},
): Promise<OciLayoutImage> {
  const tag = opts.tag ?? 'latest';
  const files = opts.files ?? {
    'hello.txt': `hello from kiln ${opts.seed ?? ''}\n`,
    'noise.bin': randomBytes(opts.randomBytes ?? 64 * 1024),
  };
  const tar = tarFiles(files);
  const layerBytes = gzipSync(tar);
  const layer: LayoutBlob = {
    mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip',
    digest: sha256(layerBytes),
    size: layerBytes.length,
    bytes: layerBytes,
  };
  const blobDir = join(dir, 'blobs', 'sha256');
  await mkdir(blobDir, { recursive: true });
  await writeFile(join(blobDir, layer.digest.slice('sha256:'.length)), layer.bytes);
  const { config, manifest } = await writeImageLayout(dir, {
    tag,
    layers: [{ ...layer, diffId: sha256(tar) }],
    labels: { 'org.opencontainers.image.title': 'kiln-test', seed: opts.seed ?? '' },
  });
  return {
    dir,
    tag,
    ref: `oci:${dir}:${tag}`,
    manifest,
    config,
    layers: [layer],
    blobBytes: config.size + layer.size,
  };
}

/** A layer blob already in `blobs/sha256/`, with the digest of its uncompressed tar. */
export interface WrittenLayer {
  mediaType: string;
  digest: string;
  size: number;
  diffId: string;
}

/**
 * Finishes a layout whose layer blobs are written: the config (linux/amd64, `labels`), the manifest, `oci-layout`
 * and `index.json` naming the manifest `tag`.
 */
export async function writeImageLayout(
  dir: string,
  opts: { tag: string; layers: WrittenLayer[]; labels: Record<string, string> },
): Promise<{ config: LayoutBlob; manifest: LayoutBlob }> {
  const blob = (mediaType: string, bytes: Buffer): LayoutBlob => ({
    mediaType,
    digest: sha256(bytes),
    size: bytes.length,
    bytes,
  });
  const config = blob(
    'application/vnd.oci.image.config.v1+json',
    Buffer.from(
      JSON.stringify({
        architecture: 'amd64',
        os: 'linux',
        config: { Labels: opts.labels },
        rootfs: { type: 'layers', diff_ids: opts.layers.map((l) => l.diffId) },
      }),
    ),
  );
  const manifest = blob(
    'application/vnd.oci.image.manifest.v1+json',
    Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: 'application/vnd.oci.image.manifest.v1+json',
        config: { mediaType: config.mediaType, digest: config.digest, size: config.size },
        layers: opts.layers.map((l) => ({ mediaType: l.mediaType, digest: l.digest, size: l.size })),
      }),
    ),
  );
  const blobDir = join(dir, 'blobs', 'sha256');
  await mkdir(blobDir, { recursive: true });
  for (const b of [config, manifest])
    await writeFile(join(blobDir, b.digest.slice('sha256:'.length)), b.bytes);
  await writeFile(join(dir, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
  await writeFile(
    join(dir, 'index.json'),
    JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.index.v1+json',
      manifests: [
        {
          mediaType: manifest.mediaType,
          digest: manifest.digest,
          size: manifest.size,
          annotations: { 'org.opencontainers.image.ref.name': opts.tag },
        },
      ],
    }),
  );
  return { config, manifest };
}
