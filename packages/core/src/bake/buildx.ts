/**
 * The `buildx` builder: `docker buildx build` against a Docker daemon (GitHub's hosted runners have one), with the
 * request mapped to buildx's flags — `--file`, `--target`, `--build-arg`, `--label`, `--platform`, `--secret`,
 * `--tag` — and the result read from `--metadata-file` (`containerimage.digest`).
 *
 * Outputs: `--push` to the tags; `--output type=oci,dest=<dir>,tar=false` for an OCI layout directory (needs a
 * builder that can export OCI: a `docker-container` builder such as docker/setup-buildx-action makes, or the
 * containerd image store; the plain `docker` driver cannot); both at once as two `--output`s (buildx ≥ 0.13); with
 * neither, `--load` into the daemon. `--provenance=false` unless the request asks for provenance, so a
 * single-platform push is a plain manifest and no `unknown/unknown` entry lands in an index. A `timestamp` is
 * `SOURCE_DATE_EPOCH` in buildx's environment plus `rewrite-timestamp=true` on the outputs (BuildKit ≥ 0.13) for
 * reproducible digests. `verify` is not supported (the image never exists outside BuildKit before it is pushed).
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CancelledError, ConfigurationError } from '../errors.js';
import { exec, ExecError, type ExecResult } from '../exec/exec.js';
import { parseImageReference, repositoryName } from '../image/reference.js';
import {
  BakeError,
  checkBakeRequest,
  LogTail,
  type BakeRequest,
  type BakeResult,
  type CheckedBake,
  type ImageBuilder,
  type ToolProbe,
} from './builder.js';

const DIGEST_RE = /^sha256:[a-f0-9]{64}$/;

export interface BuildxOptions {
  /** The `docker` executable (default: `docker` on PATH). */
  docker?: string;
  /** `--builder`: a buildx builder instance (default: the current one). */
  builder?: string;
}

/** The arguments of `docker buildx build …` and the environment additions for a checked request. */
export function buildxArgs(
  req: BakeRequest,
  checked: CheckedBake,
  opts: BuildxOptions,
  metadataFile: string,
): { args: string[]; env: Record<string, string> } {
  const args = ['buildx', 'build'];
  if (opts.builder) args.push('--builder', opts.builder);
  args.push('--progress=plain');
  if (checked.file) args.push('--file', checked.file);
  if (req.target) args.push('--target', req.target);
  for (const [k, v] of Object.entries(req.buildArgs)) args.push('--build-arg', `${k}=${v}`);
  for (const [k, v] of Object.entries(req.labels)) args.push('--label', `${k}=${v}`);
  if (req.platforms.length > 0) args.push('--platform', req.platforms.join(','));
  for (const s of checked.secrets) args.push('--secret', `id=${s.id},src=${s.src}`);
  for (const ref of checked.pushRefs) args.push('--tag', ref);
  args.push(`--provenance=${req.provenance === true}`);
  args.push('--metadata-file', metadataFile);

  const stamp = req.timestamp !== undefined ? ',rewrite-timestamp=true' : '';
  const insecure = req.tlsVerify === false ? ',registry.insecure=true' : '';
  const outputs: string[] = [];
  if (req.push) {
    if (!stamp && !insecure && !checked.ociLayout) args.push('--push');
    else outputs.push(`type=registry${insecure}${stamp}`);
  }
  if (checked.ociLayout) {
    // The name's tag becomes the `org.opencontainers.image.ref.name` of the layout's index.json entry.
    const repo = checked.pushRefs[0]
      ? repositoryName(parseImageReference(checked.pushRefs[0]))
      : 'localhost/kiln-bake';
    outputs.push(`type=oci,dest=${checked.ociLayout},tar=false,name=${repo}:${checked.ociLayoutTag}${stamp}`);
  }
  for (const o of outputs) args.push('--output', o);
  if (!req.push && !checked.ociLayout) args.push('--load');
  args.push(checked.context);

  const env: Record<string, string> = {};
  if (req.timestamp !== undefined) env.SOURCE_DATE_EPOCH = String(req.timestamp);
  return { args, env };
}

/** What `--metadata-file` says about the image. */
export interface BuildxMetadata {
  digest: string;
  mediaType?: string;
  configDigest?: string;
  imageName?: string;
}

/** Reads buildx's metadata file: `containerimage.digest` (required), its descriptor, config digest and names. */
export function parseBuildxMetadata(text: string): BuildxMetadata {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch {
    throw new BakeError('buildx wrote a metadata file that is not JSON', 'buildx');
  }
  const m = (typeof data === 'object' && data !== null ? data : {}) as Record<string, unknown>;
  const descriptor = (m['containerimage.descriptor'] ?? {}) as { mediaType?: unknown; digest?: unknown };
  const digest = m['containerimage.digest'] ?? descriptor.digest;
  if (typeof digest !== 'string' || !DIGEST_RE.test(digest))
    throw new BakeError(
      `buildx's metadata has no containerimage.digest (got ${JSON.stringify(digest)})`,
      'buildx',
    );
  const str = (v: unknown) => (typeof v === 'string' ? v : undefined);
  return {
    digest,
    mediaType: str(descriptor.mediaType),
    configDigest: str(m['containerimage.config.digest']),
    imageName: str(m['image.name']),
  };
}

/** buildx's own error line: its last `ERROR:` line, else the last line it printed. */
function buildxErrorLine(r: ExecResult): string {
  const lines = `${r.stdout}\n${r.stderr}`
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);
  const line = [...lines].reverse().find((l) => /^ERROR:?\s/.test(l)) ?? lines.at(-1);
  return (line ?? `exit ${r.exitCode ?? r.signal}`).replace(/^ERROR:?\s*/, '');
}

/** Is `docker buildx` usable here: the plugin answers `docker buildx version` and a daemon answers `docker info`. */
export async function probeBuildx(
  opts: { docker?: string; env?: NodeJS.ProcessEnv; signal?: AbortSignal } = {},
): Promise<ToolProbe> {
  const docker = opts.docker ?? 'docker';
  const run = (args: string[]) =>
    exec(docker, args, { env: opts.env, signal: opts.signal, timeoutMs: 30_000, allowFailure: true });
  try {
    const v = await run(['buildx', 'version']);
    if (v.exitCode !== 0) {
      const said = (v.stderr || v.stdout).trim().split('\n')[0];
      return { available: false, why: `docker buildx is not installed${said ? ` (${said})` : ''}` };
    }
    const info = await run(['info', '--format', '{{.ServerVersion}}']);
    const server = info.stdout.trim();
    if (info.exitCode !== 0 || server === '') {
      const said = (info.stderr || info.stdout).trim().split('\n').at(-1);
      return { available: false, why: `no Docker daemon answers${said ? ` (${said})` : ''}` };
    }
    return { available: true, version: `${v.stdout.trim()}; Docker ${server}` };
  } catch (err) {
    if (err instanceof CancelledError) throw err;
    return { available: false, why: 'docker is not on PATH' };
  }
}

export class BuildxBuilder implements ImageBuilder {
  readonly name = 'buildx' as const;

  constructor(private readonly opts: BuildxOptions = {}) {}

  async bake(req: BakeRequest): Promise<BakeResult> {
    const checked = checkBakeRequest(req);
    if (req.verify)
      throw new ConfigurationError(
        'verify runs a command in the image before it is pushed; only the buildah builder can (choose builder: buildah)',
      );
    const tmp = await mkdtemp(join(tmpdir(), 'kiln-buildx-'));
    const tail = new LogTail();
    try {
      const metadataFile = join(tmp, 'metadata.json');
      const { args, env } = buildxArgs(req, checked, this.opts, metadataFile);
      req.log.debug(`docker ${args.join(' ')}`);
      let r: ExecResult;
      try {
        r = await req.log.group('docker buildx build', () =>
          exec(this.opts.docker ?? 'docker', args, {
            env: { ...(req.env ?? process.env), ...env },
            signal: req.signal,
            timeoutMs: req.timeoutMs,
            logger: tail.logger(req.log),
            maxCapture: 1024 * 1024,
            allowFailure: true,
          }),
        );
      } catch (err) {
        if (err instanceof ExecError && err.result.timedOut)
          throw new BakeError(
            'docker buildx build did not finish before the deadline and was stopped',
            'buildx',
            tail.lines(),
          );
        throw err;
      }
      if (r.exitCode !== 0)
        throw new BakeError(`docker buildx build failed: ${buildxErrorLine(r)}`, 'buildx', tail.lines());
      const text = await readFile(metadataFile, 'utf8').catch(() => undefined);
      if (text === undefined)
        throw new BakeError(
          'docker buildx build wrote no metadata file (--metadata-file)',
          'buildx',
          tail.lines(),
        );
      const meta = parseBuildxMetadata(text);
      const pushed = req.push ? checked.pushRefs : [];
      return {
        builder: 'buildx',
        digest: meta.digest,
        mediaType: meta.mediaType,
        platforms: req.platforms,
        ociLayout: checked.ociLayout,
        ociLayoutTag: checked.ociLayout ? checked.ociLayoutTag : undefined,
        image: pushed[0]
          ? `${repositoryName(parseImageReference(pushed[0]))}@${meta.digest}`
          : meta.imageName,
        pushed,
        logTail: tail.lines(),
      };
    } finally {
      await rm(tmp, { recursive: true, force: true });
    }
  }
}
