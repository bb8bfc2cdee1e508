/**
 * Which files the `manifests` input names. Each entry is
 * - a file (any name: the user named it);
 * - a directory: its `*.yaml`, `*.yml` and `*.json` files, sorted, not its subdirectories (`dir/**` for those);
 * - a glob with `*` (any characters but `/`), `?` (one character but `/`) and `**` (any number of directories, a
 *   whole path segment): `k8s/*.yaml`, `k8s/**`, `k8s/app-?.yml`. A glob's matches are sorted, and only its
 *   `*.yaml`, `*.yml` and `*.json` files count.
 *
 * Like a shell, wildcards do not match names starting with `.` (a literal `.k8s/` does), and `**` does not descend
 * into hidden or symbolically linked directories (no loops). Brace and bracket patterns (`{a,b}`, `[ab]`) are not
 * supported: Kiln's own walk over `readdir` is enough for this and adds no dependency. An entry that matches no
 * file is an error, a file named twice is read once, and a walk that reads too many directory entries (a `**` over
 * `node_modules`) stops with an error instead of running for minutes.
 */
import { readdirSync, statSync, type Dirent } from 'node:fs';
import { isAbsolute, join, parse, relative, resolve, sep } from 'node:path';
import { InputError } from '../errors.js';
import { q } from './manifest-object.js';

export const MANIFEST_EXTENSIONS: readonly string[] = ['.yaml', '.yml', '.json'];

export interface ManifestFile {
  /** Absolute path. */
  path: string;
  /** As messages show it: relative to the working directory when inside it, else absolute. */
  shown: string;
  /** The entry of the input that named it. */
  spec: string;
}

export interface ResolveManifestFilesOptions {
  cwd: string;
  /** At most this many files in all. */
  maxFiles: number;
  /** At most this many directory entries read per glob. */
  maxEntries?: number;
  /** The input messages name (default 'manifests'). */
  inputName?: string;
}

const DEFAULT_MAX_ENTRIES = 100_000;

/** The files the entries name, in the entries' order (each directory's and glob's matches sorted). */
export function resolveManifestFiles(
  specs: readonly string[],
  o: ResolveManifestFilesOptions,
): ManifestFile[] {
  const input = o.inputName ?? 'manifests';
  const files: ManifestFile[] = [];
  const seen = new Set<string>();
  const add = (path: string, spec: string): void => {
    if (seen.has(path)) return;
    seen.add(path);
    if (files.length >= o.maxFiles)
      throw new InputError(
        input,
        `names more than ${o.maxFiles} files; Kiln reads at most ${o.maxFiles} (name fewer files, or split the deploy)`,
      );
    files.push({ path, shown: shownPath(path, o.cwd), spec });
  };
  const entries = specs.map((s) => s.trim()).filter((s) => s !== '');
  if (entries.length === 0)
    throw new InputError(input, 'names no file; expected files, directories or globs');
  for (const spec of entries) {
    const matches = isGlob(spec)
      ? globFiles(spec, o.cwd, o.maxEntries ?? DEFAULT_MAX_ENTRIES, input)
      : literalFiles(spec, o.cwd, input);
    for (const path of matches) add(path, spec);
  }
  return files;
}

/** Whether an entry is a glob (has `*` or `?`). */
export function isGlob(spec: string): boolean {
  return /[*?]/.test(spec);
}

export function hasManifestExtension(name: string): boolean {
  const lower = name.toLowerCase();
  return MANIFEST_EXTENSIONS.some((ext) => lower.endsWith(ext));
}

function shownPath(path: string, cwd: string): string {
  const rel = relative(cwd, path);
  return rel !== '' && !rel.startsWith('..') && !isAbsolute(rel) ? rel.split(sep).join('/') : path;
}

function byCodeUnit(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function statOrUndefined(path: string): ReturnType<typeof statSync> | undefined {
  try {
    return statSync(path);
  } catch {
    return undefined;
  }
}

/** A file or a directory named without wildcards. */
function literalFiles(spec: string, cwd: string, input: string): string[] {
  const path = resolve(cwd, spec);
  let st;
  try {
    st = statSync(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new InputError(
      input,
      `${q(spec)} ${code === 'ENOENT' || code === 'ENOTDIR' ? 'does not exist' : `cannot be read (${code ?? (e as Error).message})`}; expected a file, a directory or a glob`,
    );
  }
  if (!st.isDirectory()) return [path];
  const names = readDir(path, spec, input)
    .filter((d) => !d.name.startsWith('.') && hasManifestExtension(d.name))
    .map((d) => d.name)
    .filter((name) => statOrUndefined(join(path, name))?.isFile() === true)
    .sort(byCodeUnit);
  if (names.length === 0) {
    const sub = spec.replace(/\/+$/, '');
    throw new InputError(
      input,
      `directory ${q(spec)} has no *.yaml, *.yml or *.json file (subdirectories are read only with '${sub}/**')`,
    );
  }
  return names.map((name) => join(path, name));
}

function readDir(dir: string, spec: string, input: string): Dirent[] {
  try {
    return readdirSync(dir, { withFileTypes: true });
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new InputError(
      input,
      `${q(spec)}: directory ${q(dir)} cannot be read (${code ?? (e as Error).message})`,
    );
  }
}

/** `*` and `?` in one path segment as a regular expression. */
function segmentRegExp(segment: string): RegExp {
  let re = '';
  for (const c of segment) {
    if (c === '*') re += '[^/]*';
    else if (c === '?') re += '[^/]';
    else re += c.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^${re}$`, 's');
}

/** The files a glob matches, sorted. */
function globFiles(spec: string, cwd: string, maxEntries: number, input: string): string[] {
  const separators = process.platform === 'win32' ? /[\\/]+/ : /\/+/;
  const absolute = isAbsolute(spec);
  const segments = spec.split(separators).filter((s) => s !== '' && s !== '.');
  let base = absolute ? parse(resolve(spec)).root : cwd;
  if (absolute && /^[A-Za-z]:$/.test(segments[0] ?? '')) segments.shift(); // a Windows drive, part of the root
  // Literal leading segments are the base directory; the walk starts there.
  while (segments.length > 1 && !isGlob(segments[0] as string)) base = join(base, segments.shift() as string);
  const found = new Set<string>();
  let entriesRead = 0;
  const list = (dir: string): Dirent[] => {
    let entries: Dirent[];
    try {
      entries = readdirSync(dir, { withFileTypes: true });
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ENOTDIR') return [];
      throw new InputError(
        input,
        `${q(spec)}: directory ${q(shownPath(dir, cwd))} cannot be read (${code ?? (e as Error).message})`,
      );
    }
    entriesRead += entries.length;
    if (entriesRead > maxEntries)
      throw new InputError(
        input,
        `${q(spec)} reads more than ${maxEntries} directory entries; narrow the pattern (e.g. 'k8s/**' rather than '**')`,
      );
    return entries.sort((a, b) => byCodeUnit(a.name, b.name));
  };
  const kindOf = (dir: string, d: Dirent): 'file' | 'dir' | 'link-dir' | undefined => {
    if (d.isFile()) return 'file';
    if (d.isDirectory()) return 'dir';
    if (!d.isSymbolicLink()) return undefined;
    const st = statOrUndefined(join(dir, d.name));
    return st?.isFile() ? 'file' : st?.isDirectory() ? 'link-dir' : undefined;
  };
  /** Every manifest file under `dir`, at any depth (what a final `**` matches). */
  const everything = (dir: string): void => {
    for (const d of list(dir)) {
      if (d.name.startsWith('.')) continue;
      const kind = kindOf(dir, d);
      if (kind === 'file' && hasManifestExtension(d.name)) found.add(join(dir, d.name));
      else if (kind === 'dir') everything(join(dir, d.name));
    }
  };
  const walk = (dir: string, i: number): void => {
    const segment = segments[i] as string;
    const last = i === segments.length - 1;
    if (segment === '**') {
      if (last) return everything(dir);
      walk(dir, i + 1);
      for (const d of list(dir))
        if (!d.name.startsWith('.') && kindOf(dir, d) === 'dir') walk(join(dir, d.name), i);
      return;
    }
    if (!isGlob(segment)) {
      const path = join(dir, segment);
      const st = statOrUndefined(path);
      if (last) {
        if (st?.isFile()) found.add(path);
      } else if (st?.isDirectory()) walk(path, i + 1);
      return;
    }
    const re = segmentRegExp(segment);
    const dotOk = segment.startsWith('.');
    for (const d of list(dir)) {
      if ((d.name.startsWith('.') && !dotOk) || !re.test(d.name)) continue;
      const kind = kindOf(dir, d);
      if (last) {
        if (kind === 'file' && hasManifestExtension(d.name)) found.add(join(dir, d.name));
      } else if (kind === 'dir' || kind === 'link-dir') walk(join(dir, d.name), i + 1);
    }
  };
  if (segments.length > 0) walk(base, 0);
  if (found.size === 0)
    throw new InputError(
      input,
      `${q(spec)} matched no *.yaml, *.yml or *.json file${statOrUndefined(base)?.isDirectory() ? '' : ` (${q(shownPath(base, cwd))} does not exist)`}`,
    );
  return [...found].sort((a, b) => byCodeUnit(shownPath(a, cwd), shownPath(b, cwd)));
}
