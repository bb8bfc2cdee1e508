/**
 * Registry failures, with the registry, repository and operation in every message.
 *
 * The distribution spec puts machine-readable error codes in the body of every 4xx/5xx:
 * `{"errors":[{"code":"MANIFEST_UNKNOWN","message":"…","detail":…}]}`. {@link RegistryError} keeps them
 * (`codes`) next to the HTTP status, so callers branch on `MANIFEST_UNKNOWN`, `BLOB_UPLOAD_INVALID`,
 * `DENIED`… rather than on text. Messages never contain credentials or tokens: only the user name.
 */

/** One entry of the `errors` array of a registry error body. */
export interface RegistryErrorDetail {
  code: string;
  message?: string;
  detail?: unknown;
}

/** What kind of failure it is, for callers and for the one-line message. */
export type RegistryErrorKind =
  /** Credentials missing or refused (401 after authenticating, or the token server said no). */
  | 'auth'
  /** Authenticated, but not allowed (403, or a token without the needed scope). */
  | 'denied'
  /** The manifest, blob or repository does not exist. */
  | 'not-found'
  /** Content did not match its digest (or size). */
  | 'digest-mismatch'
  /** The registry answered something the protocol does not allow (missing Location, bad range…). */
  | 'protocol'
  /** Any other HTTP error status. */
  | 'http'
  /** The connection failed after retries (reset, refused, timeout, TLS). */
  | 'transport';

export interface RegistryErrorInit {
  kind: RegistryErrorKind;
  registry: string;
  repository?: string;
  /** What was being done: 'GET manifest app:1', 'upload blob sha256:…'. */
  operation: string;
  status?: number;
  codes?: RegistryErrorDetail[];
  /** Whether repeating the operation (e.g. restarting an upload) may succeed. */
  retryable?: boolean;
  /** Retry-After of the response, in ms, when it had one. */
  retryAfterMs?: number;
  cause?: unknown;
}

/** A failed registry operation. */
export class RegistryError extends Error {
  override readonly name = 'RegistryError';
  readonly kind: RegistryErrorKind;
  readonly registry: string;
  readonly repository?: string;
  readonly operation: string;
  readonly status?: number;
  readonly codes: RegistryErrorDetail[];
  readonly retryable: boolean;
  readonly retryAfterMs?: number;

  constructor(message: string, init: RegistryErrorInit) {
    super(message, init.cause !== undefined ? { cause: init.cause } : undefined);
    this.kind = init.kind;
    this.registry = init.registry;
    this.repository = init.repository;
    this.operation = init.operation;
    this.status = init.status;
    this.codes = init.codes ?? [];
    this.retryable = init.retryable ?? false;
    this.retryAfterMs = init.retryAfterMs;
  }

  /** True when the body carried this error code (e.g. `MANIFEST_UNKNOWN`). */
  hasCode(code: string): boolean {
    return this.codes.some((c) => c.code === code);
  }
}

/** Content that does not hash to the digest it was asked for (or has the wrong size). */
export class DigestMismatchError extends Error {
  override readonly name = 'DigestMismatchError';
  constructor(
    message: string,
    readonly expected: string,
    readonly actual: string | undefined,
  ) {
    super(message);
  }
}

/** Reads `{errors:[{code,message,detail}]}` from a body; returns [] for anything else. */
export function parseErrorBody(text: string): RegistryErrorDetail[] {
  if (!text) return [];
  try {
    const body = JSON.parse(text) as { errors?: unknown };
    if (!Array.isArray(body.errors)) return [];
    return body.errors
      .filter((e): e is Record<string, unknown> => typeof e === 'object' && e !== null)
      .filter((e) => typeof e.code === 'string')
      .map((e) => ({
        code: e.code as string,
        ...(typeof e.message === 'string' ? { message: e.message } : {}),
        ...(e.detail !== undefined ? { detail: e.detail } : {}),
      }));
  } catch {
    return [];
  }
}

/** `CODE: message; CODE2: message2`, or the start of a non-JSON body, for error messages. */
export function describeErrorBody(codes: RegistryErrorDetail[], text: string): string {
  if (codes.length > 0) {
    return codes.map((c) => (c.message ? `${c.code}: ${c.message}` : c.code)).join('; ');
  }
  const plain = text.replace(/\s+/g, ' ').trim();
  return plain.length > 200 ? `${plain.slice(0, 200)}…` : plain;
}

/** Finds the first error of `type` in an error's `cause` chain (undici and the http layer wrap errors). */
export function findCause<T extends Error>(err: unknown, type: new (...args: never[]) => T): T | undefined {
  const seen = new Set<unknown>();
  let current: unknown = err;
  while (current !== undefined && current !== null && !seen.has(current)) {
    if (current instanceof type) return current;
    seen.add(current);
    current = (current as { cause?: unknown }).cause;
  }
  return undefined;
}
