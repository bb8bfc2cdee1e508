/**
 * The `buildah` builder: daemonless, so it runs where no Docker daemon does (GitLab runners, containers, this
 * project's CI as root with `--storage-driver vfs --isolation chroot`).
 *
 * It builds into buildah's local storage first under a throw-away name (`localhost/kiln-bake-<hex>`), so a verify
 * command can run inside the image before anything leaves the machine ({@link BuildahBuilder.verify}); only then
 * does {@link BuildahBuilder.export} write the OCI layout (`buildah push <image> oci:<dir>:<tag>`) and push to each
 * tag (`buildah push --digestfile …`), and the local image is discarded.
 *
 * Several platforms build a manifest list (`--platform a,b --manifest <name>`, pushed with `buildah manifest push
 * --all`). A `RUN` step for a platform other than the host's needs emulation (qemu-user-static / binfmt_misc); a
 * file without `RUN` (`FROM scratch`, `COPY`) builds for any platform without it.
 *
 * The digest: from `--digestfile` for a push, from the layout's `index.json` entry for an OCI layout (the two
 * agree: both are written with `--format oci` and the same compression). `--timestamp` fixes every time in the
 * image, so the same inputs give the same digest. The `io.buildah.version` label buildah adds means a different
 * buildah version gives a different digest.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, readdir, rename, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { CancelledError, ConfigurationError } from '../errors.js';
import { exec, ExecError, type ExecResult } from '../exec/exec.js';
import { repositoryName, parseImageReference } from '../image/reference.js';
import { readOciLayout, selectByRefName } from '../image/source/oci.js';
import { DirStore } from '../image/source/store.js';
import type { Logger } from '../platform/types.js';
import {
  BakeError,
  checkBakeRequest,
  LogTail,
  remaining,
  VerifyFailedError,
  type BakeRequest,
  type BakeResult,
  type CheckedBake,
  type LocalImage,
  type StagedImageBuilder,
  type ToolProbe,
  type VerifyRequest,
  type VerifyResult,
  verifyResultOf,
} from './builder.js';

const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';
const DIGEST_RE = /^sha256:[a-f0-9]{64}$/;

/** Where buildah keeps images and how it runs `RUN` steps. Default: buildah's own configuration. */
export interface BuildahOptions {
  /** The `buildah` executable (default: `buildah` on PATH). */
  command?: string;
  /** `--root`: the storage directory. */
  root?: string;
  /** `--runroot`: the state directory. */
  runroot?: string;
  /** `--storage-driver` (`vfs` where overlay is not possible: in a container, as here). */
  storageDriver?: string;
  /** `--isolation` for RUN steps and verify: `chroot` when no OCI runtime can create namespaces. */
  isolation?: 'oci' | 'chroot' | 'rootless';
}

/** The global options (before the subcommand) for these storage settings. */
export function buildahGlobalArgs(opts: BuildahOptions): string[] {
  return [
    ...(opts.root ? ['--root', opts.root] : []),
    ...(opts.runroot ? ['--runroot', opts.runroot] : []),
    ...(opts.storageDriver ? ['--storage-driver', opts.storageDriver] : []),
  ];
}

/**
 * The arguments of `buildah build` for a checked request (after the global options): one image tagged `name`, or
 * for several platforms a manifest list named `name`.
 */
export function buildahBuildArgs(
  req: BakeRequest,
  checked: CheckedBake,
  opts: BuildahOptions,
  name: string,
  iidFile: string,
): string[] {
  const list = req.platforms.length > 1;
  // `--iidfile` holds one image id: a manifest list's images are found by its name instead.
  const args = list ? ['build'] : ['build', '--iidfile', iidFile];
  if (opts.isolation) args.push('--isolation', opts.isolation);
  if (req.timestamp !== undefined) args.push('--timestamp', String(req.timestamp));
  if (checked.file) args.push('--file', checked.file);
  if (req.target) args.push('--target', req.target);
  for (const [k, v] of Object.entries(req.buildArgs)) args.push('--build-arg', `${k}=${v}`);
  for (const [k, v] of Object.entries(req.labels)) args.push('--label', `${k}=${v}`);
  for (const s of checked.secrets) args.push('--secret', `id=${s.id},src=${s.src}`);
  if (req.platforms.length > 0) args.push('--platform', req.platforms.join(','));
  args.push(list ? '--manifest' : '--tag', name);
  args.push(checked.context);
  return args;
}

/** Is buildah here? (`buildah --version`.) */
export async function probeBuildah(
  opts: { command?: string; env?: NodeJS.ProcessEnv; signal?: AbortSignal } = {},
): Promise<ToolProbe> {
  try {
    const r = await exec(opts.command ?? 'buildah', ['--version'], {
      env: opts.env,
      signal: opts.signal,
      timeoutMs: 20_000,
      allowFailure: true,
    });
    if (r.exitCode === 0) return { available: true, version: r.stdout.trim() };
    return { available: false, why: `buildah --version exited with ${r.exitCode ?? r.signal}` };
  } catch (err) {
    if (err instanceof CancelledError) throw err;
    return { available: false, why: 'buildah is not on PATH' };
  }
}

/** buildah's own error line: the last `Error: …` line of its stderr, else its last line. */
function buildahErrorLine(r: ExecResult): string {
  const lines = r.stderr
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);
  const err = [...lines].reverse().find((l) => /^(Error|error):?\s/.test(l));
  const line = err ?? lines.at(-1) ?? `exit ${r.exitCode ?? r.signal}`;
  return line.replace(/^Error:\s*/, '');
}

/** buildah's messages about a verify command's exit, which say nothing the exit code does not. */
const RUN_NOISE = [
  /^subprocess exited with status \d+$/,
  /^Error: exit status \d+$/,
  /^process exited with error: /,
];

/** Local images of one builder instance; see the module comment. */
export class BuildahBuilder implements StagedImageBuilder {
  readonly name = 'buildah' as const;
  private readonly command: string;

  constructor(private readonly opts: BuildahOptions = {}) {
    this.command = opts.command ?? 'buildah';
  }

  /** Runs `buildah <global options> <args>`; a non-zero exit is a {@link BakeError} with buildah's error line. */
  private async run(
    args: string[],
    what: string,
    o: {
      log: Logger;
      env?: NodeJS.ProcessEnv;
      signal?: AbortSignal;
      deadline?: number;
      tail?: LogTail;
      quiet?: boolean;
      allowFailure?: boolean;
    },
  ): Promise<ExecResult> {
    const full = [...buildahGlobalArgs(this.opts), ...args];
    o.log.debug(`buildah ${full.join(' ')}`);
    let r: ExecResult;
    try {
      r = await exec(this.command, full, {
        env: o.env,
        signal: o.signal,
        timeoutMs: remaining(o.deadline),
        logger: o.quiet ? undefined : (o.tail ?? new LogTail()).logger(o.log),
        maxCapture: 1024 * 1024,
        allowFailure: true,
      });
    } catch (err) {
      if (err instanceof ExecError && err.result.timedOut)
        throw new BakeError(
          `${what} did not finish before the deadline and was stopped`,
          'buildah',
          o.tail?.lines(),
        );
      throw err;
    }
    if (r.exitCode !== 0 && !o.allowFailure) {
      throw new BakeError(`${what} failed: ${buildahErrorLine(r)}`, 'buildah', o.tail?.lines());
    }
    return r;
  }

  /** Builds into local storage under a fresh name; nothing is pushed or written. */
  async build(req: BakeRequest): Promise<LocalImage> {
    const checked = checkBakeRequest(req);
    return this.buildChecked(req, checked, deadlineOf(req));
  }

  private async buildChecked(req: BakeRequest, checked: CheckedBake, deadline?: number): Promise<LocalImage> {
    const name = `localhost/kiln-bake-${randomBytes(6).toString('hex')}`;
    const list = req.platforms.length > 1;
    const tmp = await mkdtemp(join(tmpdir(), 'kiln-buildah-'));
    const tail = new LogTail();
    try {
      const iidFile = join(tmp, 'iid');
      const args = buildahBuildArgs(req, checked, this.opts, name, iidFile);
      const title = `buildah build${req.platforms.length ? ` (${req.platforms.join(', ')})` : ''}`;
      await req.log.group(title, () => this.run(args, 'buildah build', { ...ctx(req), deadline, tail }));
      const id = list
        ? ((await this.localEntry(name, req))?.id ?? '')
        : (await readFile(iidFile, 'utf8')).trim().replace(/^sha256:/, '');
      const platforms = list ? await this.listPlatforms(name, req) : [await this.imagePlatform(name, req)];
      return { builder: 'buildah', name, id, list, platforms, logTail: tail.lines() };
    } catch (err) {
      // Whatever was committed under the name (a cancelled or half-done build too) goes.
      await this.removeQuietly({ builder: 'buildah', name, id: '', list, platforms: [], logTail: [] }, req);
      const foreign = req.platforms.some((p) => p.split('/')[1] !== hostArch());
      if (err instanceof BakeError && foreign && tail.lines().some((l) => /exec format error/i.test(l))) {
        throw new BakeError(
          `${err.message} (a RUN step for another platform needs emulation: qemu-user-static and binfmt_misc)`,
          'buildah',
          err.logTail,
        );
      }
      throw err;
    } finally {
      await rm(tmp, { recursive: true, force: true });
    }
  }

  private async imagePlatform(name: string, req: Ctx): Promise<string> {
    const r = await this.run(['inspect', '--type', 'image', name], 'buildah inspect', {
      ...ctx(req),
      quiet: true,
    });
    const info = JSON.parse(r.stdout) as { OCIv1?: { os?: string; architecture?: string; variant?: string } };
    const c = info.OCIv1 ?? {};
    return [c.os ?? 'linux', c.architecture ?? 'unknown', ...(c.variant ? [c.variant] : [])].join('/');
  }

  private async listInstances(name: string, req: Ctx): Promise<{ digest: string; platform: string }[]> {
    const r = await this.run(['manifest', 'inspect', name], 'buildah manifest inspect', {
      ...ctx(req),
      quiet: true,
    });
    const list = JSON.parse(r.stdout) as {
      manifests?: { digest: string; platform?: { os?: string; architecture?: string; variant?: string } }[];
    };
    return (list.manifests ?? []).map((m) => ({
      digest: m.digest,
      platform: [
        m.platform?.os ?? 'linux',
        m.platform?.architecture ?? 'unknown',
        ...(m.platform?.variant ? [m.platform.variant] : []),
      ].join('/'),
    }));
  }

  private async listPlatforms(name: string, req: Ctx): Promise<string[]> {
    return (await this.listInstances(name, req)).map((i) => i.platform);
  }

  /**
   * Runs `argv` (an argument list, no shell) in a working container of the image (`buildah from`, `buildah run`,
   * `buildah rm`). For a manifest list, the instance for this machine's platform. Its output goes to the log; the
   * result says whether it exited 0.
   */
  async verify(image: LocalImage, check: VerifyRequest): Promise<VerifyResult> {
    if (check.argv.length === 0)
      throw new ConfigurationError('verify needs a command (an argument list), got none');
    const container = `kiln-verify-${randomBytes(6).toString('hex')}`;
    const tail = new LogTail(20);
    return check.log.group(`verify: ${check.argv.join(' ')}`, async () => {
      await this.run(
        ['from', '--pull=never', '--quiet', '--name', container, image.name],
        'buildah from (verify)',
        {
          log: check.log,
          env: check.env,
          signal: check.signal,
          quiet: true,
        },
      );
      try {
        const runArgs = [
          'run',
          ...(this.opts.isolation ? ['--isolation', this.opts.isolation] : []),
          container,
          '--',
          ...check.argv,
        ];
        return await verifyResultOf(tail, () =>
          exec(this.command, [...buildahGlobalArgs(this.opts), ...runArgs], {
            env: check.env,
            signal: check.signal,
            timeoutMs: check.timeoutMs,
            logger: tail.logger(check.log, (l) => !RUN_NOISE.some((re) => re.test(l.trim()))),
            maxCapture: 256 * 1024,
            allowFailure: true,
          }),
        );
      } finally {
        await this.run(['rm', container], 'buildah rm', {
          log: check.log,
          env: check.env,
          quiet: true,
          allowFailure: true,
        }).catch((err: unknown) => check.log.debug(`buildah rm ${container}: ${String(err)}`));
      }
    });
  }

  /** Writes the OCI layout and pushes to every tag (as the request asks); reads the digest of what was written. */
  async export(image: LocalImage, req: BakeRequest): Promise<BakeResult> {
    const checked = checkBakeRequest(req);
    return this.exportChecked(image, req, checked, deadlineOf(req));
  }

  private async exportChecked(
    image: LocalImage,
    req: BakeRequest,
    checked: CheckedBake,
    deadline?: number,
  ): Promise<BakeResult> {
    const tmp = await mkdtemp(join(tmpdir(), 'kiln-buildah-'));
    const tail = new LogTail();
    const digests: { where: string; digest: string }[] = [];
    const pushed: string[] = [];
    let layoutDigest: { digest: string; mediaType: string } | undefined;
    const push = image.list ? ['manifest', 'push', '--all'] : ['push'];
    try {
      if (checked.ociLayout) {
        const dir = checked.ociLayout;
        layoutDigest = await req.log.group(`write OCI layout ${dir}:${checked.ociLayoutTag}`, async () => {
          // A new layout is written beside its place and renamed into it: a failed write leaves nothing behind.
          const fresh = !(await exists(dir)) || (await isEmptyDir(dir));
          const writeTo = fresh
            ? join(dirname(dir), `.${basename(dir)}.kiln-${randomBytes(4).toString('hex')}`)
            : dir;
          const digestFile = join(tmp, 'layout-digest');
          try {
            await this.run(
              [
                ...push,
                '--format',
                'oci',
                '--digestfile',
                digestFile,
                image.name,
                `oci:${writeTo}:${checked.ociLayoutTag}`,
              ],
              'buildah push (OCI layout)',
              { ...ctx(req), deadline, tail },
            );
            if (fresh) {
              await rm(dir, { recursive: true, force: true });
              await rename(writeTo, dir);
            }
          } finally {
            if (fresh) await rm(writeTo, { recursive: true, force: true });
          }
          const where = `OCI layout ${dir}`;
          const entry = selectByRefName(
            await readOciLayout(new DirStore(dir), where),
            checked.ociLayoutTag,
            where,
          );
          const written = (await readFile(digestFile, 'utf8').catch(() => '')).trim();
          if (written && written !== entry.digest)
            req.log.warning(
              `buildah reported ${written} but ${where} lists ${entry.digest} for '${checked.ociLayoutTag}'`,
            );
          return { digest: entry.digest, mediaType: entry.mediaType };
        });
        digests.push({
          where: `oci:${checked.ociLayout}:${checked.ociLayoutTag}`,
          digest: layoutDigest.digest,
        });
      }
      if (req.push) {
        for (const ref of checked.pushRefs) {
          const digestFile = join(tmp, `push-${pushed.length}`);
          await req.log.group(`push ${ref}`, () =>
            this.run(
              [
                ...push,
                '--format',
                'oci',
                '--digestfile',
                digestFile,
                ...(req.tlsVerify === false ? ['--tls-verify=false'] : []),
                image.name,
                `docker://${ref}`,
              ],
              `buildah push ${ref}`,
              { ...ctx(req), deadline, tail },
            ),
          );
          const digest = (await readFile(digestFile, 'utf8')).trim();
          if (!DIGEST_RE.test(digest))
            throw new BakeError(
              `buildah push ${ref} wrote no digest (got '${digest.slice(0, 80)}')`,
              'buildah',
              tail.lines(),
            );
          digests.push({ where: ref, digest });
          pushed.push(ref);
        }
      }
    } finally {
      await rm(tmp, { recursive: true, force: true });
    }
    const first = digests[0];
    if (!first) throw new Error('internal error: export() with nothing to write or push');
    for (const d of digests.slice(1)) {
      if (d.digest !== first.digest)
        req.log.warning(`${d.where} has digest ${d.digest}, ${first.where} has ${first.digest}`);
    }
    return {
      builder: 'buildah',
      digest: first.digest,
      mediaType: layoutDigest?.mediaType ?? (image.list ? OCI_INDEX : OCI_MANIFEST),
      platforms: image.platforms,
      ociLayout: checked.ociLayout,
      ociLayoutTag: checked.ociLayout ? checked.ociLayoutTag : undefined,
      image: pushed[0] ? `${repositoryName(parseImageReference(pushed[0]))}@${first.digest}` : undefined,
      pushed,
      logTail: [...image.logTail, ...tail.lines()].slice(-40),
    };
  }

  /** Removes the local image (for a list: the list and the images in it). Never throws. */
  async discard(image: LocalImage, req: Pick<BakeRequest, 'log' | 'env'>): Promise<void> {
    await this.removeQuietly(image, req);
  }

  private async removeQuietly(image: LocalImage, req: Pick<BakeRequest, 'log' | 'env'>): Promise<void> {
    // No signal: a cancelled bake still cleans up after itself.
    const o = { log: req.log, env: req.env, quiet: true, allowFailure: true, deadline: Date.now() + 60_000 };
    try {
      if (!image.list) {
        await this.run(['rmi', image.name], 'buildah rmi', o);
        return;
      }
      const instances = await this.listInstances(image.name, req).catch(() => []);
      const images = await this.run(['images', '--all', '--no-trunc', '--json'], 'buildah images', o);
      const all =
        images.exitCode === 0
          ? ((JSON.parse(images.stdout || 'null') ?? []) as { id: string; digest: string }[])
          : [];
      const ids = all.filter((i) => instances.some((x) => x.digest === i.digest)).map((i) => i.id);
      await this.run(['manifest', 'rm', image.name], 'buildah manifest rm', o);
      if (ids.length > 0) await this.run(['rmi', ...ids], 'buildah rmi', o);
    } catch (err) {
      req.log.debug(`could not remove ${image.name}: ${String(err)}`);
    }
  }

  /**
   * build → verify (when asked) → write the OCI layout / push → discard the local image. A failing verify throws
   * {@link VerifyFailedError} before anything is written. With nothing to write or push, the local image is kept
   * and named in `image`, with the digest of its manifest in local storage.
   */
  async bake(req: BakeRequest): Promise<BakeResult> {
    const checked = checkBakeRequest(req);
    const deadline = deadlineOf(req);
    const image = await this.buildChecked(req, checked, deadline);
    const outputs = checked.ociLayout !== undefined || req.push === true;
    let keep = false;
    try {
      let verify: VerifyResult | undefined;
      if (req.verify) {
        verify = await this.verify(image, {
          argv: req.verify.argv,
          timeoutMs: req.verify.timeoutMs ?? remaining(deadline),
          signal: req.signal,
          log: req.log,
          env: req.env,
        });
        if (!verify.passed) throw new VerifyFailedError(verify);
      }
      if (!outputs) {
        keep = true;
        return { ...(await this.localResult(image, req)), verify };
      }
      return { ...(await this.exportChecked(image, req, checked, deadline)), verify };
    } finally {
      if (!keep) await this.removeQuietly(image, req);
    }
  }

  /** The entry of `buildah images` for a local name (an image or a manifest list). */
  private async localEntry(name: string, req: Ctx): Promise<{ id: string; digest: string } | undefined> {
    const r = await this.run(['images', '--all', '--no-trunc', '--json'], 'buildah images', {
      ...ctx(req),
      quiet: true,
    });
    // `null` when there are none.
    const all = (JSON.parse(r.stdout || 'null') ?? []) as {
      id: string;
      digest: string;
      names?: string[] | null;
    }[];
    return all.find((i) => (i.names ?? []).some((n) => n === name || n === `${name}:latest`));
  }

  /** The result for an image only in local storage: its local name and manifest digest. */
  private async localResult(image: LocalImage, req: BakeRequest): Promise<BakeResult> {
    const digest = (await this.localEntry(image.name, req))?.digest ?? '';
    if (!DIGEST_RE.test(digest))
      throw new BakeError(`could not read the digest of ${image.name}`, 'buildah', image.logTail);
    return {
      builder: 'buildah',
      digest,
      platforms: image.platforms,
      image: image.name,
      pushed: [],
      logTail: image.logTail,
    };
  }
}

/** What a buildah call needs from a request. */
type Ctx = { log: Logger; env?: NodeJS.ProcessEnv; signal?: AbortSignal };

function ctx(req: Ctx) {
  return { log: req.log, env: req.env, signal: req.signal };
}

function deadlineOf(req: BakeRequest): number | undefined {
  return req.timeoutMs === undefined ? undefined : Date.now() + req.timeoutMs;
}

const GO_ARCH: Record<string, string> = { x64: 'amd64', ia32: '386', ppc64: 'ppc64le' };

/** This machine's architecture as OCI platforms name it. */
function hostArch(): string {
  return GO_ARCH[process.arch] ?? process.arch;
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}

async function isEmptyDir(path: string): Promise<boolean> {
  try {
    return (await readdir(path)).length === 0;
  } catch {
    return false;
  }
}
