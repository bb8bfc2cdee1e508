/**
 * `openImageSource(spec)`: parses a source spec the way skopeo names transports and opens the image.
 *
 *     oci:<dir>[:<ref>]                 an OCI image layout directory; <ref> is an org.opencontainers.image.ref.name
 *                                       (or @sha256:… for an index.json entry by digest)
 *     oci-archive:<file>[:<ref>]        the same, as a tar (or tar.gz) archive
 *     docker-archive:<file>[:<ref>]     a `docker save` archive; <ref> is name:tag (RepoTags) or @N (its index)
 *     <path>                            a directory with an oci-layout file, or an archive of either kind,
 *                                       detected by content
 *
 * As in skopeo, the path ends at the first `:` after the transport, so a ref may contain colons (`app:1`) and a
 * path may not. Uncompressed archives are indexed in place (entries streamed by offset, nothing extracted); a
 * gzip-compressed archive is first decompressed to a temp file, removed by `close()`.
 */
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdtemp, open as openFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import { ConfigurationError } from '../../errors.js';
import type { Logger } from '../../platform/types.js';
import { sniffCompression } from './compression.js';
import { openDockerArchive } from './docker-archive.js';
import { OciImageSource, REF_NAME_ANNOTATION, readOciLayout, selectByRefName } from './oci.js';
import { DirStore, TarStore } from './store.js';
import { indexTar } from './tar.js';
import type { ImageSource, OpenImageSourceOptions } from './types.js';
import { parseImageSourceSpec } from './spec.js';

export { parseImageSourceSpec, type ImageSourceSpec } from './spec.js';

/** Stat that says "missing" instead of throwing. */
async function statOrUndefined(path: string) {
  try {
    return await stat(path);
  } catch (err) {
    if (
      (err as NodeJS.ErrnoException).code === 'ENOENT' ||
      (err as NodeJS.ErrnoException).code === 'ENOTDIR'
    ) {
      return undefined;
    }
    throw new ConfigurationError(`cannot read '${path}': ${(err as Error).message}`, { cause: err });
  }
}

/** An indexed archive, and how to release it. */
interface OpenedArchive {
  store: TarStore;
  cleanup: () => Promise<void>;
}

/** Indexes an archive; a gzip one is decompressed to a temp file first. */
async function openArchive(file: string, opts: OpenImageSourceOptions): Promise<OpenedArchive> {
  const head = Buffer.alloc(6);
  const fh = await openFile(file, 'r').catch((err: Error) => {
    throw new ConfigurationError(`cannot open archive '${file}': ${err.message}`, { cause: err });
  });
  try {
    await fh.read(head, 0, 6, 0);
  } finally {
    await fh.close();
  }
  const compression = sniffCompression(head);
  if (compression && compression !== 'gzip') {
    throw new ConfigurationError(
      `archive '${file}' is ${compression}-compressed; only tar and gzip tar are supported`,
    );
  }
  if (compression !== 'gzip') {
    return { store: new TarStore(await indexTar(file)), cleanup: async () => undefined };
  }
  const dir = await mkdtemp(join(opts.tmpDir ?? tmpdir(), 'kiln-image-'));
  const cleanup = () => rm(dir, { recursive: true, force: true });
  try {
    const tar = join(dir, 'archive.tar');
    const started = Date.now();
    try {
      await pipeline(createReadStream(file), createGunzip(), createWriteStream(tar));
    } catch (err) {
      throw new ConfigurationError(`cannot decompress gzip archive '${file}': ${(err as Error).message}`, {
        cause: err,
      });
    }
    opts.logger?.debug(`decompressed '${file}' to ${tar} in ${Date.now() - started} ms`);
    return { store: new TarStore(await indexTar(tar, file)), cleanup };
  } catch (err) {
    await cleanup();
    throw err;
  }
}

/** Opens an OCI layout read through `store` (a directory or an archive). */
async function openOci(
  kind: 'oci-layout' | 'oci-archive',
  store: DirStore | TarStore,
  location: string,
  ref: string | undefined,
  logger: Logger | undefined,
  onClose?: () => Promise<void>,
): Promise<ImageSource> {
  const where = kind === 'oci-layout' ? `OCI layout '${location}'` : `OCI archive '${location}'`;
  const layout = await readOciLayout(store, where);
  const root = selectByRefName(layout, ref, where);
  const name = ref ?? root.annotations?.[REF_NAME_ANNOTATION];
  logger?.debug(`${where}: selected ${root.mediaType} ${root.digest}${name ? ` ('${name}')` : ''}`);
  return new OciImageSource(
    kind,
    store,
    root,
    `${kind}:${location}${name ? `:${name}` : ''}`,
    logger,
    onClose,
  );
}

/**
 * Opens the image a spec names (see the module comment for the forms). Errors are {@link ConfigurationError}s
 * that say what is missing or wrong and what is available. Call `close()` on the result when done.
 */
export async function openImageSource(spec: string, opts: OpenImageSourceOptions = {}): Promise<ImageSource> {
  const parsed = parseImageSourceSpec(spec);
  let path = resolve(parsed.path);
  let ref = parsed.ref;
  let st = await statOrUndefined(path);
  if (!st && parsed.transport === 'path' && parsed.path.includes(':')) {
    // A bare '<path>:<ref>': the path ends at the first colon, as with the transports.
    const colon = parsed.path.indexOf(':');
    const candidate = resolve(parsed.path.slice(0, colon));
    const candidateStat = parsed.path.slice(0, colon) ? await statOrUndefined(candidate) : undefined;
    if (candidateStat) {
      path = candidate;
      ref = parsed.path.slice(colon + 1) || undefined;
      st = candidateStat;
    }
  }
  if (!st) throw new ConfigurationError(`image source '${spec}': '${path}' does not exist`);
  const logger = opts.logger;

  if (parsed.transport === 'oci' || (parsed.transport === 'path' && st.isDirectory())) {
    if (!st.isDirectory()) {
      throw new ConfigurationError(
        `image source '${spec}': '${path}' is a file, not an OCI layout directory (for an archive use 'oci-archive:' or 'docker-archive:')`,
      );
    }
    return openOci('oci-layout', new DirStore(path), path, ref, logger);
  }
  if (!st.isFile()) throw new ConfigurationError(`image source '${spec}': '${path}' is not a regular file`);

  const archive = await openArchive(path, opts);
  try {
    const { store } = archive;
    const isOci = (await store.has('oci-layout')) || (await store.has('index.json'));
    const isDocker = await store.has('manifest.json');
    let transport = parsed.transport;
    if (transport === 'path') {
      if (isDocker) transport = 'docker-archive';
      else if (isOci) transport = 'oci-archive';
      else {
        throw new ConfigurationError(
          `image source '${spec}': '${path}' is neither an OCI archive (no oci-layout / index.json) nor a docker archive (no manifest.json)`,
        );
      }
      logger?.debug(`'${path}' detected as ${transport}`);
    }
    if (transport === 'oci-archive') {
      if (!isOci && isDocker) {
        throw new ConfigurationError(
          `image source '${spec}': '${path}' is a docker archive, not an OCI archive; use 'docker-archive:${path}'`,
        );
      }
      return await openOci('oci-archive', store, path, ref, logger, archive.cleanup);
    }
    return await openDockerArchive(store, path, ref, { logger, onClose: archive.cleanup });
  } catch (err) {
    await archive.cleanup();
    throw err;
  }
}
