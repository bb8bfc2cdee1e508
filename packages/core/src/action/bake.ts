/**
 * bake-image's glue: inputs → a builder and its request (tags and OCI labels from the CI's git metadata, registry
 * credentials the builder's own way, a verify command as an argument array) → one outcome for every builder →
 * outputs and the summary. The builders themselves are the `bake` domain (packages/core/src/bake/).
 */
import { mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import {
  chooseBuilder,
  VerifyFailedError,
  type BakeRequest,
  type BuilderName,
  type VerifyResult,
} from '../bake/builder.js';
import { appendLayers, type AppendLayersOptions, type LayerSource } from '../bake/layer-append.js';
import * as metadata from '../bake/metadata.js';
import type { VerifyOutcome } from '../bake/verify.js';
import { InputError } from '../errors.js';
import { formatReference, isLoopbackRegistry, parseImageReference, withTag } from '../image/reference.js';
import type { Summary } from '../platform/summary.js';
import type { Logger, Platform } from '../platform/types.js';
import { shortDigest } from '../registry/digest.js';
import { formatBytes } from '../registry/progress.js';
import { formatDuration } from '../util/duration.js';
import { createRegistryClient } from './registry.js';

/** The inputs bake-image declares, as its `main` receives them. */
export interface BakeInputValues {
  builder: string;
  context: string;
  file?: string;
  target?: string;
  'build-args': Record<string, string>;
  'secret-files': Record<string, string>;
  secrets: Record<string, string>;
  platforms: string[];
  base?: string;
  layers: string[];
  env: Record<string, string>;
  entrypoint?: string;
  cmd?: string;
  workdir?: string;
  user?: string;
  expose: string[];
  template?: string;
  'packer-vars': Record<string, string>;
  only: string[];
  repository?: string;
  tags?: string;
  flavor?: string;
  labels: Record<string, string>;
  licenses?: string;
  'oci-layout'?: string;
  push: boolean;
  verify?: string;
  'verify-timeout': number;
  reproducible: boolean;
  provenance: boolean;
  'allow-overwrite': boolean;
  timeout: number;
  username?: string;
  password?: string;
  'registry-auth': Record<string, string>;
  'docker-config'?: string;
  'insecure-registries': string[];
}

export interface BakeContext {
  platform: Platform;
  log: Logger;
  signal: AbortSignal;
  summary: Summary;
  setOutput(name: string, value: string | number | boolean): void;
}

/** What any builder made, in one shape for outputs and the summary. */
export interface BakeOutcome {
  builder: BuilderName;
  reason: string;
  digest: string;
  platforms: string[];
  /** `repository@digest` when pushed. */
  image?: string;
  /** References pushed (`repository:tag`). */
  pushed: string[];
  ociLayout?: string;
  artifactIds: string[];
  base?: { ref: string; digest: string };
  layers: Array<{ digest: string; size: number; source: string }>;
  bytesUploaded?: number;
  verify?: {
    passed: boolean;
    skipped?: string;
    exitCode?: number | null;
    timedOut?: boolean;
    outputTail: string[];
  };
  durationMs: number;
}

/**
 * A command as an argument array: a JSON array of strings, or words split at white space with `'…'`/`"…"`
 * quoting (no shell: `$VAR`, pipes and globs mean nothing).
 */
export function parseCommand(value: string, inputName: string): string[] {
  const text = value.trim();
  if (text.startsWith('[')) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch (e) {
      throw new InputError(
        inputName,
        `is not a JSON array (${(e as Error).message}); expected e.g. ["/app/run","--check"].`,
      );
    }
    if (!Array.isArray(parsed) || parsed.length === 0 || !parsed.every((x) => typeof x === 'string'))
      throw new InputError(
        inputName,
        'is not a non-empty JSON array of strings; expected e.g. ["/app/run","--check"].',
      );
    return parsed as string[];
  }
  const words: string[] = [];
  let word = '';
  let quote: string | undefined;
  let inWord = false;
  for (const ch of text) {
    if (quote) {
      if (ch === quote) quote = undefined;
      else word += ch;
    } else if (ch === '"' || ch === "'") {
      quote = ch;
      inWord = true;
    } else if (/\s/.test(ch)) {
      if (inWord) words.push(word);
      word = '';
      inWord = false;
    } else {
      word += ch;
      inWord = true;
    }
  }
  if (quote)
    throw new InputError(
      inputName,
      `has an unclosed ${quote}; expected words, 'quoted words' or a JSON array.`,
    );
  if (inWord) words.push(word);
  if (words.length === 0) throw new InputError(inputName, 'is empty; expected a command.');
  return words;
}

/** `dist:/app` → the directory `dist` at `/app`; `app.tar.gz` → a tarball layer. Paths are relative to `cwd`. */
export function parseLayers(items: readonly string[], cwd: string): LayerSource[] {
  return items.map((item) => {
    const sep = item.lastIndexOf(':/');
    const path = resolve(cwd, sep > 0 ? item.slice(0, sep) : item);
    const destination = sep > 0 ? item.slice(sep + 1) : undefined;
    let st;
    try {
      st = statSync(path);
    } catch {
      throw new InputError('layers', `"${item}": ${path} does not exist; expected a directory or a tarball.`);
    }
    if (st.isDirectory()) return { directory: path, ...(destination ? { destination } : {}) };
    if (!st.isFile())
      throw new InputError('layers', `"${item}": ${path} is not a directory or a regular file.`);
    if (destination)
      throw new InputError(
        'layers',
        `"${item}": a tarball is used as it is; a destination applies to directories only.`,
      );
    return { tarball: path };
  });
}

/** The bake, from validated inputs to outputs and summary; returns the exit code. */
export async function bakeImage(ctx: BakeContext, inputs: BakeInputValues): Promise<number> {
  const { platform, log } = ctx;
  const started = Date.now();
  const cwd = platform.workspace;

  // Everything is checked before anything runs.
  const git = metadata.gitContext(platform.env, {
    ...(inputs.licenses ? { licenses: inputs.licenses } : {}),
  });
  const meta = metadata.imageMetadata(git, {
    ...(inputs.tags?.trim() ? { tags: inputs.tags } : {}),
    ...(inputs.flavor?.trim() ? { flavor: inputs.flavor } : {}),
    labels: inputs.labels,
  });
  for (const w of meta.warnings) log.warning(w);
  const repository = inputs.repository
    ? parseImageReference(inputs.repository, { inputName: 'repository' })
    : undefined;
  if (repository && (repository.tag !== undefined || repository.digest !== undefined))
    throw new InputError(
      'repository',
      `"${inputs.repository}" names a tag or digest; expected a repository only (tags come from the tags input).`,
    );
  const push = inputs.push && repository !== undefined;
  const refs = push && repository ? meta.tags.map((t) => withTag(repository, t)) : [];
  if (push && refs.length === 0)
    throw new InputError(
      'tags',
      `gives no tag for this ${git.platform} ${git.event} on ${git.ref || 'no ref'}; add a rule such as type=sha or type=raw,value=… (or push: false).`,
    );
  const verifyArgv = inputs.verify ? parseCommand(inputs.verify, 'verify') : undefined;
  const timestamp = inputs.reproducible ? Math.floor(Date.parse(git.createdAt) / 1000) : undefined;
  const ociLayout = inputs['oci-layout'] ? resolve(cwd, inputs['oci-layout']) : undefined;
  const asked = inputs.builder === 'auto' && inputs.template ? 'packer' : inputs.builder;
  if (asked === 'packer' && !inputs.template)
    throw new InputError('template', 'is required with builder: packer; expected a Packer JSON template.');
  if (asked === 'layer-append' && !inputs.base)
    throw new InputError(
      'base',
      'is required with builder: layer-append; expected the base image, e.g. registry.example.com/team/runtime:21.',
    );
  const choice = chooseBuilder(
    asked === 'layer-append'
      ? { buildx: { available: false }, buildah: { available: false } }
      : {
          // Each builder's module is loaded only when it is probed or used (start-up: bench/startup.ts).
          buildx: await (
            await import('../bake/buildx.js')
          ).probeBuildx({ env: platform.env, signal: ctx.signal }),
          buildah: await (
            await import('../bake/buildah.js')
          ).probeBuildah({ env: platform.env, signal: ctx.signal }),
          packer: await (
            await import('../bake/packer.js')
          ).probePacker({ env: platform.env, signal: ctx.signal }),
        },
    asked,
  );
  if (choice.builder === 'layer-append' && !inputs.base)
    throw new InputError(
      'base',
      `is required: no other builder can run here (${choice.reason}), and layer-append appends to a base image; expected e.g. registry.example.com/team/runtime:21.`,
    );
  log.info(`builder: ${choice.builder} (${choice.reason})`);

  const deadline = Date.now() + inputs.timeout;
  const common = { ctx, inputs, meta, refs, timestamp, ociLayout, verifyArgv, deadline };
  let outcome: Omit<BakeOutcome, 'durationMs' | 'reason'>;
  try {
    if (choice.builder === 'packer') outcome = await bakePacker(common);
    else if (choice.builder === 'layer-append') outcome = await bakeLayerAppend(common);
    else outcome = await bakeContainer(common, choice.builder);
  } catch (e) {
    const message = e instanceof Error ? e.message : String(e);
    ctx.summary.heading(`❌ bake-image failed: ${message.split('\n')[0]}`);
    if (e instanceof VerifyFailedError && e.result.outputTail.length)
      ctx.summary.details('Output of verify', (d) => d.code(e.result.outputTail.join('\n')));
    throw e;
  }
  const result: BakeOutcome = { ...outcome, reason: choice.reason, durationMs: Date.now() - started };
  publishBake(ctx, result, { version: meta.version, labels: meta.labels, context: meta.json.context });
  return 0;
}

interface BakeCommon {
  ctx: BakeContext;
  inputs: BakeInputValues;
  meta: metadata.ImageMetadata;
  refs: ReturnType<typeof withTag>[];
  timestamp?: number;
  ociLayout?: string;
  verifyArgv?: string[];
  deadline: number;
}

/** buildah or buildx: the Containerfile path, with credentials written where the builder reads them. */
async function bakeContainer(
  c: BakeCommon,
  builder: 'buildah' | 'buildx',
): Promise<Omit<BakeOutcome, 'durationMs' | 'reason'>> {
  const { ctx, inputs } = c;
  const temp = mkdtempSync(join(tmpdir(), 'kiln-bake-'));
  try {
    const secrets = Object.entries(inputs['secret-files']).map(([id, src]) => ({
      id,
      src: resolve(ctx.platform.workspace, src),
    }));
    for (const [id, value] of Object.entries(inputs.secrets)) {
      const src = join(temp, `secret-${secrets.length}`);
      writeFileSync(src, value, { mode: 0o600 });
      secrets.push({ id, src });
    }
    const env = { ...ctx.platform.env, ...registryAuthEnv(c, temp) };
    const hosts = new Set(c.refs.map((r) => r.registry));
    const insecure = [...hosts].some(
      (h) => isLoopbackRegistry(h) || c.inputs['insecure-registries'].includes(h),
    );
    const req: BakeRequest = {
      context: resolve(ctx.platform.workspace, inputs.context),
      ...(inputs.file ? { file: resolve(ctx.platform.workspace, inputs.file) } : {}),
      ...(inputs.target ? { target: inputs.target } : {}),
      buildArgs: inputs['build-args'],
      labels: c.meta.labels,
      platforms: inputs.platforms,
      secrets,
      ...(c.timestamp !== undefined ? { timestamp: c.timestamp } : {}),
      tags: c.refs.map(formatReference),
      ...(c.ociLayout ? { ociLayout: c.ociLayout } : {}),
      push: c.refs.length > 0,
      tlsVerify: !insecure,
      provenance: inputs.provenance,
      ...(c.verifyArgv ? { verify: { argv: c.verifyArgv, timeoutMs: inputs['verify-timeout'] } } : {}),
      timeoutMs: Math.max(1, c.deadline - Date.now()),
      signal: ctx.signal,
      log: ctx.log,
      env,
    };
    const r =
      builder === 'buildah'
        ? await new (await import('../bake/buildah.js')).BuildahBuilder().bake(req)
        : await new (await import('../bake/buildx.js')).BuildxBuilder().bake(req);
    return {
      builder,
      digest: r.digest,
      platforms: r.platforms,
      ...(r.pushed.length ? { image: `${repositoryOf(r.pushed[0] as string)}@${r.digest}` } : {}),
      pushed: r.pushed,
      ...(r.ociLayout ? { ociLayout: r.ociLayout } : {}),
      artifactIds: [],
      layers: [],
      ...(r.verify ? { verify: verifyShape(r.verify) } : {}),
    };
  } finally {
    rmSync(temp, { recursive: true, force: true });
  }
}

/** Credentials for a builder that pushes itself: a private auth file (REGISTRY_AUTH_FILE, DOCKER_CONFIG). */
function registryAuthEnv(c: BakeCommon, temp: string): Record<string, string> {
  const auths: Record<string, { auth: string }> = {};
  const add = (host: string, user: string, pass: string) => {
    auths[host] = { auth: Buffer.from(`${user}:${pass}`).toString('base64') };
    c.ctx.platform.setSecret(auths[host].auth);
  };
  if (c.inputs.username && c.inputs.password)
    for (const r of c.refs) add(r.registry, c.inputs.username, c.inputs.password);
  else if (c.inputs.username || c.inputs.password)
    throw new InputError(
      c.inputs.username ? 'password' : 'username',
      `is required with ${c.inputs.username ? 'username' : 'password'}.`,
    );
  for (const [host, value] of Object.entries(c.inputs['registry-auth'])) {
    const colon = value.indexOf(':');
    if (colon <= 0)
      throw new InputError(
        'registry-auth',
        `the entry for '${host}' is not user:password (value hidden); expected host=user:password.`,
      );
    add(host, value.slice(0, colon), value.slice(colon + 1));
  }
  const env: Record<string, string> = {};
  if (c.inputs['docker-config']) {
    const dir = resolve(c.ctx.platform.workspace, c.inputs['docker-config']);
    env.DOCKER_CONFIG = dir;
    env.REGISTRY_AUTH_FILE = join(dir, 'config.json');
  }
  if (Object.keys(auths).length > 0) {
    const dir = join(temp, 'auth');
    mkdirSync(dir, { mode: 0o700 });
    writeFileSync(join(dir, 'config.json'), JSON.stringify({ auths }), { mode: 0o600 });
    env.DOCKER_CONFIG = dir;
    env.REGISTRY_AUTH_FILE = join(dir, 'config.json');
  }
  return env;
}

/** Kiln's own builder: the registry client, the base's layers mounted, verify under chroot before any write. */
async function bakeLayerAppend(c: BakeCommon): Promise<Omit<BakeOutcome, 'durationMs' | 'reason'>> {
  const { ctx, inputs } = c;
  const base = parseImageReference(inputs.base as string, { inputName: 'base' });
  const layers = parseLayers(inputs.layers, ctx.platform.workspace);
  const entrypoint = inputs.entrypoint ? parseCommand(inputs.entrypoint, 'entrypoint') : undefined;
  const cmd = inputs.cmd ? parseCommand(inputs.cmd, 'cmd') : undefined;
  if (!c.refs.length && !c.ociLayout)
    throw new InputError(
      'repository',
      'or oci-layout is required with layer-append; expected where the image goes.',
    );
  const client = createRegistryClient(
    { ...inputs, concurrency: 4, timeout: inputs.timeout },
    { platform: ctx.platform, log: ctx.log, signal: ctx.signal, deadline: c.deadline },
    { source: base.registry, destinations: c.refs.map((r) => r.registry) },
  );
  const [first, ...more] = c.refs;
  const opts: AppendLayersOptions = {
    client,
    base,
    ...(first ? { target: first, tags: more.map((r) => r.tag as string) } : {}),
    layers,
    config: {
      env: inputs.env,
      ...(entrypoint ? { entrypoint } : {}),
      ...(cmd ? { cmd } : {}),
      ...(inputs.workdir ? { workdir: inputs.workdir } : {}),
      ...(inputs.user ? { user: inputs.user } : {}),
      labels: c.meta.labels,
      exposedPorts: inputs.expose,
      ...(c.timestamp !== undefined
        ? { created: new Date(c.timestamp * 1000).toISOString() }
        : { created: 'now' }),
    },
    ...(inputs.platforms.length ? { platforms: inputs.platforms } : {}),
    ...(c.ociLayout ? { ociLayout: c.ociLayout } : {}),
    ...(c.timestamp !== undefined ? { mtime: c.timestamp } : {}),
    allowOverwrite: inputs['allow-overwrite'],
    signal: ctx.signal,
    log: ctx.log,
  };
  let verify: BakeOutcome['verify'];
  let r;
  if (c.verifyArgv) {
    const { appendLayersVerified } = await import('../bake/verify.js');
    const v = await appendLayersVerified(opts, { argv: c.verifyArgv, timeoutMs: inputs['verify-timeout'] });
    r = v;
    verify = outcomeShape(v.verify);
  } else r = await appendLayers(opts);
  return {
    builder: 'layer-append',
    digest: r.digest,
    platforms: r.platforms,
    ...(r.target ? { image: `${r.target.repository}@${r.digest}` } : {}),
    pushed: r.target ? r.target.tags.map((t) => `${r.target!.repository}:${t.tag}`) : [],
    ...(r.ociLayout ? { ociLayout: r.ociLayout.dir } : {}),
    artifactIds: [],
    base: { ref: r.base.ref, digest: r.base.digest },
    // Sources named as the user wrote them (relative to the workspace), never the runner's absolute paths.
    layers: r.layers.map((l) => ({
      digest: l.digest,
      size: l.size,
      source: l.source.split(`${ctx.platform.workspace}/`).join(''),
    })),
    bytesUploaded: r.bytesUploaded,
    ...(verify ? { verify } : {}),
  };
}

/** A VM image: Packer's artifact ids are the "digest". */
async function bakePacker(c: BakeCommon): Promise<Omit<BakeOutcome, 'durationMs' | 'reason'>> {
  const { ctx, inputs } = c;
  if (c.verifyArgv)
    ctx.log.warning('verify is not run for Packer bakes: put the check in the template (a provisioner).');
  const { PackerBuilder } = await import('../bake/packer.js');
  const r = await new PackerBuilder().bake({
    template: resolve(ctx.platform.workspace, inputs.template as string),
    vars: inputs['packer-vars'],
    only: inputs.only,
    cwd: ctx.platform.workspace,
    timeoutMs: Math.max(1, c.deadline - Date.now()),
    signal: ctx.signal,
    log: ctx.log,
    env: ctx.platform.env,
  });
  return {
    builder: 'packer',
    digest: r.digest,
    platforms: [],
    pushed: [],
    artifactIds: r.artifactIds,
    layers: [],
  };
}

function repositoryOf(ref: string): string {
  return formatReference({ ...parseImageReference(ref), tag: undefined, digest: undefined });
}

function verifyShape(v: VerifyResult): NonNullable<BakeOutcome['verify']> {
  return { passed: v.passed, exitCode: v.exitCode, timedOut: v.timedOut, outputTail: v.outputTail };
}

function outcomeShape(v: VerifyOutcome): NonNullable<BakeOutcome['verify']> {
  return v.skipped ? { passed: false, skipped: v.reason, outputTail: [] } : verifyShape(v);
}

/** Outputs, the summary and the one verdict line. */
function publishBake(ctx: BakeContext, r: BakeOutcome, meta: BakeMetadata): void {
  const { setOutput, summary, log } = ctx;
  setOutput('digest', r.digest);
  setOutput('builder', r.builder);
  setOutput('version', meta.version);
  if (r.image) setOutput('image', r.image);
  if (r.ociLayout) setOutput('oci-layout', r.ociLayout);
  setOutput('tags', r.pushed.join('\n'));
  setOutput('labels', JSON.stringify(meta.labels));
  setOutput('platforms', r.platforms.join(','));
  setOutput('artifact-ids', r.artifactIds.join('\n'));
  setOutput(
    'metadata',
    JSON.stringify({
      builder: r.builder,
      digest: r.digest,
      image: r.image ?? null,
      tags: r.pushed,
      labels: meta.labels,
      version: meta.version,
      platforms: r.platforms,
      base: r.base ?? null,
      layers: r.layers,
      verify: r.verify ?? null,
      artifactIds: r.artifactIds,
      git: meta.context,
    }),
  );
  const headline = fillBakeSummary(summary, r, meta);
  log.info(headline.replace(/^✅ /, 'bake-image: '));
  if (!r.image && r.builder !== 'packer' && !r.ociLayout)
    log.info('Nothing was pushed or written (give repository, or oci-layout, to keep the image).');
}

/** What the summary shows of the tag rules' result. */
export interface BakeMetadata {
  version: string;
  labels: Record<string, string>;
  context?: unknown;
}

/** The first line: what was baked, with what, verified or not, where it went. */
export function bakeHeadline(r: BakeOutcome): string {
  const what =
    r.builder === 'packer'
      ? `baked ${r.artifactIds.join(', ') || r.digest}`
      : `baked ${shortDigest(r.digest)}`;
  const verify = !r.verify
    ? ''
    : r.verify.skipped
      ? '; verify skipped'
      : r.verify.passed
        ? '; verify passed'
        : '; verify FAILED';
  const where = r.pushed.length
    ? `; pushed ${r.pushed.length} tag${r.pushed.length === 1 ? '' : 's'}`
    : r.ociLayout
      ? '; written as an OCI layout'
      : r.builder === 'packer'
        ? ''
        : '; not pushed';
  return `✅ ${what} with ${r.builder}${r.platforms.length ? ` (${r.platforms.join(', ')})` : ''} in ${formatDuration(r.durationMs)}${verify}${where}`;
}

/**
 * The job summary of a bake: the headline, one two-column table (long digests shortened), then details blocks
 * with the full values: tags, labels, digest and image.
 */
export function fillBakeSummary(summary: Summary, r: BakeOutcome, meta: BakeMetadata): string {
  const headline = bakeHeadline(r);
  summary.heading(headline);
  const short = (ref: string) => ref.replace(/@(sha\d+:[0-9a-f]{12})[0-9a-f]+$/, '@$1…');
  const rows: string[][] = [];
  if (r.image) rows.push(['Image', short(r.image)]);
  if (r.base) rows.push(['Base', `${r.base.ref.replace(/@.*$/, '')} (${shortDigest(r.base.digest)})`]);
  for (const l of r.layers) rows.push(['Layer added', `${formatBytes(l.size)}: ${l.source}`]);
  if (r.bytesUploaded !== undefined) rows.push(['Uploaded', formatBytes(r.bytesUploaded)]);
  if (r.ociLayout) rows.push(['OCI layout', r.ociLayout]);
  if (r.artifactIds.length) rows.push(['Artifacts', r.artifactIds.join(', ')]);
  if (r.verify)
    rows.push([
      'Verify',
      r.verify.skipped ?? (r.verify.passed ? 'passed' : `failed (exit ${r.verify.exitCode ?? 'timeout'})`),
    ]);
  if (meta.version) rows.push(['Version', meta.version]);
  summary.table(['', 'Value'], rows);
  if (r.pushed.length) summary.details(`Tags (${r.pushed.length})`, (d) => d.list(r.pushed));
  const labels = Object.entries(meta.labels);
  if (labels.length) summary.details(`Labels (${labels.length})`, (d) => d.table(['Label', 'Value'], labels));
  summary.details('Digests', (d) =>
    d.code(
      [
        `image: ${r.image ?? r.digest}`,
        ...(r.base ? [`base:  ${r.base.ref.replace(/@.*$/, '')}@${r.base.digest}`] : []),
      ].join('\n'),
    ),
  );
  return headline;
}
