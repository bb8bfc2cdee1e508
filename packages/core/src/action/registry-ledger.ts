/**
 * promote's release-ledger glue (exported in the `registryAction` namespace): the verification gate
 * (`require-verified`: the digest's newest verdict in an environment must be `passed`, unless `force`), the source
 * "the newest digest that passed" (`source: registry/repository@last-verified`), and the `promote` entry recorded
 * in `environment` after the copy.
 *
 * Where `ledger: registry` (the default) lives: in the repository of the image each entry names, as for every
 * Kiln action. The verdicts are read in the SOURCE's repository (QA deployed and verified the image there); the
 * promote entry names, and is written in, the FIRST TARGET's repository — what the promoted environment then
 * deploys, where its deploys and rollbacks record and read by default, and where the promote's credentials may
 * push (source credentials are often read-only). Promoting new tags in the source repository, both are the same
 * repository; `ledger: oci://registry/repository` puts both in one given repository.
 *
 * The registry ledger is opened with the action's own registry client, so it has the credentials the copy has
 * (registry-auth, username/password, source-username/source-password, docker-config) and its insecure
 * registries (`openLedger` takes it as its `client`).
 */
import { ConfigurationError, errorMessage, InputError } from '../errors.js';
import { parseImageReference, type ImageReference } from '../image/reference.js';
import { LedgerError, type LedgerEntry, type Verdict } from '../ledger/entry.js';
import { lastVerified, verdictOf } from '../ledger/history.js';
import type { Logger, Platform } from '../platform/types.js';
import type { RegistryClient } from '../registry/client.js';
export { LEDGER_TIMEOUT_MS } from './ledger.js';
import {
  checkReleaseId,
  LEDGER_TIMEOUT_MS,
  openLedger,
  parseLedgerLocation,
  recordRelease,
  type LedgerLocation,
  type LedgerSettings,
} from './ledger.js';

/** The `source` keyword: `registry/repository@last-verified`. */
export const LAST_VERIFIED = 'last-verified';
/** Entries read from an environment for a verdict (verdicts may be older than the newest 100). */
const READ_LIMIT = 1000;

/**
 * `registry/repository@last-verified` as the repository it names (no tag, no digest); undefined for any other
 * source. A bare `last-verified`, or one with a tag or digest, is an InputError naming `source`.
 */
export function parseLastVerifiedSource(value: string): ImageReference | undefined {
  const v = value.trim();
  const suffix = `@${LAST_VERIFIED}`;
  if (v === LAST_VERIFIED || v === suffix)
    throw new InputError(
      'source',
      `'${v}' names no repository; expected registry/repository${suffix} (the repository whose verified digests to choose from), e.g. harbor.example.com/team/app${suffix}.`,
    );
  if (!v.endsWith(suffix)) return undefined;
  const ref = parseImageReference(v.slice(0, -suffix.length), { inputName: 'source' });
  if (ref.tag !== undefined || ref.digest !== undefined)
    throw new InputError(
      'source',
      `'${v}': name the repository only before ${suffix} (no tag or digest): the ledger chooses the digest.`,
    );
  return ref;
}

/** promote's ledger inputs. */
export interface PromoteLedgerInputs {
  environment?: string;
  ledger?: string;
  'ledger-token'?: string;
  'require-verified'?: string;
  force: boolean;
  'release-id'?: string;
}

export interface PromoteLedgerPlan {
  settings: LedgerSettings;
  /** `require-verified`: the environment whose verdict gates the promotion, and where its ledger is. */
  gate?: { environment: string; force: boolean; location: LedgerLocation };
  /** `environment`: where the promote entry is recorded, and its id when given. */
  record?: { environment: string; location: LedgerLocation; id?: string };
}

/**
 * The ledger inputs checked together, before any request (InputErrors naming the input): `@last-verified` needs
 * `require-verified` and takes no `expected-digest`; `force` needs `require-verified`; `release-id` needs
 * `environment`; `ledger` needs one of `environment` and `require-verified`, and `ledger: none` cannot be read.
 */
export function planPromoteLedger(
  inputs: PromoteLedgerInputs,
  env: NodeJS.ProcessEnv,
  o: { lastVerified: boolean; expectedDigest?: string },
): PromoteLedgerPlan {
  const settings: LedgerSettings = {
    ...(inputs.ledger !== undefined ? { ledger: inputs.ledger } : {}),
    ...(inputs['ledger-token'] !== undefined ? { 'ledger-token': inputs['ledger-token'] } : {}),
  };
  const gateEnvironment = inputs['require-verified'];
  if (o.lastVerified && !gateEnvironment)
    throw new InputError(
      'require-verified',
      `is needed with source …@${LAST_VERIFIED}: name the environment whose newest passed digest to promote (e.g. qa).`,
    );
  if (o.lastVerified && o.expectedDigest !== undefined)
    throw new InputError(
      'expected-digest',
      `is not taken with source …@${LAST_VERIFIED} (the ledger chooses the digest); to promote a tested digest, give it as source (registry/repository@sha256:…) with require-verified.`,
    );
  if (inputs.force && !gateEnvironment)
    throw new InputError(
      'force',
      'overrides require-verified, which is not given; remove force, or name the environment whose verdict to check.',
    );
  const id = checkReleaseId(inputs['release-id']);
  if (id !== undefined && !inputs.environment)
    throw new InputError(
      'release-id',
      'names the promote entry recorded in environment, which is not given; name the environment too.',
    );
  const value = inputs.ledger?.trim();
  if (!gateEnvironment && !inputs.environment) {
    if (value && value !== 'none')
      throw new InputError(
        'ledger',
        `'${value}' is given, but neither environment (record the promotion there) nor require-verified (check a verdict there) is.`,
      );
    return { settings };
  }
  const plan: PromoteLedgerPlan = { settings };
  if (gateEnvironment) {
    const location = parseLedgerLocation({ ...settings, environment: gateEnvironment }, env);
    if (location.kind === 'none')
      throw new InputError(
        'ledger',
        `none leaves nothing to read: require-verified checks ${gateEnvironment}'s verdicts in the ledger (registry, oci://registry/repository, file:<path>, github or gitlab).`,
      );
    plan.gate = { environment: gateEnvironment, force: inputs.force, location };
  }
  if (inputs.environment)
    plan.record = {
      environment: inputs.environment,
      location: parseLedgerLocation({ ...settings, environment: inputs.environment }, env),
      ...(id !== undefined ? { id } : {}),
    };
  return plan;
}

/** What reading or writing the ledger needs: the action's registry client, its platform, log and deadline. */
export interface LedgerIo {
  client: RegistryClient;
  platform: Platform;
  log: Logger;
  signal: AbortSignal;
  /** When every ledger request has ended (ms since the epoch). */
  deadline: number;
}

/** An environment's entries, read for the gate. */
export interface GateRead {
  environment: string;
  force: boolean;
  /** Where they were read, for messages (`oci://…`, a path, `github.com/o/r`). */
  where: string;
  entries: LedgerEntry[];
}

/**
 * Reads the gate environment's entries (the newest 1,000) from its ledger, the source's repository by default.
 * A ledger that cannot be read is one line: a ConfigurationError when access was denied (credentials are the
 * user's to fix), else an Error.
 */
export async function readGate(
  plan: PromoteLedgerPlan,
  sourceRepository: string,
  io: LedgerIo,
): Promise<GateRead> {
  const gate = plan.gate;
  if (!gate) throw new Error('readGate without require-verified');
  try {
    const backend = await openLedger(
      gate.location,
      { ...plan.settings, environment: gate.environment },
      { ...io, imageRepository: sourceRepository },
    );
    if (!backend) throw new Error('require-verified: no ledger to read');
    const entries = await backend.list(gate.environment, {
      signal: io.signal,
      deadline: io.deadline,
      limit: READ_LIMIT,
    });
    return { environment: gate.environment, force: gate.force, where: backend.location, entries };
  } catch (e) {
    if (e instanceof ConfigurationError || io.signal.aborted) throw e;
    const message = `require-verified: cannot read ${gate.environment}'s verdicts: ${errorMessage(e)}`;
    throw e instanceof LedgerError && e.kind === 'denied'
      ? new ConfigurationError(message, { cause: e })
      : new Error(message, { cause: e });
  }
}

/** The gate's answer on one digest. */
export interface Verification {
  environment: string;
  digest: string;
  /** The newest verdict on the digest there; undefined when never verified. */
  verdict?: Verdict;
  /** Not passed, and `force` let it through. */
  forced: boolean;
  where: string;
}

const VERDICT_TEXT: Record<Verdict | 'none', (environment: string) => string> = {
  none: (env) => `was never verified in ${env}`,
  passed: (env) => `passed verification in ${env}`,
  failed: (env) => `failed verification in ${env}`,
  inconclusive: (env) => `has an inconclusive verification in ${env}`,
};

/** What the ledger says of a verification, as a phrase: `was never verified in qa`, `failed verification in qa`. */
export function verdictPhrase(v: Pick<Verification, 'environment' | 'verdict'>): string {
  return VERDICT_TEXT[v.verdict ?? 'none'](v.environment);
}

/**
 * The gate on `digest` (`display`: the source, for the message): passes a `passed` verdict, lets anything else
 * through with `force` (forced), else refuses with a ConfigurationError naming the environment, the digest, the
 * verdict and `force`.
 */
export function checkVerified(read: GateRead, digest: string, display: string): Verification {
  const verdict = verdictOf(read.entries, digest);
  const v: Verification = {
    environment: read.environment,
    digest,
    ...(verdict ? { verdict } : {}),
    forced: verdict !== 'passed',
    where: read.where,
  };
  if (verdict !== 'passed' && !read.force)
    throw new ConfigurationError(
      `refusing to promote ${display}: ${digest} ${verdictPhrase(v)} (ledger ${read.where}); set force to true to promote it anyway.`,
    );
  return v;
}

/**
 * The newest digest of `repository` (`registry/repo`) that passed verification in the gate's environment, as its
 * entry there; a ConfigurationError when there is none.
 */
export function chooseLastVerified(read: GateRead, repository: string): LedgerEntry {
  const mine = read.entries.filter((e) => e.image === repository);
  const entry = lastVerified(mine);
  if (entry) return entry;
  const others = [...new Set(read.entries.map((e) => e.image))].slice(0, 3);
  throw new ConfigurationError(
    `no digest of ${repository} passed verification in ${read.environment} (ledger ${read.where}): ${
      mine.length
        ? `${mine.length} of its entries there, none with a passed verdict`
        : `the ledger has no entry of it there${others.length ? ` (its entries name ${others.join(', ')})` : ''}`
    }; nothing to promote.`,
  );
}

/** What the promote entry says. */
export interface PromoteRecord {
  /** The repository the entry names (`registry/repo`): the first target's. */
  image: string;
  digest: string;
  result: LedgerEntry['result'];
  /** Every target reference. */
  targets: string[];
  /** What the first target's tag held before (allow-overwrite). */
  previousDigest?: string;
  forced?: boolean;
  description?: string;
}

/** What recording did: `recorded` (the entry, and where), `skipped` (nothing asked, or cancelled), `failed`. */
export type RecordOutcome =
  { status: 'recorded'; entry: LedgerEntry; where: string } | { status: 'skipped' } | { status: 'failed' };

/**
 * Records the promote entry in `environment` (the registry ledger in the first target's repository by default),
 * sets `release-id` and says so. `failed` when the ledger could not be written (one error line: the promotion
 * happened, but the ledger does not show it). Nothing is recorded after a cancellation.
 */
export async function recordPromote(
  plan: PromoteLedgerPlan,
  io: Omit<LedgerIo, 'deadline'> & { setOutput(name: string, value: string): void },
  r: PromoteRecord,
): Promise<RecordOutcome> {
  const record = plan.record;
  if (!record || record.location.kind === 'none' || io.signal.aborted) return { status: 'skipped' };
  const call = { signal: io.signal, deadline: Date.now() + LEDGER_TIMEOUT_MS };
  try {
    const backend = await openLedger(
      record.location,
      { ...plan.settings, environment: record.environment },
      { ...io, deadline: call.deadline, imageRepository: r.image },
    );
    if (!backend) return { status: 'skipped' };
    const entry = await recordRelease(
      { backend, platform: io.platform, log: io.log, call },
      {
        ...(record.id !== undefined ? { id: record.id } : {}),
        event: 'promote',
        environment: record.environment,
        image: r.image,
        digest: r.digest,
        ...(r.previousDigest && r.previousDigest !== r.digest ? { previousDigest: r.previousDigest } : {}),
        target: { platform: 'registry', apps: r.targets },
        result: r.result,
        ...(r.forced ? { forced: true } : {}),
        ...(r.description ? { description: r.description.slice(0, 140) } : {}),
      },
    );
    io.setOutput('release-id', entry.id);
    return { status: 'recorded', entry, where: backend.location };
  } catch (e) {
    if (e instanceof InputError) throw e;
    io.log.error(
      `ledger: the promote ran (${r.result}) but was not recorded in ${record.environment}: ${errorMessage(e)}`,
    );
    return { status: 'failed' };
  }
}
