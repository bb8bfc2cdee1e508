/**
 * Reading and writing files Kiln is pointed at, safely:
 * - {@link readTextFile}: only a regular file (a device such as `/dev/zero`, a FIFO or a directory is refused at
 *   once), and only up to a size limit, checked before reading and while reading (a file that grows);
 * - {@link writeFileNoFollow}: never through a symbolic link, never into a file another user owns — at a
 *   predictable path (`$TMPDIR/kiln-…`) a planted link would otherwise redirect the write.
 * Errors are {@link FileError}s with one line naming the file and what is wrong; callers name the input.
 */
import { formatSize } from './bytes.js';
import { closeSync, constants, fstatSync, openSync, readSync, writeSync, ftruncateSync } from 'node:fs';

export class FileError extends Error {
  override readonly name = 'FileError';
  constructor(
    message: string,
    readonly code?: string,
  ) {
    super(message);
  }
}

function describe(code: string | undefined, e: unknown): string {
  switch (code) {
    case 'ENOENT':
      return 'it does not exist';
    case 'EISDIR':
      return 'it is a directory';
    case 'EACCES':
    case 'EPERM':
      return 'permission denied';
    case 'ELOOP':
      return 'it is a symbolic link';
    default:
      return code ?? (e as Error).message;
  }
}

/** The text of a regular file of at most `limit` bytes (UTF-8). */
export function readTextFile(path: string, limit: number): string {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new FileError(`cannot be read (${describe(code, e)})`, code);
  }
  try {
    const st = fstatSync(fd);
    if (st.isDirectory()) throw new FileError('cannot be read (it is a directory)', 'EISDIR');
    if (!st.isFile())
      throw new FileError('is not a regular file (a device, a pipe or a socket); expected a file', 'ENOTREG');
    if (st.size > limit)
      throw new FileError(
        `is ${formatSize(st.size)}, more than the ${formatSize(limit)} Kiln reads`,
        'EFBIG',
      );
    const buf = Buffer.allocUnsafe(Math.min(limit + 1, Math.max(st.size + 1, 64 * 1024)));
    let total = 0;
    for (;;) {
      if (total === buf.length) {
        if (total > limit)
          throw new FileError(`grew past the ${formatSize(limit)} Kiln reads while it was read`, 'EFBIG');
        break;
      }
      const n = readSync(fd, buf, total, buf.length - total, null);
      if (n === 0) break;
      total += n;
    }
    if (total > limit) throw new FileError(`is more than the ${formatSize(limit)} Kiln reads`, 'EFBIG');
    return buf.subarray(0, total).toString('utf8');
  } finally {
    closeSync(fd);
  }
}

/**
 * Writes `text` to `path`, creating it (mode 0644) or replacing an existing regular file that this user owns.
 * Refuses a symbolic link at `path` (O_NOFOLLOW) and a file owned by someone else.
 */
export function writeFileNoFollow(path: string, text: string): void {
  let fd: number;
  try {
    fd = openSync(path, constants.O_WRONLY | constants.O_CREAT | constants.O_NOFOLLOW, 0o644);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new FileError(
      code === 'ELOOP'
        ? 'is a symbolic link; Kiln does not write through links (remove it, or choose another path)'
        : `cannot be written (${describe(code, e)})`,
      code,
    );
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) throw new FileError('is not a regular file; expected a file path', 'ENOTREG');
    const uid = process.getuid?.();
    if (uid !== undefined && st.uid !== uid)
      throw new FileError(
        'belongs to another user; Kiln does not write into it (choose another path)',
        'EOWNER',
      );
    ftruncateSync(fd, 0);
    const data = Buffer.from(text, 'utf8');
    let off = 0;
    while (off < data.length) off += writeSync(fd, data, off, data.length - off);
  } finally {
    closeSync(fd);
  }
}
