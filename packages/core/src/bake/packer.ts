/**
 * The `packer` builder: bakes VM images (or anything a Packer template makes) with
 * `packer build -machine-readable [-var k=v…] [-var-file=f…] [-only=a,b] [-except=…] <template>`.
 *
 * The artifacts come from the machine-readable output: `<timestamp>,<build>,artifact,<index>,<key>,<value>` lines
 * (`id`, `builder-id`, `string`, `file`), commas in values written `%!(PACKER_COMMA)` and line breaks `\n`. A build
 * prints one artifact per step of its post-processor chain; its last one is its result. When the template has a
 * `manifest` post-processor, the `builds[]` this run wrote to its file (`packer-manifest.json`) are returned too.
 * The "digest" of a VM bake is the artifact id (an AMI id, an image name; the `file` builder's is `File`, its path is
 * in `files`), or `<build>=<id>` pairs for several builds.
 *
 * A failure is reported with Packer's own line: `Build '<name>' errored after …: <why>`, else the build's `error`
 * line, else (the template could not be read or validated) its first `ui,error`, all on one line. Packer 1.6.6
 * (Debian's) reads JSON templates fully; its HCL2 support is partial. `CHECKPOINT_DISABLE=1` keeps it offline.
 */
import { readFile, stat } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { CancelledError, ConfigurationError } from '../errors.js';
import { exec, ExecError, type ExecResult } from '../exec/exec.js';
import {
  BakeError,
  LogTail,
  type PackerArtifact,
  type PackerRequest,
  type PackerResult,
  type ToolProbe,
} from './builder.js';

/** One machine-readable line: `<timestamp>,<target>,<type>,<data…>`, data unescaped. */
export interface PackerLine {
  timestamp: number;
  target: string;
  type: string;
  data: string[];
}

/** Parses a machine-readable line, or undefined for any other line (a plugin's log on stderr, …). */
export function parsePackerLine(line: string): PackerLine | undefined {
  const m = /^(\d+),([^,]*),([^,]+)(?:,(.*))?$/s.exec(line.replace(/\r$/, ''));
  if (!m) return undefined;
  const data = m[4] === undefined ? [] : m[4].split(',').map(unescapePacker);
  return { timestamp: Number(m[1]), target: m[2]!, type: m[3]!, data };
}

/** Packer's escapes in machine-readable values: `%!(PACKER_COMMA)` for `,`, `\n` and `\r` for line breaks. */
export function unescapePacker(s: string): string {
  return s.replaceAll('%!(PACKER_COMMA)', ',').replaceAll('\\n', '\n').replaceAll('\\r', '\r');
}

/** What a run printed, gathered line by line. */
export class PackerOutput {
  readonly artifacts: PackerArtifact[] = [];
  /** `ui,error` messages. */
  readonly uiErrors: string[] = [];
  /** `<build>,error,<message>` lines. */
  readonly buildErrors: { build: string; message: string }[] = [];

  /** Takes one line; returns the human text it carries (ui messages), or undefined for data lines. */
  add(line: string): { text?: string; machine: boolean } {
    const p = parsePackerLine(line);
    if (!p) return { text: line, machine: false };
    if (p.type === 'ui') {
      const message = p.data.slice(1).join(',');
      if (p.data[0] === 'error') this.uiErrors.push(message);
      return { text: message.replace(/^\n+/, ''), machine: true };
    }
    if (p.type === 'error' && p.target !== '')
      this.buildErrors.push({ build: p.target, message: p.data.join(',') });
    if (p.type === 'artifact') this.addArtifact(p);
    return { machine: true };
  }

  private addArtifact(p: PackerLine): void {
    const index = Number(p.data[0]);
    const key = p.data[1];
    if (!Number.isInteger(index) || key === undefined) return;
    let a = this.artifacts.find((x) => x.build === p.target && x.index === index);
    if (!a) {
      a = { build: p.target, index, id: '', files: [] };
      this.artifacts.push(a);
    }
    const value = p.data.slice(2).join(',');
    if (key === 'id') a.id = value;
    else if (key === 'builder-id') a.builderId = value;
    else if (key === 'string') a.description = value;
    else if (key === 'file') a.files.push(p.data.slice(3).join(','));
  }

  /** Each build's last artifact, builds sorted by name. */
  finalArtifacts(): PackerArtifact[] {
    const last = new Map<string, PackerArtifact>();
    for (const a of this.artifacts) {
      const seen = last.get(a.build);
      if (!seen || a.index > seen.index) last.set(a.build, a);
    }
    return [...last.values()].sort((x, y) => (x.build < y.build ? -1 : x.build > y.build ? 1 : 0));
  }

  /**
   * Packer's own account of a failure, on one line: the `Build '…' errored …` lines, else the builds' `error`
   * lines, else the first `ui,error` that is not a provisioner's echoed output. `build` says whether a build ran
   * and failed (else the template could not be read or validated).
   */
  failure(): { message: string; build: boolean } | undefined {
    const oneLine = (s: string) =>
      s
        .split('\n')
        .map((l) => l.trim())
        .filter(Boolean)
        .join(': ');
    const errored = this.uiErrors.filter((e) => /^Build '.*' errored/.test(e.trim()));
    if (errored.length > 0) return { message: errored.map(oneLine).join('; '), build: true };
    if (this.buildErrors.length > 0)
      return {
        message: this.buildErrors.map((e) => `${e.build}: ${oneLine(e.message)}`).join('; '),
        build: true,
      };
    const own = this.uiErrors
      .map((e) => e.trim())
      .filter((e) => e && !e.startsWith('==>') && !e.startsWith('-->'));
    if (own.length > 0) return { message: oneLine(own[0]!), build: false };
    return undefined;
  }
}

/** The arguments of `packer build` for a request (the template made absolute). */
export function packerArgs(req: PackerRequest): string[] {
  const args = ['build', '-machine-readable'];
  for (const [k, v] of Object.entries(req.vars)) {
    if (!/^[A-Za-z_][A-Za-z0-9_-]*$/.test(k))
      throw new ConfigurationError(`packer variable '${k}': expected a name of letters, digits, _ and -`);
    args.push('-var', `${k}=${v}`);
  }
  for (const f of req.varFiles ?? []) args.push(`-var-file=${resolve(f)}`);
  const names = (list: string[] | undefined, what: string) => {
    for (const n of list ?? [])
      if (!/^[A-Za-z0-9_.*:-]+$/.test(n))
        throw new ConfigurationError(`packer ${what} '${n}' is not a build name`);
    return (list ?? []).join(',');
  };
  if (req.only.length > 0) args.push(`-only=${names(req.only, 'only')}`);
  if (req.except?.length) args.push(`-except=${names(req.except, 'except')}`);
  args.push(resolve(req.template));
  return args;
}

/** Is Packer here? (`packer version`.) */
export async function probePacker(
  opts: { command?: string; env?: NodeJS.ProcessEnv; signal?: AbortSignal } = {},
): Promise<ToolProbe> {
  try {
    const r = await exec(opts.command ?? 'packer', ['version'], {
      env: { ...(opts.env ?? process.env), CHECKPOINT_DISABLE: '1' },
      signal: opts.signal,
      timeoutMs: 20_000,
      allowFailure: true,
    });
    if (r.exitCode === 0) return { available: true, version: r.stdout.trim().split('\n')[0] };
    return { available: false, why: `packer version exited with ${r.exitCode ?? r.signal}` };
  } catch (err) {
    if (err instanceof CancelledError) throw err;
    return { available: false, why: 'packer is not on PATH' };
  }
}

interface ManifestFile {
  builds?: {
    name?: string;
    builder_type?: string;
    artifact_id?: string;
    packer_run_uuid?: string;
    files?: { name?: string }[] | null;
  }[];
  last_run_uuid?: string;
}

async function readManifest(path: string): Promise<ManifestFile | undefined> {
  try {
    const s = await stat(path);
    if (!s.isFile() || s.size > 32 * 1024 * 1024) return undefined;
    return JSON.parse(await readFile(path, 'utf8')) as ManifestFile;
  } catch {
    return undefined;
  }
}

export class PackerBuilder {
  readonly name = 'packer' as const;

  constructor(private readonly opts: { command?: string } = {}) {}

  async bake(req: PackerRequest): Promise<PackerResult> {
    const template = resolve(req.template);
    const s = await stat(template).catch(() => undefined);
    if (!s?.isFile()) throw new ConfigurationError(`packer template '${req.template}' is not a file`);
    for (const f of req.varFiles ?? []) {
      if (!(await stat(resolve(f)).catch(() => undefined))?.isFile())
        throw new ConfigurationError(`packer var file '${f}' is not a file`);
    }
    const args = packerArgs(req);
    const cwd = resolve(req.cwd ?? dirname(template));
    const manifestPath = resolve(cwd, req.manifest ?? 'packer-manifest.json');
    const before = await readManifest(manifestPath);

    const out = new PackerOutput();
    const tail = new LogTail();
    const logger = tail.logger(req.log, (line) => {
      const { text, machine } = out.add(line);
      if (text === undefined) {
        if (machine) req.log.debug(line);
        return false;
      }
      for (const l of text.split('\n')) {
        tail.push(l);
        req.log.info(l);
      }
      return false;
    });
    req.log.debug(`packer ${args.join(' ')} (in ${cwd})`);
    let r: ExecResult;
    try {
      r = await req.log.group(`packer build ${req.template}`, () =>
        exec(this.opts.command ?? 'packer', args, {
          cwd,
          env: {
            ...(req.env ?? process.env),
            CHECKPOINT_DISABLE: req.env?.CHECKPOINT_DISABLE ?? '1',
            PACKER_NO_COLOR: '1',
          },
          signal: req.signal,
          timeoutMs: req.timeoutMs,
          // Packer cleans up (deletes temporary VMs, keys) on SIGTERM: give it time before SIGKILL.
          killGraceMs: 30_000,
          logger,
          maxCapture: 256 * 1024,
          allowFailure: true,
        }),
      );
    } catch (err) {
      if (err instanceof ExecError && err.result.timedOut)
        throw new BakeError(
          'packer build did not finish before the deadline and was stopped',
          'packer',
          tail.lines(),
        );
      throw err;
    }
    if (r.exitCode !== 0) {
      const f = out.failure();
      if (f && !f.build) throw new ConfigurationError(`packer could not run '${req.template}': ${f.message}`);
      const last = r.stderr.trim().split('\n').at(-1)?.trim();
      throw new BakeError(
        `packer build failed: ${f?.message ?? last ?? `exit ${r.exitCode ?? r.signal}`}`,
        'packer',
        tail.lines(),
      );
    }

    const finals = out.finalArtifacts();
    if (finals.length === 0)
      throw new BakeError('packer build finished but reported no artifacts', 'packer', tail.lines());
    const after = await readManifest(manifestPath);
    let manifestBuilds: PackerResult['manifestBuilds'];
    if (after?.last_run_uuid && after.last_run_uuid !== before?.last_run_uuid) {
      manifestBuilds = (after.builds ?? [])
        .filter((b) => b.packer_run_uuid === after.last_run_uuid)
        .map((b) => ({
          name: b.name ?? '',
          builderType: b.builder_type ?? '',
          artifactId: b.artifact_id ?? '',
          files: (b.files ?? []).map((f) => f.name ?? ''),
        }));
    }
    const artifactIds = finals.map((a) => a.id);
    return {
      builder: 'packer',
      digest: finals.length === 1 ? finals[0]!.id : finals.map((a) => `${a.build}=${a.id}`).join(','),
      artifactIds,
      artifacts: out.artifacts,
      manifestBuilds,
      logTail: tail.lines(),
    };
  }
}
