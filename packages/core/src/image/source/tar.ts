/**
 * A small tar reader for image archives: it indexes an uncompressed tar file once, reading only the 512-byte
 * headers (and the small pax / GNU long-name records) at their offsets, and then streams any entry's data with
 * `fs.createReadStream({ start, end })`. Nothing is extracted and no entry is held in memory.
 *
 * Understood: POSIX ustar (with the 155-byte name prefix), pax extended headers (`x`; `path`, `linkpath`, `size`;
 * global `g` headers are skipped), GNU long names and long link names (`L`, `K`), base-256 numbers (GNU, for
 * sizes of 8 GiB and more), regular files, hard links, symbolic links and directories: what skopeo, buildah
 * (Go's archive/tar), docker and GNU/BSD tar write. Other entry types are indexed (so the archive can still be
 * walked) but reading one is an "unsupported tar entry" error.
 */
import { createReadStream } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { posix } from 'node:path';
import { Readable } from 'node:stream';
import { ConfigurationError } from '../../errors.js';

const BLOCK = 512;
/** Pax and GNU long-name records larger than this are refused (real ones are a few hundred bytes). */
const MAX_META_RECORD = 1024 * 1024;

/** What an entry is, after pax / GNU meta entries have been folded into it. */
export type TarEntryType = 'file' | 'hardlink' | 'symlink' | 'directory' | 'other';

/** One entry of an indexed tar archive. */
export interface TarEntry {
  /** Normalised path inside the archive: no leading `./` or `/`, no trailing `/`. */
  name: string;
  type: TarEntryType;
  /** The raw type flag (`'0'`, `'2'`, `'S'`, …), for messages. */
  typeFlag: string;
  /** Size of the entry's data in bytes (0 for links and directories). */
  size: number;
  /** Byte offset of the entry's data in the archive file. */
  offset: number;
  /** Link target, for hard links (an archive path) and symbolic links (relative to the entry's directory). */
  linkName?: string;
  /** Set when the entry uses a feature this reader cannot stream (GNU sparse files). */
  unsupported?: string;
}

/** The index of an uncompressed tar file. */
export interface TarIndex {
  /** Absolute path of the tar file read. */
  file: string;
  /** How the archive is named in messages (the user's file, when `file` is a decompressed temp copy). */
  label: string;
  /** Entries by normalised name; a later entry with the same name replaces an earlier one, as tar does. */
  entries: Map<string, TarEntry>;
}

/** A resolved regular-file entry: where its data is. */
export interface TarFileRef {
  name: string;
  size: number;
  offset: number;
}

/** Normalises an archive path for lookups: `./a//b/` → `a/b`; `''` for the root. */
export function normaliseTarPath(name: string): string {
  const n = posix.normalize(`/${name}`).replace(/^\/+/, '').replace(/\/+$/, '');
  return n === '.' ? '' : n;
}

/** Reads a NUL-terminated string field. */
/** A text field of a header block, up to its first NUL. Shared with bake/verify.ts's unpacker. */
export function field(block: Buffer, offset: number, length: number): string {
  const raw = block.subarray(offset, offset + length);
  const end = raw.indexOf(0);
  return raw.subarray(0, end === -1 ? raw.length : end).toString('utf8');
}

/** Reads a numeric field: octal text, or GNU base-256 when the high bit of the first byte is set. */
export function numeric(block: Buffer, offset: number, length: number): number {
  const raw = block.subarray(offset, offset + length);
  if (raw[0] !== undefined && (raw[0] & 0x80) !== 0) {
    if ((raw[0] & 0x40) !== 0) return NaN; // negative base-256: never a valid size
    let value = raw[0] & 0x3f;
    for (let i = 1; i < raw.length; i++) value = value * 256 + raw[i]!;
    return value;
  }
  const text = raw.toString('ascii').replace(/\0.*$/s, '').trim();
  if (text === '') return 0;
  return /^[0-7]+$/.test(text) ? parseInt(text, 8) : NaN;
}

/** True when the header's checksum matches (as unsigned bytes, or as signed bytes like some old tars). */
export function checksumOk(block: Buffer): boolean {
  const stored = numeric(block, 148, 8);
  let unsigned = 0;
  let signed = 0;
  for (let i = 0; i < BLOCK; i++) {
    const b = i >= 148 && i < 156 ? 0x20 : block[i]!;
    unsigned += b;
    signed += b > 127 ? b - 256 : b;
  }
  return stored === unsigned || stored === signed;
}

/** Parses pax records: `<length> <key>=<value>\n`, repeated. */
export function parsePax(data: Buffer, where: string): Map<string, string> {
  const records = new Map<string, string>();
  let pos = 0;
  while (pos < data.length) {
    if (data[pos] === 0) break; // padding some writers leave
    const space = data.indexOf(0x20, pos);
    const length = space === -1 ? NaN : Number(data.toString('ascii', pos, space));
    if (!Number.isInteger(length) || length <= 0 || pos + length > data.length) {
      throw new ConfigurationError(`${where}: malformed pax extended header record`);
    }
    const record = data.toString('utf8', space + 1, pos + length - 1); // without the trailing newline
    const eq = record.indexOf('=');
    if (eq > 0) records.set(record.slice(0, eq), record.slice(eq + 1));
    pos += length;
  }
  return records;
}

const padded = (size: number): number => Math.ceil(size / BLOCK) * BLOCK;

/**
 * Indexes an uncompressed tar file by reading its headers only. Throws a {@link ConfigurationError} when the
 * file is not a tar archive (the first header's checksum is wrong), or is truncated or corrupt further on.
 */
export async function indexTar(file: string, label = file): Promise<TarIndex> {
  let fh: FileHandle;
  try {
    fh = await open(file, 'r');
  } catch (err) {
    throw new ConfigurationError(`cannot open archive '${label}': ${(err as Error).message}`, { cause: err });
  }
  try {
    const fileSize = (await fh.stat()).size;
    const entries = new Map<string, TarEntry>();
    const header = Buffer.alloc(BLOCK);
    const readAt = async (buffer: Buffer, length: number, position: number): Promise<number> => {
      let got = 0;
      while (got < length) {
        const { bytesRead } = await fh.read(buffer, got, length - got, position + got);
        if (bytesRead === 0) break;
        got += bytesRead;
      }
      return got;
    };
    let pos = 0;
    let pax: Map<string, string> | undefined;
    let longName: string | undefined;
    let longLink: string | undefined;
    let first = true;
    for (;;) {
      const got = await readAt(header, BLOCK, pos);
      if (got === 0 && !first) break; // EOF without the two zero blocks: tolerated, as GNU tar does
      if (got < BLOCK) {
        throw new ConfigurationError(
          first ? `'${label}' is not a tar archive (too short)` : `'${label}' is a truncated tar archive`,
        );
      }
      if (header.every((b) => b === 0)) break; // end-of-archive marker
      const where = `tar archive '${label}' at offset ${pos}`;
      if (!checksumOk(header)) {
        throw new ConfigurationError(
          first
            ? `'${label}' is not a tar archive (bad header checksum)`
            : `${where}: corrupt header (bad checksum)`,
        );
      }
      first = false;
      const typeFlag = String.fromCharCode(header[156]!);
      let size = numeric(header, 124, 12);
      if (!Number.isSafeInteger(size) || size < 0)
        throw new ConfigurationError(`${where}: invalid size field`);
      const dataOffset = pos + BLOCK;

      if (typeFlag === 'x' || typeFlag === 'g' || typeFlag === 'L' || typeFlag === 'K') {
        if (size > MAX_META_RECORD)
          throw new ConfigurationError(`${where}: meta record too large (${size} bytes)`);
        const data = Buffer.alloc(size);
        if ((await readAt(data, size, dataOffset)) < size) {
          throw new ConfigurationError(`'${label}' is a truncated tar archive`);
        }
        if (typeFlag === 'x') pax = parsePax(data, where);
        else if (typeFlag === 'L') longName = field(data, 0, data.length);
        else if (typeFlag === 'K') longLink = field(data, 0, data.length);
        // 'g' (global pax header): holds defaults such as mtime or charset, nothing that locates data.
        pos = dataOffset + padded(size);
        continue;
      }

      let name = field(header, 0, 100);
      const magic = header.toString('ascii', 257, 263);
      if (magic === 'ustar\0') {
        const prefix = field(header, 345, 155);
        if (prefix) name = `${prefix}/${name}`;
      }
      if (longName !== undefined) name = longName;
      let linkName = field(header, 157, 100) || undefined;
      if (longLink !== undefined) linkName = longLink;
      let unsupported: string | undefined;
      if (pax) {
        const p = pax.get('path');
        if (p !== undefined) name = p;
        const l = pax.get('linkpath');
        if (l !== undefined) linkName = l;
        const s = pax.get('size');
        if (s !== undefined) {
          size = /^\d+$/.test(s) ? Number(s) : NaN;
          if (!Number.isSafeInteger(size)) throw new ConfigurationError(`${where}: invalid pax size '${s}'`);
        }
        if ([...pax.keys()].some((k) => k.startsWith('GNU.sparse.'))) unsupported = 'a GNU sparse file';
      }
      pax = longName = longLink = undefined;

      let type: TarEntryType;
      if (typeFlag === '0' || typeFlag === '\0' || typeFlag === '7') type = 'file';
      else if (typeFlag === '1') type = 'hardlink';
      else if (typeFlag === '2') type = 'symlink';
      else if (typeFlag === '5') type = 'directory';
      else {
        type = 'other';
        unsupported ??= typeFlag === 'S' ? 'a GNU sparse file' : `an entry of type '${typeFlag}'`;
      }
      if (type === 'file' && name.endsWith('/')) type = 'directory'; // old V7 convention
      if (type === 'hardlink' || type === 'symlink' || type === 'directory') {
        if (type !== 'directory' && linkName === undefined) {
          throw new ConfigurationError(`${where}: link '${name}' has no target`);
        }
      }
      const dataSize = type === 'file' || type === 'other' ? size : 0;
      if (dataOffset + dataSize > fileSize)
        throw new ConfigurationError(`'${label}' is a truncated tar archive`);
      const normalised = normaliseTarPath(name);
      if (normalised !== '') {
        entries.set(normalised, {
          name: normalised,
          type,
          typeFlag,
          size: dataSize,
          offset: dataOffset,
          linkName,
          unsupported,
        });
      }
      // Hard links, symlinks and directories carry no data even when the size field is set (pax may say otherwise
      // for hard links; those also carry none in practice).
      pos = dataOffset + padded(type === 'file' || type === 'other' ? size : 0);
    }
    return { file, label, entries };
  } finally {
    await fh.close();
  }
}

/**
 * Finds a regular file in the index, following hard links and (up to 16) symbolic links the way skopeo does.
 * Returns undefined when there is no such entry; throws a {@link ConfigurationError} for an entry that is not a
 * regular file (a directory, a dangling or looping link, a device, a sparse file).
 */
export function resolveTarFile(index: TarIndex, name: string): TarFileRef | undefined {
  let current = normaliseTarPath(name);
  for (let hops = 0; hops < 16; hops++) {
    const entry = index.entries.get(current);
    if (!entry) {
      if (hops === 0) return undefined;
      throw new ConfigurationError(
        `'${name}' in archive '${index.label}' is a link to '${current}', which is missing`,
      );
    }
    switch (entry.type) {
      case 'file':
        if (entry.unsupported) break;
        return { name: entry.name, size: entry.size, offset: entry.offset };
      case 'hardlink':
        current = normaliseTarPath(entry.linkName!);
        continue;
      case 'symlink': {
        const target = entry.linkName!;
        current = normaliseTarPath(
          target.startsWith('/') ? target : posix.join(posix.dirname(entry.name), target),
        );
        continue;
      }
      case 'directory':
        throw new ConfigurationError(`'${name}' in archive '${index.label}' is a directory, not a file`);
      case 'other':
        break;
    }
    throw new ConfigurationError(
      `unsupported tar entry: '${entry.name}' in archive '${index.label}' is ${entry.unsupported ?? 'not a regular file'}`,
    );
  }
  throw new ConfigurationError(`'${name}' in archive '${index.label}': too many levels of links`);
}

/** Streams an entry's data straight from the archive file (64 KiB reads; nothing buffered beyond that). */
export function streamTarFile(index: TarIndex, ref: TarFileRef): Readable {
  if (ref.size === 0) return Readable.from([]);
  return createReadStream(index.file, { start: ref.offset, end: ref.offset + ref.size - 1 });
}

/** Reads a small entry whole; throws a {@link ConfigurationError} when it is larger than `limit`. */
export async function readTarFile(index: TarIndex, ref: TarFileRef, limit: number): Promise<Buffer> {
  if (ref.size > limit) {
    throw new ConfigurationError(
      `'${ref.name}' in archive '${index.label}' is ${ref.size} bytes, more than the ${limit} expected`,
    );
  }
  const fh = await open(index.file, 'r');
  try {
    const data = Buffer.alloc(ref.size);
    let got = 0;
    while (got < ref.size) {
      const { bytesRead } = await fh.read(data, got, ref.size - got, ref.offset + got);
      if (bytesRead === 0) throw new ConfigurationError(`'${index.label}' is a truncated tar archive`);
      got += bytesRead;
    }
    return data;
  } finally {
    await fh.close();
  }
}
