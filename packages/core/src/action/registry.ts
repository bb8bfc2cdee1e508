/**
 * What push-registry and promote share: the registry inputs (credentials, insecure registries, concurrency, one
 * deadline), turning them into a {@link RegistryClient}, expanding destinations and tags into references,
 * the copy-runner (one deadline, outputs, summary: registry-report.ts), and user-facing errors. Exported from `@kiln/core` as the
 * `registryAction` namespace (its names are generic: a namespace keeps them from colliding with other domains').
 */
import { timerDelay } from '../util/sleep.js';
import { ConfigurationError, errorMessage, InputError } from '../errors.js';
import {
  fillCopyFailure,
  fillCopySummary,
  overallResult,
  pinnedImages,
  resultsJson,
  verdictLine,
} from './registry-report.js';
import {
  formatReference,
  isValidTag,
  parseImageReference,
  withTag,
  type ImageReference,
} from '../image/reference.js';
import type { Summary } from '../platform/summary.js';
import type { Logger, Platform } from '../platform/types.js';
import { formatDuration } from '../util/duration.js';
import { RegistryClient } from '../registry/client.js';
import { CopyError, CopyRefusedError, type CopyResult } from '../registry/copy.js';
import type { ExplicitCredentials } from '../registry/credentials.js';
import { isVerifiableDigest } from '../registry/digest.js';
import { normaliseRegistryKey } from '../registry/docker-config.js';
import { RegistryError } from '../registry/errors.js';

/** Declared in registry-inputs.ts: an action's spec reads them at start, without the registry engine. */
export { registryInputs } from './registry-inputs.js';

type RegistryInputValues = {
  username?: string;
  password?: string;
  'source-username'?: string;
  'source-password'?: string;
  'registry-auth': Record<string, string>;
  'docker-config'?: string;
  'insecure-registries': string[];
  concurrency: number;
  timeout: number;
};

/** Credentials by registry, from the inputs (see the input descriptions for precedence). */
export function explicitCredentials(
  inputs: RegistryInputValues,
  opts: { sourceRegistry?: string; destinationRegistries: readonly string[]; setSecret(v: string): void },
): ExplicitCredentials {
  const pair = (user: string | undefined, password: string | undefined, names: [string, string]) => {
    if (user && !password) throw new InputError(names[1], `is required with ${names[0]}.`);
    if (password && !user)
      throw new InputError(names[0], `is required with ${names[1]} (registries want a user with a token).`);
    return user && password ? { username: user, password } : undefined;
  };
  const dst = pair(inputs.username, inputs.password, ['username', 'password']);
  const src = pair(inputs['source-username'], inputs['source-password'], [
    'source-username',
    'source-password',
  ]);
  const explicit: ExplicitCredentials = {};
  const has = (registry: string) =>
    Object.keys(explicit).some((k) => normaliseRegistryKey(k) === normaliseRegistryKey(registry));
  for (const [host, value] of Object.entries(inputs['registry-auth'])) {
    const colon = value.indexOf(':');
    if (colon <= 0 || colon === value.length - 1)
      throw new InputError(
        'registry-auth',
        `the entry for '${host}' is not user:password (value hidden); expected one host=user:password per line.`,
      );
    if (normaliseRegistryKey(host) === '')
      throw new InputError(
        'registry-auth',
        `'${host}' is not a registry host; expected e.g. ghcr.io=user:token.`,
      );
    const password = value.slice(colon + 1);
    opts.setSecret(password);
    if (has(host)) throw new InputError('registry-auth', `'${host}' is given twice.`);
    explicit[host] = { username: value.slice(0, colon), password, source: 'registry-auth' };
  }
  if (dst)
    for (const registry of opts.destinationRegistries)
      if (!has(registry)) explicit[registry] = { ...dst, source: 'inputs username/password' };
  if (src && opts.sourceRegistry && !has(opts.sourceRegistry))
    explicit[opts.sourceRegistry] = { ...src, source: 'inputs source-username/source-password' };
  return explicit;
}

/** One deadline for a whole operation, on top of the action's cancellation signal. */
export class Deadline {
  readonly signal: AbortSignal;
  /** When it passes (ms since the epoch): requests retry until then, not for a fixed count. */
  readonly at: number;
  private fired = false;
  private readonly timer: NodeJS.Timeout;

  constructor(
    parent: AbortSignal,
    readonly ms: number,
  ) {
    const controller = new AbortController();
    this.at = Date.now() + ms;
    this.timer = setTimeout(() => {
      this.fired = true;
      controller.abort(new Error(`the timeout of ${formatDuration(ms)} passed`));
    }, timerDelay(ms));
    this.timer.unref();
    if (parent.aborted) controller.abort(parent.reason);
    else parent.addEventListener('abort', () => controller.abort(parent.reason), { once: true });
    this.signal = controller.signal;
  }

  /** Past the deadline (also when a request's own deadline guard noticed first, in the same millisecond). */
  get expired(): boolean {
    return this.fired || Date.now() >= this.at;
  }

  dispose(): void {
    clearTimeout(this.timer);
  }
}

/** `host`, `host:port` or `[v6]:port`, as docker's insecure-registries lists them (no scheme, no path). */
const REGISTRY_HOST =
  /^(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*|\[[0-9A-Fa-f:.]+\])(?::\d{1,5})?$/;

/** Validates the `insecure-registries` input; returns the hosts. */
export function parseInsecureRegistries(values: readonly string[]): string[] {
  for (const v of values)
    if (!REGISTRY_HOST.test(v))
      throw new InputError(
        'insecure-registries',
        `${JSON.stringify(v)} is not a registry host; expected host or host:port (e.g. registry.local:5000), without a scheme or path.`,
      );
  return [...values];
}

/** A digest Kiln can verify (sha256, sha384, sha512), or an InputError naming the input. */
export function requireVerifiableDigest(digest: string, inputName: string): void {
  if (!isVerifiableDigest(digest))
    throw new InputError(
      inputName,
      `${JSON.stringify(digest)} cannot be verified; expected a sha256 (or sha384/sha512) digest, e.g. sha256:<64 lowercase hex characters>.`,
    );
}

/** The registry client of one action run: credentials from the inputs, then docker config, then CI variables. */
export function createRegistryClient(
  inputs: RegistryInputValues,
  ctx: { platform: Platform; log: Logger; signal: AbortSignal; deadline?: number },
  registries: { source?: string; destinations: readonly string[] },
): RegistryClient {
  const setSecret = (v: string) => ctx.platform.setSecret(v);
  const explicit = explicitCredentials(inputs, {
    sourceRegistry: registries.source,
    destinationRegistries: registries.destinations,
    setSecret,
  });
  return new RegistryClient({
    logger: ctx.log,
    signal: ctx.signal,
    deadline: ctx.deadline,
    explicitCredentials: explicit,
    dockerConfigDir: inputs['docker-config'],
    env: ctx.platform.env,
    onSecret: setSecret,
    insecureRegistries: parseInsecureRegistries(inputs['insecure-registries']),
    concurrency: inputs.concurrency,
  });
}

/** Validates the `tags` input. */
export function parseTags(tags: readonly string[], inputName = 'tags'): string[] {
  for (const tag of tags)
    if (!isValidTag(tag))
      throw new InputError(
        inputName,
        `${JSON.stringify(tag)} is not a valid tag; expected letters, digits, '_', '.' and '-' (at most 128, not starting with '.' or '-').`,
      );
  return [...new Set(tags)];
}

/**
 * Destination references from the list input `inputName` and the `tags` input: a reference with a tag keeps
 * it and gets every tag of `tags`; one without a tag gets `tags`, else `defaultTag`, else only the digest.
 * Duplicates are dropped; every value is validated with a message naming the input.
 */
export function expandDestinations(
  values: readonly string[],
  tags: readonly string[],
  opts: { inputName: string; defaultTag?: string },
): ImageReference[] {
  const out = new Map<string, ImageReference>();
  for (const value of values) {
    const ref = parseImageReference(value, { inputName: opts.inputName });
    const refs: ImageReference[] = ref.tag !== undefined ? [ref] : [];
    for (const tag of tags) refs.push(withTag(ref, tag));
    if (refs.length === 0)
      refs.push(
        opts.defaultTag !== undefined && ref.digest === undefined ? withTag(ref, opts.defaultTag) : ref,
      );
    for (const r of refs) if (!out.has(formatReference(r))) out.set(formatReference(r), r);
  }
  return [...out.values()];
}

/** An error as the user should see it: a timeout says so; credentials, permissions and missing images are the user's to fix (one line). */
export function userFacingError(err: unknown, deadline: Deadline): unknown {
  if (deadline.expired)
    return new Error(
      `timed out after ${formatDuration(deadline.ms)} (input 'timeout'); nothing was written after that point`,
    );
  const userKinds = ['auth', 'denied', 'not-found'];
  const hint = (e: RegistryError) =>
    e.kind === 'auth'
      ? ' (credentials come from registry-auth, username/password, source-username/source-password, the docker config or the CI registry variables)'
      : '';
  if (err instanceof CopyRefusedError && err.reason === 'tag-exists')
    return new ConfigurationError(
      err.message.replace(/\(allow overwriting to replace it\)/g, '(set allow-overwrite to true to move it)'),
      { cause: err },
    );
  if (err instanceof RegistryError && userKinds.includes(err.kind))
    return new ConfigurationError(`${err.message}${hint(err)}`, { cause: err });
  if (
    err instanceof CopyError &&
    err.failures.every((f) => f.error instanceof RegistryError && userKinds.includes(f.error.kind))
  )
    return new ConfigurationError(err.message, { cause: err });
  return err;
}

/** What one registry action run needs from its context. */
export interface CopyRunContext {
  platform: Platform;
  log: Logger;
  signal: AbortSignal;
  summary: Summary;
  setOutput(name: string, value: string | number | boolean): void;
}

export interface CopyRun {
  action: 'push-registry' | 'promote';
  inputs: RegistryInputValues & { 'dry-run': boolean };
  /** The registries the run talks to (credentials are looked up for these). */
  registries: { source?: string; destinations: readonly string[] };
  /** Prepare (e.g. open a local image) and copy, with the run's client and its one deadline. */
  copy(client: RegistryClient, signal: AbortSignal): Promise<CopyResult>;
  /** Always called at the end (close what `copy` opened). */
  close?(): Promise<void>;
  /** Summary options. */
  referrers?: boolean;
}

/**
 * The copy-runner push-registry and promote share: one deadline over the whole run, the client, user-facing errors
 * (with a "failed" summary), then the outputs both declare (`digest`, `platforms`, `result`, `results`, `image`),
 * the summary and the verdict line. Returns the result for the action's own outputs.
 */
export async function runCopy(ctx: CopyRunContext, run: CopyRun): Promise<CopyResult> {
  const dryRun = run.inputs['dry-run'];
  // The timer is unref'd: an early throw leaves nothing running.
  const deadline = new Deadline(ctx.signal, run.inputs.timeout);
  let result: CopyResult;
  try {
    const client = createRegistryClient(
      run.inputs,
      { platform: ctx.platform, log: ctx.log, signal: deadline.signal, deadline: deadline.at },
      run.registries,
    );
    try {
      result = await run.copy(client, deadline.signal);
    } catch (e) {
      const err = userFacingError(e, deadline);
      fillCopyFailure(ctx.summary, run.action, errorMessage(err));
      throw err;
    }
  } finally {
    deadline.dispose();
    await run.close?.();
  }
  ctx.setOutput('digest', result.source.digest);
  ctx.setOutput('platforms', result.source.platforms.join(','));
  ctx.setOutput('result', overallResult(result, dryRun));
  ctx.setOutput('results', resultsJson(result));
  if (!dryRun) ctx.setOutput('image', pinnedImages(result).join('\n'));
  fillCopySummary(ctx.summary, run.action, result, { dryRun, referrers: run.referrers });
  ctx.log.info(verdictLine(run.action, result, dryRun));
  return result;
}
