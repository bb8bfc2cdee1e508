/**
 * The file backend: one JSON Lines file (`file:releases.jsonl`), an entry per line, every environment in it. For a
 * terminal, a demo, or a CI that keeps the file (a cache, a committed file): it needs nothing but a disk.
 *
 * Consistency: appends take a lock file beside it (`<file>.lock`, created exclusively; one left by a process that
 * died is taken over after 60 s) and write one line with `O_APPEND`, so two processes on one machine never
 * interleave or lose an entry. Two CI jobs on two machines each append to their own copy of the file: the CI must
 * serialize them (a concurrency group) and carry the file from one to the next.
 */
import {
  closeSync,
  mkdirSync,
  openSync,
  readFileSync,
  renameSync,
  statSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import { dirname, resolve } from 'node:path';
import { sleep } from '../util/sleep.js';
import { LedgerError, parseEntry, type LedgerBackend, type LedgerCall, type LedgerEntry } from './entry.js';
import { newestFirst } from './history.js';

/** The most of the file Kiln reads. */
export const MAX_LEDGER_FILE_BYTES = 64 * 1024 * 1024;
const STALE_LOCK_MS = 60_000;

export class FileLedger implements LedgerBackend {
  readonly kind = 'file';
  readonly location: string;
  private readonly path: string;

  constructor(path: string, o: { cwd?: string } = {}) {
    this.path = resolve(o.cwd ?? process.cwd(), path);
    this.location = path;
  }

  async append(entry: LedgerEntry, call: LedgerCall = {}): Promise<LedgerEntry> {
    const line = `${JSON.stringify(entry)}\n`;
    mkdirSync(dirname(this.path), { recursive: true });
    const unlock = await this.lock(call);
    try {
      const fd = openSync(this.path, 'a', 0o644);
      try {
        writeSync(fd, line);
      } finally {
        closeSync(fd);
      }
    } catch (e) {
      throw new LedgerError(
        `cannot write the ledger ${this.location}: ${(e as Error).message}`,
        'unreachable',
        {
          cause: e,
        },
      );
    } finally {
      unlock();
    }
    return entry;
  }

  async list(environment: string, call: LedgerCall & { limit?: number } = {}): Promise<LedgerEntry[]> {
    void call;
    let text: string;
    try {
      if (statSync(this.path).size > MAX_LEDGER_FILE_BYTES)
        throw new LedgerError(
          `the ledger ${this.location} is larger than ${MAX_LEDGER_FILE_BYTES / 1024 / 1024} MiB; start a new file`,
          'corrupt',
        );
      text = readFileSync(this.path, 'utf8');
    } catch (e) {
      if (e instanceof LedgerError) throw e;
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw new LedgerError(
        `cannot read the ledger ${this.location}: ${(e as Error).message}`,
        'unreachable',
        {
          cause: e,
        },
      );
    }
    const entries: LedgerEntry[] = [];
    text.split('\n').forEach((line, i) => {
      if (!line.trim()) return;
      let parsed: unknown;
      try {
        parsed = JSON.parse(line);
      } catch {
        throw new LedgerError(`the ledger ${this.location} line ${i + 1} is not JSON`, 'corrupt');
      }
      const e = parseEntry(parsed);
      if (!e)
        throw new LedgerError(`the ledger ${this.location} line ${i + 1} is not a Kiln entry`, 'corrupt');
      if (e.environment === environment) entries.push(e);
    });
    return newestFirst(entries).slice(0, call.limit ?? 100);
  }

  /**
   * Removes a lock left by a process that died: renamed away first (one waiter wins the rename), then checked
   * again — a lock another waiter took meanwhile is fresh and is put back.
   */
  private takeStale(lock: string): void {
    try {
      if (Date.now() - statSync(lock).mtimeMs <= STALE_LOCK_MS) return;
      const aside = `${lock}.${process.pid}.${Math.random().toString(36).slice(2)}`;
      renameSync(lock, aside);
      if (Date.now() - statSync(aside).mtimeMs > STALE_LOCK_MS) unlinkSync(aside);
      else renameSync(aside, lock);
    } catch {
      // taken or released meanwhile
    }
  }

  /** Takes `<file>.lock` (exclusive create), waiting until the call's deadline; returns the release. */
  private async lock(call: LedgerCall): Promise<() => void> {
    const lock = `${this.path}.lock`;
    const deadline = call.deadline ?? Date.now() + 30_000;
    for (let wait = 10; ; wait = Math.min(wait * 2, 500)) {
      try {
        closeSync(openSync(lock, 'wx'));
        return () => {
          try {
            unlinkSync(lock);
          } catch {
            // already gone
          }
        };
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST')
          throw new LedgerError(
            `cannot lock the ledger ${this.location}: ${(e as Error).message}`,
            'unreachable',
          );
      }
      this.takeStale(lock);
      if (Date.now() + wait > deadline)
        throw new LedgerError(
          `the ledger ${this.location} stayed locked by another process (${lock}) until the deadline`,
          'conflict',
        );
      await sleep(wait + Math.floor(Math.random() * wait), call.signal);
    }
  }
}
