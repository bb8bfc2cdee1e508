/**
 * A small token server for the distribution registry token-auth protocol, for tests.
 *
 * `GET /token?service=…&scope=repository:x:pull,push&scope=…` (optionally with Basic credentials) answers
 * `{ token, access_token, expires_in, issued_at }`, where the token is an RS256 JWT carrying
 * `iss/sub/aud/exp/nbf/iat/jti` and the `access` claim the registry checks. Grants are the intersection of what
 * was asked and what the ACL allows; a partial or empty grant is not an error (the registry answers 401/403 later,
 * as real token servers behave). Bad credentials get a 401. `offline_token=true` adds a `refresh_token`, and
 * `POST /token` accepts the OAuth2 `password` and `refresh_token` grants, so clients that use either work too.
 *
 * The signing key and a self-signed certificate are made with the `openssl` CLI in a temp dir at start. The
 * registry trusts the certificate through `auth.token.rootcertbundle`. The JWT header names the key by `kid`
 * (the libtrust fingerprint of the public key, which distribution 2.x matches against the bundle's keys) or by
 * `x5c` (the certificate itself, verified against the bundle); distribution 2.8 accepts both.
 *
 * Every request is recorded, so tests can assert what scopes a client asked for and in which order.
 */
import {
  createHash,
  createPrivateKey,
  randomBytes,
  sign,
  X509Certificate,
  type KeyObject,
} from 'node:crypto';
import { mkdtemp, readFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { exec, removeDir } from './util.js';

/**
 * Access rules: which actions `user` (undefined = anonymous) may have on resource `name` of `type`
 * (`repository`, `registry`, …). Returning `'*'` in the list grants every requested action.
 */
export type TokenAcl = (user: string | undefined, name: string, actions: string[], type: string) => string[];

/** One resource entry of a scope request or of the JWT `access` claim. */
export interface ResourceAccess {
  type: string;
  /** Resource class, e.g. `plugin` in `repository(plugin):name:pull`; absent when not given. */
  class?: string;
  name: string;
  actions: string[];
}

/** How the JWT header identifies the signing key. */
export type TokenKeyHeader = 'kid' | 'x5c';

/** What the token server saw and answered, one entry per request. */
export interface TokenRequestRecord {
  method: string;
  /** Request path and query as received. */
  url: string;
  service?: string;
  /** The `account` parameter (docker and skopeo send the user name). */
  account?: string;
  /** Scope strings in the order the client sent them (space-separated lists are split). */
  scopes: string[];
  /** The user named by the credentials (Basic, or the POST form), also when they were wrong. */
  user?: string;
  /** True when credentials were given and correct. */
  authenticated: boolean;
  /** `grant_type` of a POST, else undefined. */
  grantType?: string;
  offlineToken: boolean;
  clientId?: string;
  status: number;
  /** What went into the token's `access` claim (empty for refused requests). */
  granted: ResourceAccess[];
  /** Milliseconds since the epoch. */
  at: number;
}

/** Options of {@link startTokenServer}. */
export interface TokenServerOptions {
  /** user → password. Basic credentials not matching these are refused with 401. */
  users?: Record<string, string>;
  /** Access rules; default {@link defaultAcl}. */
  acl?: TokenAcl;
  /** `iss` claim; the registry's `auth.token.issuer` must equal it. Default `kiln-test-token-issuer`. */
  issuer?: string;
  /**
   * Service name; the registry's `auth.token.service`. Used as `aud` when the client does not name a service
   * (a client naming another service gets a token the registry rejects, as in real life).
   */
  service?: string;
  /** `expires_in` of issued tokens in seconds. Default 300. */
  expiresIn?: number;
  /** How the JWT header names the key; default `kid`. Can be changed later through `keyHeader`. */
  keyHeader?: TokenKeyHeader;
}

/** A running token server. */
export interface TokenServer {
  /** `http://127.0.0.1:PORT` */
  url: string;
  /** The realm to configure in the registry: `${url}/token`. */
  realm: string;
  issuer: string;
  service: string;
  /** PEM file of the self-signed signing certificate (the registry's `rootcertbundle`). */
  certPath: string;
  /** libtrust fingerprint of the signing key, as put in the `kid` header. */
  keyId: string;
  /** How the JWT header names the key; may be switched between requests. */
  keyHeader: TokenKeyHeader;
  /** Every request so far, oldest first (a copy). */
  requests(): TokenRequestRecord[];
  /** Forgets the recorded requests. */
  clearRequests(): void;
  /** Mints a token directly (no HTTP), e.g. to test a client given a pre-made token. */
  issue(
    user: string | undefined,
    access: ResourceAccess[],
    opts?: { expiresIn?: number; audience?: string },
  ): string;
  /** Stops the server and deletes the key material. */
  close(): Promise<void>;
}

/** Default ACL: an authenticated user gets every action asked for; anonymous gets `pull` only. */
export const defaultAcl: TokenAcl = (user, _name, actions) =>
  user === undefined ? actions.filter((a) => a === 'pull') : actions;

/** Base64url without padding, as JOSE wants. */
function b64url(data: Buffer | string): string {
  return Buffer.from(data).toString('base64url');
}

/** RFC 4648 base32 without padding. */
function base32(data: Buffer): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let bits = 0;
  let value = 0;
  let out = '';
  for (const byte of data) {
    value = (value << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      out += alphabet[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
    value &= (1 << bits) - 1;
  }
  if (bits > 0) out += alphabet[(value << (5 - bits)) & 31];
  return out;
}

/**
 * The libtrust key ID of a public key: SHA-256 of its DER SubjectPublicKeyInfo, first 240 bits, base32, in
 * twelve colon-separated groups of four (`ABCD:EFGH:…`). distribution 2.x indexes its trusted keys by this.
 */
export function libtrustKeyId(publicKey: KeyObject): string {
  const der = publicKey.export({ type: 'spki', format: 'der' });
  const encoded = base32(createHash('sha256').update(der).digest().subarray(0, 30));
  return encoded.match(/.{1,4}/g)?.join(':') ?? '';
}

/**
 * Parses one scope string, `type[(class)]:name:action,action`. The name may itself contain colons (it does
 * not for repositories, but the grammar allows it), so the actions are what follows the last colon.
 */
export function parseScope(scope: string): ResourceAccess | undefined {
  const first = scope.indexOf(':');
  const last = scope.lastIndexOf(':');
  if (first <= 0 || last === first) return undefined;
  const typePart = scope.slice(0, first);
  const name = scope.slice(first + 1, last);
  const actions = scope
    .slice(last + 1)
    .split(',')
    .filter(Boolean);
  const m = /^([a-z0-9]+)(?:\(([a-z0-9]+)\))?$/.exec(typePart);
  if (!m || !name) return undefined;
  return m[2] ? { type: m[1]!, class: m[2], name, actions } : { type: m[1]!, name, actions };
}

/** Reads a small request body (form posts only). */
async function readBody(req: IncomingMessage, limit = 64 * 1024): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) throw new Error('request body too large');
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** Decodes `Authorization: Basic …` into user and password. */
function basicCredentials(header: string | undefined): { user: string; password: string } | undefined {
  const m = /^Basic\s+(\S+)\s*$/i.exec(header ?? '');
  if (!m) return undefined;
  const decoded = Buffer.from(m[1]!, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return { user: decoded, password: '' };
  return { user: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}

/** Generates the signing key and a self-signed certificate with openssl, then starts the HTTP server. */
export async function startTokenServer(opts: TokenServerOptions = {}): Promise<TokenServer> {
  const users = opts.users ?? {};
  const acl = opts.acl ?? defaultAcl;
  const issuer = opts.issuer ?? 'kiln-test-token-issuer';
  const service = opts.service ?? 'kiln-test-registry';
  const expiresIn = opts.expiresIn ?? 300;

  const dir = await mkdtemp(join(tmpdir(), 'kiln-token-'));
  let server: Server | undefined;
  try {
    const keyPath = join(dir, 'signing-key.pem');
    const certPath = join(dir, 'signing-cert.pem');
    await exec('openssl', [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-sha256',
      '-days',
      '2',
      '-subj',
      '/CN=kiln-test-token-signer',
      '-keyout',
      keyPath,
      '-out',
      certPath,
    ]);
    const privateKey = createPrivateKey(await readFile(keyPath));
    const cert = new X509Certificate(await readFile(certPath));
    const keyId = libtrustKeyId(cert.publicKey);
    const certDerB64 = cert.raw.toString('base64');

    const records: TokenRequestRecord[] = [];
    /** refresh token → user */
    const refreshTokens = new Map<string, string>();

    const state = { keyHeader: opts.keyHeader ?? ('kid' as TokenKeyHeader) };

    const issue: TokenServer['issue'] = (user, access, o = {}) => {
      const now = Math.floor(Date.now() / 1000);
      const header: Record<string, unknown> = { typ: 'JWT', alg: 'RS256' };
      if (state.keyHeader === 'x5c') header.x5c = [certDerB64];
      else header.kid = keyId;
      const claims = {
        iss: issuer,
        sub: user ?? '',
        aud: o.audience ?? service,
        exp: now + (o.expiresIn ?? expiresIn),
        nbf: now,
        iat: now,
        jti: randomBytes(16).toString('hex'),
        access,
      };
      const signingInput = `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(claims))}`;
      const signature = sign('sha256', Buffer.from(signingInput), privateKey);
      return `${signingInput}.${b64url(signature)}`;
    };

    const grant = (user: string | undefined, scopes: string[]): ResourceAccess[] => {
      const out: ResourceAccess[] = [];
      for (const scope of scopes) {
        const asked = parseScope(scope);
        if (!asked) continue;
        const allowed = acl(user, asked.name, asked.actions, asked.type);
        const actions = allowed.includes('*')
          ? asked.actions
          : asked.actions.filter((a) => allowed.includes(a));
        out.push({ ...asked, actions });
      }
      return out;
    };

    const send = (
      res: ServerResponse,
      status: number,
      body: unknown,
      headers: Record<string, string> = {},
    ) => {
      const text = JSON.stringify(body);
      res.writeHead(status, {
        'Content-Type': 'application/json',
        'Content-Length': Buffer.byteLength(text),
        ...headers,
      });
      res.end(text);
    };

    const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
      const url = new URL(req.url ?? '/', 'http://token.invalid');
      const record: TokenRequestRecord = {
        method: req.method ?? 'GET',
        url: req.url ?? '/',
        scopes: [],
        authenticated: false,
        offlineToken: false,
        status: 0,
        granted: [],
        at: Date.now(),
      };
      records.push(record);
      const reply = (status: number, body: unknown, headers?: Record<string, string>) => {
        record.status = status;
        send(res, status, body, headers);
      };
      const unauthorized = (message: string) =>
        reply(
          401,
          { errors: [{ code: 'UNAUTHORIZED', message }] },
          { 'WWW-Authenticate': 'Basic realm="kiln-test-token-server"' },
        );

      if (url.pathname !== '/token') {
        reply(404, { errors: [{ code: 'NOT_FOUND', message: `no route ${url.pathname}` }] });
        return;
      }

      let params: URLSearchParams;
      if (req.method === 'GET') {
        params = url.searchParams;
      } else if (req.method === 'POST') {
        params = new URLSearchParams(await readBody(req));
        record.grantType = params.get('grant_type') ?? undefined;
      } else {
        reply(
          405,
          { errors: [{ code: 'UNSUPPORTED', message: `method ${req.method}` }] },
          { Allow: 'GET, POST' },
        );
        return;
      }

      record.service = params.get('service') ?? undefined;
      record.account = params.get('account') ?? undefined;
      record.scopes = params.getAll('scope').flatMap((s) => s.split(' ').filter(Boolean));
      record.offlineToken = params.get('offline_token') === 'true';
      record.clientId = params.get('client_id') ?? undefined;

      // Who is asking: Basic credentials (GET, or POST without a grant), the password grant, or a refresh token.
      let user: string | undefined;
      if (req.method === 'POST' && record.grantType === 'refresh_token') {
        const owner = refreshTokens.get(params.get('refresh_token') ?? '');
        if (owner === undefined) return unauthorized('unknown refresh token');
        user = owner;
        record.user = owner;
        record.authenticated = true;
      } else {
        const creds =
          req.method === 'POST' && record.grantType === 'password'
            ? { user: params.get('username') ?? '', password: params.get('password') ?? '' }
            : basicCredentials(req.headers.authorization);
        if (req.method === 'POST' && record.grantType !== 'password' && record.grantType !== undefined) {
          reply(400, { error: 'unsupported_grant_type' });
          return;
        }
        if (creds) {
          record.user = creds.user;
          if (!Object.hasOwn(users, creds.user) || users[creds.user] !== creds.password) {
            return unauthorized('invalid username or password');
          }
          user = creds.user;
          record.authenticated = true;
        } else if (req.method === 'POST') {
          return unauthorized('credentials required');
        }
      }

      record.granted = grant(user, record.scopes);
      const token = issue(user, record.granted, { audience: record.service ?? service });
      const body: Record<string, unknown> = {
        token,
        access_token: token,
        expires_in: expiresIn,
        issued_at: new Date().toISOString(),
      };
      const wantsRefresh = record.offlineToken || (req.method === 'POST' && record.grantType === 'password');
      if (wantsRefresh && user !== undefined) {
        const refresh = randomBytes(24).toString('base64url');
        refreshTokens.set(refresh, user);
        body.refresh_token = refresh;
      }
      reply(200, body);
    };

    server = createServer((req, res) => {
      handle(req, res).catch((err: unknown) => {
        if (!res.headersSent) send(res, 500, { errors: [{ code: 'UNKNOWN', message: String(err) }] });
        else res.destroy();
      });
    });
    const listening = server;
    await new Promise<void>((resolve, reject) => {
      listening.once('error', reject);
      listening.listen(0, '127.0.0.1', () => resolve());
    });
    const address = listening.address();
    if (!address || typeof address !== 'object') throw new Error('token server has no address');
    const url = `http://127.0.0.1:${address.port}`;

    let closed = false;
    const tokenServer: TokenServer = {
      url,
      realm: `${url}/token`,
      issuer,
      service,
      certPath,
      keyId,
      get keyHeader() {
        return state.keyHeader;
      },
      set keyHeader(value: TokenKeyHeader) {
        state.keyHeader = value;
      },
      requests: () => records.map((r) => ({ ...r, scopes: [...r.scopes], granted: [...r.granted] })),
      clearRequests: () => {
        records.length = 0;
      },
      issue,
      close: async () => {
        if (closed) return;
        closed = true;
        await new Promise<void>((resolve) => {
          listening.close(() => resolve());
          listening.closeAllConnections();
        });
        await removeDir(dir);
      },
    };
    return tokenServer;
  } catch (err) {
    server?.close();
    await removeDir(dir);
    throw err;
  }
}
