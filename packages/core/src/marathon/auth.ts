/**
 * How Kiln authenticates to Marathon:
 * - HTTP basic (Marathon's `--http_credentials`);
 * - a DC/OS token, sent as `Authorization: token=<token>`;
 * - a DC/OS service account: Kiln signs a short-lived RS256 JWT `{uid, exp}` with the account's private key,
 *   POSTs `{uid, token}` to the login endpoint (`/acs/api/v1/auth/login`), and uses the token it gets back; on a
 *   401 it logs in again once (tokens expire).
 * Every credential and every token obtained is handed to `registerSecret` before it can appear anywhere.
 */
import type { KeyObject } from 'node:crypto';
import { ConfigurationError } from '../errors.js';

export type MarathonAuth =
  | { kind: 'none' }
  | { kind: 'basic'; user: string; password: string }
  | { kind: 'token'; token: string }
  | { kind: 'service-account'; uid: string; privateKey: KeyObject; loginUrl?: string };

function base64url(data: Buffer | string): string {
  return Buffer.from(data).toString('base64url');
}

/** Read a PEM private key (PKCS#1 or PKCS#8). Throws a ConfigurationError that never quotes the key. */
export function readPrivateKey(pem: string, inputName = 'service-account-key'): KeyObject {
  let key: KeyObject;
  try {
    // node:crypto is loaded here, for a service account, not at start.
    key = process
      .getBuiltinModule('node:crypto')
      .createPrivateKey({ key: pem.replace(/\\n/g, '\n'), format: 'pem' });
  } catch {
    throw new ConfigurationError(
      `Input '${inputName}': (value hidden: secret input) is not a readable PEM private key; expected an RSA private key ('-----BEGIN PRIVATE KEY-----' or '-----BEGIN RSA PRIVATE KEY-----').`,
    );
  }
  if (key.asymmetricKeyType !== 'rsa')
    throw new ConfigurationError(
      `Input '${inputName}': (value hidden: secret input) is a ${key.asymmetricKeyType ?? 'non-RSA'} key; DC/OS service accounts sign with RS256, expected an RSA private key.`,
    );
  return key;
}

/** The login JWT of a DC/OS service account: RS256 over `{"uid", "exp"}`. */
export function signServiceAccountToken(
  uid: string,
  key: KeyObject,
  nowSeconds: number,
  ttlSeconds = 300,
): string {
  const header = base64url(JSON.stringify({ alg: 'RS256', typ: 'JWT' }));
  const payload = base64url(JSON.stringify({ uid, exp: Math.floor(nowSeconds) + ttlSeconds }));
  const input = `${header}.${payload}`;
  const signature = process.getBuiltinModule('node:crypto').sign('sha256', Buffer.from(input), key);
  return `${input}.${base64url(signature)}`;
}

/** The DC/OS login endpoint for a Marathon URL: `<scheme>://<host>/acs/api/v1/auth/login`. */
export function defaultLoginUrl(marathonUrl: string): string {
  return new URL('/acs/api/v1/auth/login', marathonUrl).toString();
}
