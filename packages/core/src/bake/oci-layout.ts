/**
 * Writes a bake into an OCI image layout directory (`oci-layout`, `index.json`, `blobs/sha256/…`), for a
 * local-only bake that push-registry (or skopeo) pushes later.
 *
 * Blobs are written to a temp file in the layout and renamed into place once complete and verified, so a blob
 * file is never partial; a blob already present with the right size is kept. `index.json` is rewritten (temp
 * file + rename) with the new image named by `org.opencontainers.image.ref.name`, replacing an entry with the same
 * name and keeping the others. A directory that is not empty and not a layout is refused.
 */
import { randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { ConfigurationError } from '../errors.js';
import { REF_NAME_ANNOTATION } from '../image/source/oci.js';
import { DigestVerifier } from '../registry/digest.js';
import { OCI_INDEX } from '../registry/media-types.js';
import type { Descriptor } from '../registry/types.js';

/** An OCI layout being written. */
export class OciLayoutWriter {
  private constructor(readonly dir: string) {}

  /** Opens (creating) `dir` as a layout: an empty or missing directory, or an existing layout. */
  static async open(dir: string): Promise<OciLayoutWriter> {
    let names: string[] = [];
    try {
      const st = await stat(dir);
      if (!st.isDirectory()) throw new ConfigurationError(`OCI layout '${dir}' is not a directory`);
      names = await readdir(dir);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
    if (names.length > 0 && !names.includes('oci-layout')) {
      throw new ConfigurationError(
        `'${dir}' is neither empty nor an OCI image layout (it has no 'oci-layout' file)`,
      );
    }
    await mkdir(join(dir, 'blobs', 'sha256'), { recursive: true });
    await writeFile(join(dir, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
    return new OciLayoutWriter(dir);
  }

  blobPath(digest: string): string {
    const [algorithm, hex] = digest.split(':');
    if (algorithm !== 'sha256' || !hex || !/^[a-f0-9]{64}$/.test(hex)) {
      throw new ConfigurationError(`cannot store blob '${digest}' in an OCI layout (sha256 only)`);
    }
    return join(this.dir, 'blobs', 'sha256', hex);
  }

  /** True when the blob is there with this size. */
  async has(blob: Pick<Descriptor, 'digest' | 'size'>): Promise<boolean> {
    try {
      return (await stat(this.blobPath(blob.digest))).size === blob.size;
    } catch {
      return false;
    }
  }

  /**
   * Writes a blob from bytes, a file or a stream, verifying its digest and size on the way. Returns false when
   * it was already there.
   */
  async writeBlob(
    blob: Pick<Descriptor, 'digest' | 'size'>,
    content: Uint8Array | { file: string } | (() => Promise<Readable>),
    signal?: AbortSignal,
  ): Promise<boolean> {
    if (await this.has(blob)) return false;
    const path = this.blobPath(blob.digest);
    const tmp = `${path}.${randomBytes(6).toString('hex')}.tmp`;
    const input =
      content instanceof Uint8Array
        ? Readable.from([Buffer.from(content)])
        : typeof content === 'function'
          ? await content()
          : createReadStream(content.file);
    try {
      await pipeline(
        input,
        new DigestVerifier(blob.digest, blob.size),
        createWriteStream(tmp, { flags: 'wx' }),
        {
          signal,
        },
      );
      await rename(tmp, path);
    } catch (err) {
      input.destroy();
      await rm(tmp, { force: true });
      throw err;
    }
    return true;
  }

  /** Names `root` `tag` in index.json (replacing an entry of the same name). */
  async tag(root: Descriptor, tag: string): Promise<void> {
    const indexPath = join(this.dir, 'index.json');
    let index: { schemaVersion?: number; mediaType?: string; manifests?: Descriptor[] } = {};
    try {
      index = JSON.parse(await readFile(indexPath, 'utf8')) as typeof index;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') {
        throw new ConfigurationError(`cannot read '${indexPath}': ${(err as Error).message}`);
      }
    }
    const others = (Array.isArray(index.manifests) ? index.manifests : []).filter(
      (d) => d.annotations?.[REF_NAME_ANNOTATION] !== tag,
    );
    const entry: Descriptor = {
      mediaType: root.mediaType,
      digest: root.digest,
      size: root.size,
      annotations: { [REF_NAME_ANNOTATION]: tag },
    };
    const next = { schemaVersion: 2, mediaType: OCI_INDEX, manifests: [...others, entry] };
    const tmp = `${indexPath}.${randomBytes(6).toString('hex')}.tmp`;
    await writeFile(tmp, JSON.stringify(next));
    await rename(tmp, indexPath);
  }
}
