/**
 * Kubernetes API failures, typed. The API server answers errors with a `Status` object
 * (`{kind:"Status", status:"Failure", message, reason, code, details:{causes:[{reason|type, message, field}]}}`);
 * {@link KubeError} keeps its message, reason and causes next to a `kind` callers branch on, and the message names
 * the operation and the server. Turning a kind into a user error (an exit code, a hint) is the action layer's job.
 */
import { isJsonObject } from '../util/json.js';

export type KubeErrorKind =
  /** 401: the credentials were refused (or none were sent). */
  | 'auth'
  /** 403: authenticated but not allowed; the message is the RBAC decision. */
  | 'forbidden'
  /** 404: the object, namespace or resource type is not there. */
  | 'not-found'
  /** 409: AlreadyExists, an optimistic-lock conflict, or server-side apply conflicts ({@link KubeError.conflicts}). */
  | 'conflict'
  /** 422 (and 400 with causes): the object is invalid ({@link KubeError.causes}). */
  | 'invalid'
  /** 410: a resourceVersion or continue token too old. */
  | 'gone'
  /** 400 and other 4xx. */
  | 'bad-request'
  /** 429/5xx after retries, or the connection failed (refused, reset, DNS). */
  | 'unavailable'
  /** The deadline passed (or the server said its own request timed out). */
  | 'timeout'
  /** The TLS handshake failed: the server's certificate is not trusted or does not match. */
  | 'tls';

export interface KubeStatusCause {
  reason?: string;
  message?: string;
  field?: string;
}

/** One field a server-side apply could not take because another manager owns it. */
export interface KubeApplyConflict {
  manager: string;
  field?: string;
  message: string;
}

export interface KubeErrorInit {
  kind: KubeErrorKind;
  /** What was being done: `apply Deployment prod/web`. */
  operation: string;
  server: string;
  status?: number;
  /** The Status `reason` (`NotFound`, `Forbidden`, `Conflict`, `Invalid`, `Expired`, …). */
  reason?: string;
  /** The Status `message`, as the server wrote it. */
  statusMessage?: string;
  causes?: KubeStatusCause[];
  cause?: unknown;
}

export class KubeError extends Error {
  override readonly name = 'KubeError';
  readonly kind: KubeErrorKind;
  readonly operation: string;
  readonly server: string;
  readonly status?: number;
  readonly reason?: string;
  readonly statusMessage?: string;
  readonly causes: KubeStatusCause[];

  constructor(message: string, init: KubeErrorInit) {
    super(message, init.cause !== undefined ? { cause: init.cause } : undefined);
    this.kind = init.kind;
    this.operation = init.operation;
    this.server = init.server;
    this.status = init.status;
    this.reason = init.reason;
    this.statusMessage = init.statusMessage;
    this.causes = init.causes ?? [];
  }

  /**
   * The managers whose fields a server-side apply conflicted with (causes of type `FieldManagerConflict`, whose
   * message reads `conflict with "kubectl-client-side-apply" using apps/v1`).
   */
  get conflicts(): KubeApplyConflict[] {
    return this.causes
      .filter((c) => c.reason === 'FieldManagerConflict')
      .map((c) => ({
        manager: /conflict with "((?:[^"\\]|\\.)*)"/.exec(c.message ?? '')?.[1] ?? '',
        ...(c.field !== undefined ? { field: c.field } : {}),
        message: c.message ?? '',
      }));
  }
}

const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);

/** The parts of a Status body, or of any JSON error body; nothing for other bodies. */
export function readStatus(body: unknown): { message?: string; reason?: string; causes: KubeStatusCause[] } {
  if (!isJsonObject(body)) return { causes: [] };
  const details = body['details'];
  const rawCauses = isJsonObject(details) && Array.isArray(details['causes']) ? details['causes'] : [];
  const causes = rawCauses.filter(isJsonObject).map((c) => {
    const reason = str(c['reason']) ?? str(c['type']);
    const message = str(c['message']);
    const field = str(c['field']);
    return {
      ...(reason !== undefined ? { reason } : {}),
      ...(message !== undefined ? { message } : {}),
      ...(field !== undefined ? { field } : {}),
    };
  });
  const message = str(body['message']);
  const reason = str(body['reason']);
  return {
    ...(message !== undefined ? { message } : {}),
    ...(reason !== undefined ? { reason } : {}),
    causes,
  };
}

/** The kind for an HTTP status (and the Status reason where it says more). */
export function kindForStatus(status: number, reason: string | undefined): KubeErrorKind {
  if (status === 401) return 'auth';
  if (status === 403) return 'forbidden';
  if (status === 404) return 'not-found';
  if (status === 409) return 'conflict';
  if (status === 410) return 'gone';
  if (status === 422) return 'invalid';
  if (status === 504 || reason === 'Timeout') return 'timeout';
  if (status === 429 || status >= 500) return 'unavailable';
  return 'bad-request';
}
