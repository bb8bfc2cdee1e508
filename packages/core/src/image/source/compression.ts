/** Which compression a file or blob uses, from its first bytes (at least 6 for xz). */
export type Compression = 'gzip' | 'zstd' | 'xz' | 'bzip2';

const XZ_MAGIC = Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]);

/** The compression the magic bytes at the start of `head` announce, or undefined (a plain tar, or anything else). */
export function sniffCompression(head: Buffer): Compression | undefined {
  if (head.length >= 2 && head[0] === 0x1f && head[1] === 0x8b) return 'gzip';
  if (head.length >= 4 && head.readUInt32BE(0) === 0x28b52ffd) return 'zstd';
  if (head.subarray(0, 6).equals(XZ_MAGIC)) return 'xz';
  if (head.subarray(0, 3).toString('latin1') === 'BZh') return 'bzip2';
  return undefined;
}
