/**
 * Builders behind one interface (issue #11): `buildx` (a Docker daemon with BuildKit), `buildah` (daemonless) and
 * `layer-append` (pure TypeScript, bake/layer-append.ts) build container images from the same {@link BakeRequest}
 * and answer the same {@link BakeResult}; `packer` bakes VM images from a template ({@link PackerRequest}) and
 * answers the artifact ids as its "digest" ({@link PackerResult}).
 *
 * This file holds the shapes, the choice of a builder ({@link chooseBuilder}), the checks every image builder
 * makes on a request ({@link checkBakeRequest}) and the errors they share. The builders themselves are in
 * buildah.ts, buildx.ts, packer.ts and layer-append.ts.
 */
import { readdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { ConfigurationError } from '../errors.js';
import { ExecError, type ExecResult } from '../exec/exec.js';
import { effectiveTag, isValidTag, parseImageReference, repositoryName } from '../image/reference.js';
import type { AnnotationProps, Logger } from '../platform/types.js';

/** The builders, by the name the `builder` input takes. */
export type BuilderName = 'buildx' | 'buildah' | 'layer-append' | 'packer';
export const BUILDER_NAMES: readonly BuilderName[] = ['buildx', 'buildah', 'layer-append', 'packer'];

/** A secret file mounted into `RUN --mount=type=secret,id=<id>` steps, never written into a layer. */
export interface BakeSecret {
  id: string;
  /** Path of the file holding the value (read by the builder, never by Kiln). */
  src: string;
}

/** What to build and where the result goes: the same for every image builder. */
export interface BakeRequest {
  /** The build context directory. */
  context: string;
  /** Dockerfile/Containerfile; default: the builder's (`Containerfile` or `Dockerfile` in the context). */
  file?: string;
  /** Stage of a multi-stage file to build. */
  target?: string;
  buildArgs: Record<string, string>;
  labels: Record<string, string>;
  /** `os/arch[/variant]`; empty = the builder's default (the host's platform). Several make an image index. */
  platforms: string[];
  secrets: BakeSecret[];
  /** Seconds since the epoch for every timestamp in the image (created, history, files): reproducible digests. */
  timestamp?: number;
  /** References to push to (`registry/repository[:tag]`, `latest` when no tag). */
  tags: string[];
  /** Write the image to this OCI layout directory (created, or added to when it is a layout already). */
  ociLayout?: string;
  /** The `org.opencontainers.image.ref.name` in the layout; default: the first tag's tag, else `latest`. */
  ociLayoutTag?: string;
  /** Push to every tag. */
  push?: boolean;
  /** `false` for a plain-http or self-signed registry (buildah `--tls-verify=false`, buildx `registry.insecure`). */
  tlsVerify?: boolean;
  /** buildx only: attach a provenance attestation (off by default: no `unknown/unknown` entry in the index). */
  provenance?: boolean;
  /**
   * Run a command inside the freshly built image before anything is pushed or written (buildah only); a non-zero
   * exit fails the bake with {@link VerifyFailedError} and nothing leaves the machine.
   */
  verify?: { argv: string[]; timeoutMs?: number };
  /** The whole bake's deadline (every child process gets what is left of it). */
  timeoutMs?: number;
  signal: AbortSignal;
  log: Logger;
  /** Environment of the child processes (default `process.env`): PATH, REGISTRY_AUTH_FILE, DOCKER_CONFIG, … */
  env?: NodeJS.ProcessEnv;
}

/** What an image builder made. */
export interface BakeResult {
  builder: BuilderName;
  /** The digest of the image's manifest, or of its index for several platforms. */
  digest: string;
  mediaType?: string;
  /** The platforms built (what the builder reports; the request's when it does not say). */
  platforms: string[];
  /** The OCI layout written, and the ref name of the image in it. */
  ociLayout?: string;
  ociLayoutTag?: string;
  /** `registry/repository@digest` of the first tag pushed; for a local-only build, the local image name. */
  image?: string;
  /** The references pushed (normalised, with their tag). */
  pushed: string[];
  /** The verify step's result, when one ran. */
  verify?: VerifyResult;
  /** The last lines the builder printed. */
  logTail: string[];
}

/** An image builder: build, (verify), write and push in one call. */
export interface ImageBuilder {
  readonly name: Exclude<BuilderName, 'packer'>;
  bake(request: BakeRequest): Promise<BakeResult>;
}

/** An image built into a builder's local storage, not yet written or pushed anywhere. */
export interface LocalImage {
  builder: BuilderName;
  /** The local name (`localhost/kiln-bake-…`): an image, or a manifest list when `list` is true. */
  name: string;
  /** The local image id (of the last image built, for a list). */
  id: string;
  list: boolean;
  platforms: string[];
  logTail: string[];
}

/** A command to run inside a local image. */
export interface VerifyRequest {
  argv: string[];
  timeoutMs?: number;
  signal: AbortSignal;
  log: Logger;
  env?: NodeJS.ProcessEnv;
}

export interface VerifyResult {
  passed: boolean;
  /** The command's exit code (null when it was stopped at its timeout). */
  exitCode: number | null;
  timedOut: boolean;
  /** The last lines of its output. */
  outputTail: string[];
  durationMs: number;
}

/**
 * A builder that builds into local storage first: `build()` → {@link LocalImage}, `verify()` runs a command in
 * it, `export()` writes the OCI layout and pushes, `discard()` removes it. A failing verify means `export()` is
 * never called: nothing is pushed or written.
 */
export interface StagedImageBuilder extends ImageBuilder {
  build(request: BakeRequest): Promise<LocalImage>;
  verify(image: LocalImage, request: VerifyRequest): Promise<VerifyResult>;
  export(image: LocalImage, request: BakeRequest): Promise<BakeResult>;
  discard(image: LocalImage, request: Pick<BakeRequest, 'log' | 'env'>): Promise<void>;
}

/** A Packer run: its own request shape (a template, not a Dockerfile). */
export interface PackerRequest {
  /** A JSON template (Packer 1.6.6 reads JSON fully; its HCL2 support is partial). */
  template: string;
  /** `-var k=v` */
  vars: Record<string, string>;
  /** `-var-file` */
  varFiles?: string[];
  /** `-only=a,b`: the builds to run. */
  only: string[];
  /** `-except=a,b` */
  except?: string[];
  /** Working directory of `packer build` (relative paths in JSON templates are relative to it); default: the template's directory. */
  cwd?: string;
  /** The manifest post-processor's output; default `<cwd>/packer-manifest.json`, read when this run wrote it. */
  manifest?: string;
  timeoutMs?: number;
  signal: AbortSignal;
  log: Logger;
  env?: NodeJS.ProcessEnv;
}

/** One artifact from `-machine-readable` output (`<ts>,<build>,artifact,<index>,<key>,<value>` lines). */
export interface PackerArtifact {
  build: string;
  index: number;
  id: string;
  builderId?: string;
  /** Packer's description (`string`). */
  description?: string;
  files: string[];
}

export interface PackerResult {
  builder: 'packer';
  /** The artifact id of the one build, or `<build>=<id>` pairs sorted by build and joined with commas. */
  digest: string;
  /** Each build's final artifact id (its last artifact, after post-processors), builds sorted by name. */
  artifactIds: string[];
  /** Every artifact, in the order Packer printed them. */
  artifacts: PackerArtifact[];
  /** `builds[]` of the manifest post-processor's file for this run, when one was written. */
  manifestBuilds?: { name: string; builderType: string; artifactId: string; files: string[] }[];
  logTail: string[];
}

// ---------------------------------------------------------------------------------------------------------------
// Choosing a builder

/** Whether a tool can be used here, as a builder's probe found out. */
export interface ToolProbe {
  available: boolean;
  /** What it said about its version. */
  version?: string;
  /** Why it cannot be used (not on PATH, no daemon answering, …). */
  why?: string;
}

/** What the probes found: `probeBuildx` (buildx.ts), `probeBuildah` (buildah.ts), `probePacker` (packer.ts). */
export interface InstalledBuilders {
  buildx: ToolProbe;
  buildah: ToolProbe;
  packer?: ToolProbe;
}

export interface BuilderChoice {
  builder: BuilderName;
  /** One sentence for the log. */
  reason: string;
}

/**
 * The builder to use: the explicit one when given (`auto` or empty = choose), else `buildx` when
 * `docker buildx version` works and a daemon answers, else `buildah` when it is installed, else `layer-append`
 * (pure TypeScript, always there). An explicit builder that cannot run here is a {@link ConfigurationError}
 * naming why; `packer` is only ever explicit (it needs a template, not a Dockerfile).
 */
export function chooseBuilder(installed: InstalledBuilders, explicit?: string): BuilderChoice {
  const asked = explicit?.trim();
  if (asked && asked !== 'auto') {
    if (!(BUILDER_NAMES as readonly string[]).includes(asked)) {
      throw new ConfigurationError(
        `builder '${asked}' is not one of ${BUILDER_NAMES.join(', ')} (or auto, to choose by what is installed)`,
      );
    }
    const name = asked as BuilderName;
    if (name === 'layer-append') return { builder: name, reason: 'asked for' };
    const probe = name === 'packer' ? installed.packer : installed[name];
    if (!probe?.available) {
      throw new ConfigurationError(
        `builder '${name}' was asked for but cannot run here: ${probe?.why ?? `${name} was not probed`}`,
      );
    }
    return { builder: name, reason: `asked for${probe.version ? ` (${probe.version})` : ''}` };
  }
  if (installed.buildx.available) {
    return {
      builder: 'buildx',
      reason: `docker buildx works and a Docker daemon answers${installed.buildx.version ? ` (${installed.buildx.version})` : ''}`,
    };
  }
  if (installed.buildah.available) {
    return {
      builder: 'buildah',
      reason: `buildah is installed${installed.buildah.version ? ` (${installed.buildah.version})` : ''}; buildx is not usable: ${installed.buildx.why ?? 'unknown'}`,
    };
  }
  return {
    builder: 'layer-append',
    reason: `neither buildx (${installed.buildx.why ?? 'unknown'}) nor buildah (${installed.buildah.why ?? 'unknown'}) can run here`,
  };
}

// ---------------------------------------------------------------------------------------------------------------
// Checks every image builder makes

/** A request after {@link checkBakeRequest}: absolute paths, normalised push references. */
export interface CheckedBake {
  context: string;
  file?: string;
  secrets: BakeSecret[];
  /** `registry/repository:tag` for every tag. */
  pushRefs: string[];
  /** The ref name for the OCI layout. */
  ociLayoutTag: string;
  ociLayout?: string;
}

const PLATFORM_RE = /^[a-z0-9]+\/[a-z0-9_]+(?:\/[a-z0-9.]+)?$/;
const BUILD_ARG_RE = /^[A-Za-z_][A-Za-z0-9_]*$/;
const SECRET_ID_RE = /^[A-Za-z0-9_.-]{1,128}$/;

function kindOf(path: string): 'file' | 'dir' | 'other' | undefined {
  try {
    const s = statSync(path);
    return s.isFile() ? 'file' : s.isDirectory() ? 'dir' : 'other';
  } catch {
    return undefined;
  }
}

/**
 * Checks a request before any builder runs, one {@link ConfigurationError} per mistake naming the field and
 * value: the context is a directory, the file and secret files exist, build-arg names, label keys, platforms,
 * tags and the timestamp are well formed, and a push has tags. Paths come back absolute (relative to the process's
 * working directory). Values of secrets are never read.
 */
export function checkBakeRequest(req: BakeRequest): CheckedBake {
  const context = resolve(req.context);
  if (kindOf(context) !== 'dir')
    throw new ConfigurationError(`build context '${req.context}' is not a directory`);
  let file: string | undefined;
  if (req.file !== undefined && req.file !== '') {
    file = resolve(req.file);
    if (kindOf(file) !== 'file') throw new ConfigurationError(`build file '${req.file}' is not a file`);
  }
  if (req.target !== undefined && !/^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(req.target))
    throw new ConfigurationError(`target '${req.target}' is not a stage name`);
  for (const key of Object.keys(req.buildArgs)) {
    if (!BUILD_ARG_RE.test(key))
      throw new ConfigurationError(`build arg '${key}': expected a name of letters, digits and _`);
  }
  for (const [key, value] of Object.entries(req.labels)) {
    if (key === '' || /[=\s]/.test(key))
      throw new ConfigurationError(`label '${key}': a key is not empty and has no '=' or white space`);
    if (/[\r\n]/.test(value)) throw new ConfigurationError(`label '${key}': the value has a line break`);
  }
  for (const p of req.platforms) {
    if (!PLATFORM_RE.test(p))
      throw new ConfigurationError(`platform '${p}': expected os/arch[/variant], e.g. linux/arm64`);
  }
  if (new Set(req.platforms).size !== req.platforms.length)
    throw new ConfigurationError(`platforms list one platform twice: ${req.platforms.join(', ')}`);
  const ids = new Set<string>();
  const secrets = req.secrets.map(({ id, src }) => {
    if (!SECRET_ID_RE.test(id))
      throw new ConfigurationError(`secret id '${id}': expected letters, digits, '.', '_' or '-'`);
    if (ids.has(id)) throw new ConfigurationError(`secret id '${id}' is given twice`);
    ids.add(id);
    const abs = resolve(src);
    // Builders read `--secret id=…,src=…` as comma-separated fields: a comma in the path would cut it.
    if (abs.includes(',')) throw new ConfigurationError(`secret '${id}': the path '${src}' has a comma`);
    if (kindOf(abs) !== 'file')
      throw new ConfigurationError(`secret '${id}': '${src}' is not a readable file`);
    return { id, src: abs };
  });
  if (req.timestamp !== undefined && (!Number.isSafeInteger(req.timestamp) || req.timestamp < 0))
    throw new ConfigurationError(`timestamp ${req.timestamp}: expected whole seconds since 1970, ≥ 0`);
  const pushRefs = req.tags.map((t) => {
    const ref = parseImageReference(t);
    if (ref.digest !== undefined)
      throw new ConfigurationError(
        `tag '${t}' has a digest; a build is pushed to tags (the digest is its result)`,
      );
    return `${repositoryName(ref)}:${effectiveTag(ref)}`;
  });
  if (req.push && pushRefs.length === 0)
    throw new ConfigurationError('push is on but no tags were given to push to');
  const firstTag = req.tags[0] !== undefined ? effectiveTag(parseImageReference(req.tags[0])) : 'latest';
  const ociLayoutTag = req.ociLayoutTag ?? firstTag;
  if (!isValidTag(ociLayoutTag))
    throw new ConfigurationError(`OCI layout tag '${ociLayoutTag}' is not a valid tag`);
  let ociLayout: string | undefined;
  if (req.ociLayout !== undefined && req.ociLayout !== '') {
    ociLayout = resolve(req.ociLayout);
    // `oci:<dir>:<tag>` (buildah) and `dest=<dir>` in a comma-separated list (buildx) cannot hold these.
    if (/[:,]/.test(ociLayout))
      throw new ConfigurationError(
        `OCI layout path '${req.ociLayout}' has a ':' or ','; choose another path`,
      );
    const kind = kindOf(ociLayout);
    if (kind !== undefined && kind !== 'dir')
      throw new ConfigurationError(`OCI layout path '${req.ociLayout}' exists and is not a directory`);
    // An image is added to an existing layout, never spilled into a directory of other files.
    if (
      kind === 'dir' &&
      readdirSync(ociLayout).length > 0 &&
      kindOf(join(ociLayout, 'oci-layout')) !== 'file'
    )
      throw new ConfigurationError(
        `OCI layout path '${req.ociLayout}' is a directory with other files in it, not an OCI layout`,
      );
  }
  if (req.verify !== undefined && req.verify.argv.length === 0)
    throw new ConfigurationError('verify needs a command (an argument list), got none');
  return { context, file, secrets, pushRefs, ociLayoutTag, ociLayout };
}

// ---------------------------------------------------------------------------------------------------------------
// Shared by the builders

/** A build failed: the builder's own error line in the message, its last lines in `logTail`. */
export class BakeError extends Error {
  override readonly name = 'BakeError';
  constructor(
    message: string,
    readonly builder: BuilderName,
    readonly logTail: string[] = [],
  ) {
    super(message);
  }
}

/** The verify command failed in the freshly built image: nothing was pushed or written. */
export class VerifyFailedError extends Error {
  override readonly name = 'VerifyFailedError';
  constructor(readonly result: VerifyResult) {
    const last = result.outputTail.at(-1);
    super(
      result.timedOut
        ? `verify did not finish in time and was stopped; nothing was pushed or written${last ? ` (last output: ${last})` : ''}`
        : `verify exited with ${result.exitCode}; nothing was pushed or written${last ? ` (last output: ${last})` : ''}`,
    );
  }
}

/** The last `max` lines passed to {@link LogTail.logger}, which also forwards them to the real log. */
export class LogTail {
  private readonly buffer: string[] = [];
  constructor(private readonly max = 40) {}

  push(line: string): void {
    this.buffer.push(line);
    if (this.buffer.length > this.max) this.buffer.shift();
  }

  lines(): string[] {
    return [...this.buffer];
  }

  /**
   * A Logger for exec's line streaming: every line is kept here and, unless `forward` returns false, handed on
   * (after `forward`'s rewrite when it returns a string).
   */
  logger(log: Logger, forward?: (line: string) => string | boolean): Logger {
    const info = (line: string) => {
      const out = forward ? forward(line) : line;
      if (out === false) return;
      const text = typeof out === 'string' ? out : line;
      this.push(text);
      log.info(text);
    };
    return {
      debugEnabled: log.debugEnabled,
      debug: (m: string) => log.debug(m),
      info,
      notice: (m: string, p?: AnnotationProps) => log.notice(m, p),
      warning: (m: string, p?: AnnotationProps) => log.warning(m, p),
      error: (m: string, p?: AnnotationProps) => log.error(m, p),
      startGroup: (t: string) => log.startGroup(t),
      endGroup: () => log.endGroup(),
      group: <T>(t: string, fn: () => Promise<T>) => log.group(t, fn),
    };
  }
}

/** Milliseconds left before `deadline` (at least 1), or undefined without one. */
export function remaining(deadline: number | undefined): number | undefined {
  return deadline === undefined ? undefined : Math.max(1, deadline - Date.now());
}

/**
 * A verify command's result from its run: passed on exit 0; `timedOut` (exit code null) when exec stopped it at
 * its deadline; the tail of its output either way. Other errors (cancellation, a missing program) are thrown.
 */
export async function verifyResultOf(tail: LogTail, run: () => Promise<ExecResult>): Promise<VerifyResult> {
  const started = Date.now();
  const result = (exitCode: number | null, timedOut: boolean): VerifyResult => ({
    passed: exitCode === 0 && !timedOut,
    exitCode,
    timedOut,
    outputTail: tail.lines(),
    durationMs: Date.now() - started,
  });
  try {
    return result((await run()).exitCode, false);
  } catch (err) {
    if (err instanceof ExecError && err.result.timedOut) return result(null, true);
    throw err;
  }
}
