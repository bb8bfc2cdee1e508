export const id = 695;
export const ids = [695];
export const modules = {

/***/ 3996:
/***/ ((__unused_webpack_module, __webpack_exports__, __webpack_require__) => {


// EXPORTS
__webpack_require__.d(__webpack_exports__, {
  vI: () => (/* binding */ DEFAULT_RETRY),
  j$: () => (/* binding */ HttpError),
  EY: () => (/* binding */ backoffDelay),
  aj: () => (/* binding */ httpRequest),
  mu: () => (/* binding */ parseRetryAfter),
  BO: () => (/* binding */ redactUrl)
});

// UNUSED EXPORTS: closeHttpPools, defaultRetryStatus

// EXTERNAL MODULE: ./node_modules/undici/index.js
var undici = __webpack_require__(6752);
// EXTERNAL MODULE: ./packages/core/src/errors.ts
var errors = __webpack_require__(7638);
// EXTERNAL MODULE: ./packages/core/src/util/sleep.ts
var sleep = __webpack_require__(9485);
// EXTERNAL MODULE: ./packages/core/src/version.ts
var version = __webpack_require__(8109);
// EXTERNAL MODULE: external "node:net"
var external_node_net_ = __webpack_require__(7030);
;// CONCATENATED MODULE: ./packages/core/src/http/proxy.ts
/**
 * Proxy selection the way curl and most CI tools read it: `HTTPS_PROXY`/`https_proxy` for https URLs,
 * `HTTP_PROXY`/`http_proxy` for http, and `NO_PROXY`/`no_proxy` as a comma list of hosts, domain suffixes
 * (`.example.com` or `example.com`), `host:port`, IP addresses, CIDR blocks or `*`.
 */

function proxyFor(url, env = process.env) {
    const proxy = url.protocol === 'https:' ? (env.HTTPS_PROXY ?? env.https_proxy) : (env.HTTP_PROXY ?? env.http_proxy);
    if (!proxy)
        return undefined;
    return bypassProxy(url, env.NO_PROXY ?? env.no_proxy ?? '') ? undefined : proxy;
}
function ipv4ToInt(ip) {
    return ip.split('.').reduce((acc, o) => (acc << 8) + Number(o), 0) >>> 0;
}
function bypassProxy(url, noProxy) {
    const host = url.hostname.replace(/^\[|\]$/g, '').toLowerCase();
    const port = url.port || (url.protocol === 'https:' ? '443' : '80');
    for (const raw of noProxy.split(',')) {
        const entry = raw.trim().toLowerCase();
        if (!entry)
            continue;
        if (entry === '*')
            return true;
        const cidr = /^(\d+\.\d+\.\d+\.\d+)\/(\d+)$/.exec(entry);
        if (cidr && (0,external_node_net_.isIP)(host) === 4) {
            const bits = Number(cidr[2]);
            const mask = bits === 0 ? 0 : (~0 << (32 - bits)) >>> 0;
            if ((ipv4ToInt(host) & mask) === (ipv4ToInt(cidr[1]) & mask))
                return true;
            continue;
        }
        if ((0,external_node_net_.isIP)(entry)) {
            if (host === entry)
                return true;
            continue;
        }
        const m = /^\[([^\]]+)\](?::(\d+))?$/.exec(entry) ?? /^([^:]+)(?::(\d+))?$/.exec(entry);
        if (!m)
            continue;
        const eHost = m[1].replace(/^\*?\./, '');
        if (m[2] && m[2] !== port)
            continue;
        if (host === eHost || host.endsWith(`.${eHost}`))
            return true;
    }
    return false;
}

;// CONCATENATED MODULE: ./packages/core/src/http/http.ts
/**
 * Kiln's HTTP layer (undici): a per-attempt timeout, retries with exponential backoff and full jitter on
 * network errors, 429 and 5xx, honouring `Retry-After` (seconds or HTTP date), proxies from the environment,
 * TLS verification off only when asked, and the `kiln/<version>` user agent. Everything that talks to a
 * server (registries, Marathon, Kubernetes, smoke tests) goes through {@link httpRequest}.
 */





const DEFAULT_RETRY = {
    retries: 3,
    baseDelayMs: 500,
    maxDelayMs: 10_000,
    maxRetryAfterMs: 60_000,
};
/** A transport-level failure after retries: connection refused, reset, timeout, TLS, DNS. */
class HttpError extends Error {
    url;
    code;
    attempts;
    name = 'HttpError';
    constructor(message, url, code, attempts, options) {
        super(message, options);
        this.url = url;
        this.code = code;
        this.attempts = attempts;
    }
}
function defaultRetryStatus(status) {
    return status === 408 || status === 429 || (status >= 500 && status !== 501 && status !== 505);
}
const IDEMPOTENT = new Set(['GET', 'HEAD', 'PUT', 'DELETE', 'OPTIONS', 'TRACE']);
/** Seconds or an HTTP date → milliseconds from now; undefined when absent or unreadable. */
function parseRetryAfter(value, now = Date.now()) {
    if (!value)
        return undefined;
    const v = value.trim();
    if (/^\d+(\.\d+)?$/.test(v))
        return Math.round(Number(v) * 1000);
    const date = Date.parse(v);
    return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}
/** Full jitter: a uniform random wait between 0 and the exponential ceiling. */
function backoffDelay(attempt, policy, random = Math.random) {
    const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** attempt);
    return Math.round(random() * ceiling);
}
const dispatchers = new Map();
function dispatcherFor(url, insecure, env) {
    const proxy = proxyFor(url, env);
    const key = `${proxy ?? ''}|${insecure}`;
    let d = dispatchers.get(key);
    if (!d) {
        const tls = { rejectUnauthorized: !insecure };
        d = proxy ? new undici/* ProxyAgent */.kT({ uri: proxy, requestTls: tls, proxyTls: tls }) : new undici/* Agent */.g6({ connect: tls });
        dispatchers.set(key, d);
    }
    return d;
}
/** Close pooled connections (tests and short-lived processes). */
async function closeHttpPools() {
    const all = [...dispatchers.values()];
    dispatchers.clear();
    await Promise.all(all.map((d) => d.close().catch(() => undefined)));
}
function headerValue(headers, name) {
    const v = headers[name.toLowerCase()];
    return Array.isArray(v) ? v.join(', ') : v;
}
/** Network error codes worth another attempt. */
const RETRYABLE_CODES = new Set([
    'ECONNRESET',
    'ECONNREFUSED',
    'EPIPE',
    'ETIMEDOUT',
    'EAI_AGAIN',
    'ENETUNREACH',
    'EHOSTUNREACH',
    'UND_ERR_SOCKET',
    'UND_ERR_CONNECT_TIMEOUT',
    'UND_ERR_HEADERS_TIMEOUT',
    'UND_ERR_BODY_TIMEOUT',
    'UND_ERR_CLOSED',
]);
function errorCode(err) {
    const e = err;
    return e?.code ?? e?.cause?.code;
}
/** Did the request reach the server? Connect-phase failures are safe to retry for any method. */
function neverSent(code) {
    return (code === 'ECONNREFUSED' ||
        code === 'UND_ERR_CONNECT_TIMEOUT' ||
        code === 'EAI_AGAIN' ||
        code === 'ENOTFOUND');
}
function describeNetworkError(err, url, timeoutMs) {
    const code = errorCode(err);
    const host = new URL(url).host;
    switch (code) {
        case 'ECONNREFUSED':
            return `connection refused by ${host}`;
        case 'ENOTFOUND':
        case 'EAI_AGAIN':
            return `cannot resolve host ${new URL(url).hostname}`;
        case 'ECONNRESET':
        case 'UND_ERR_SOCKET':
        case 'EPIPE':
            return `connection to ${host} was reset`;
        case 'UND_ERR_CONNECT_TIMEOUT':
            return `timed out connecting to ${host}`;
        case 'UND_ERR_HEADERS_TIMEOUT':
        case 'UND_ERR_BODY_TIMEOUT':
        case 'ETIMEDOUT':
            return `no answer from ${host} within ${timeoutMs}ms`;
        default: {
            const msg = err instanceof Error ? err.message : String(err);
            return (code && code.startsWith('ERR_TLS')) || /certificate|TLS|SSL/i.test(msg)
                ? `TLS error talking to ${host}: ${msg}`
                : `${msg}${code ? ` (${code})` : ''} talking to ${host}`;
        }
    }
}
/**
 * One HTTP exchange with retries. Returns the final response (whatever its status, once retries are spent);
 * throws {@link HttpError} only for transport failures, and {@link CancelledError} when `signal` aborts.
 */
async function httpRequest(url, opts = {}) {
    const target = new URL(url);
    const method = (opts.method ?? 'GET').toUpperCase();
    const policy = { ...DEFAULT_RETRY, ...opts.retry };
    const timeoutMs = opts.timeoutMs ?? 30_000;
    const retryStatus = opts.retryStatus ?? defaultRetryStatus;
    const safe = IDEMPOTENT.has(method) || opts.retryUnsafe === true;
    const env = opts.env ?? process.env;
    const replayable = typeof opts.body === 'function' || !isStream(opts.body);
    const headers = { 'user-agent': version/* USER_AGENT */._ };
    for (const [k, v] of Object.entries(opts.headers ?? {}))
        if (v !== undefined)
            headers[k.toLowerCase()] = v;
    for (let attempt = 0;; attempt++) {
        if (opts.signal?.aborted)
            throw (0,sleep/* abortReason */.J)(opts.signal);
        const body = typeof opts.body === 'function' ? opts.body() : opts.body;
        const started = performance.now();
        let retryReason;
        let waitMs;
        try {
            const res = await (0,undici/* request */.Em)(target, {
                method: method,
                headers,
                body: body,
                dispatcher: dispatcherFor(target, opts.insecure ?? false, env),
                signal: opts.signal,
                headersTimeout: timeoutMs,
                bodyTimeout: timeoutMs,
                maxRedirections: opts.maxRedirects ?? 0,
            });
            const durationMs = performance.now() - started;
            const response = wrap(res, target.toString(), attempt + 1, durationMs);
            const canRetry = attempt < policy.retries && replayable && retryStatus(res.statusCode);
            if (!canRetry || !(safe || res.statusCode === 429 || res.statusCode === 503))
                return response;
            const retryAfter = parseRetryAfter(response.header('retry-after'));
            if (retryAfter !== undefined && retryAfter > policy.maxRetryAfterMs)
                return response;
            waitMs = retryAfter ?? backoffDelay(attempt, policy);
            retryReason = `HTTP ${res.statusCode}${retryAfter !== undefined ? ` (Retry-After ${Math.round(retryAfter / 1000)}s)` : ''}`;
            if (opts.deadline !== undefined && Date.now() + waitMs >= opts.deadline)
                return response;
            await response.dump();
        }
        catch (err) {
            if (opts.signal?.aborted)
                throw (0,sleep/* abortReason */.J)(opts.signal);
            if (err instanceof errors/* CancelledError */.cc)
                throw err;
            const code = errorCode(err);
            const message = describeNetworkError(err, target.toString(), timeoutMs);
            const retryable = code !== undefined && RETRYABLE_CODES.has(code) && (safe || neverSent(code));
            waitMs = backoffDelay(attempt, policy);
            if (!retryable ||
                !replayable ||
                attempt >= policy.retries ||
                (opts.deadline !== undefined && Date.now() + waitMs >= opts.deadline))
                throw new HttpError(`${method} ${redactUrl(target)}: ${message}`, target.toString(), code, attempt + 1, {
                    cause: err,
                });
            retryReason = message;
        }
        opts.logger?.debug(`${method} ${redactUrl(target)}: ${retryReason}; retry ${attempt + 1}/${policy.retries} in ${waitMs}ms`);
        await (0,sleep/* sleep */.y)(waitMs, opts.signal);
    }
}
function isStream(body) {
    return typeof body === 'object' && body !== null && typeof body.pipe === 'function';
}
/** A URL for logs: user-info removed. */
function redactUrl(u) {
    if (!u.username && !u.password)
        return u.toString();
    const c = new URL(u);
    c.username = '';
    c.password = '';
    return c.toString();
}
function wrap(res, url, attempts, durationMs) {
    const headers = res.headers;
    return {
        status: res.statusCode,
        headers,
        body: res.body,
        url,
        attempts,
        durationMs,
        header: (name) => headerValue(headers, name),
        text: () => res.body.text(),
        json: () => res.body.json(),
        buffer: async () => Buffer.from(await res.body.arrayBuffer()),
        dump: async () => {
            await res.body.dump().catch(() => undefined);
        },
    };
}


/***/ }),

/***/ 6314:
/***/ ((__unused_webpack_module, __webpack_exports__, __webpack_require__) => {

/* harmony export */ __webpack_require__.d(__webpack_exports__, {
/* harmony export */   Bc: () => (/* binding */ isDigest),
/* harmony export */   FH: () => (/* binding */ formatReference),
/* harmony export */   Mb: () => (/* binding */ registryApiHost),
/* harmony export */   Rd: () => (/* binding */ withTag),
/* harmony export */   aR: () => (/* binding */ repositoryName),
/* harmony export */   jW: () => (/* binding */ isLoopbackRegistry),
/* harmony export */   o_: () => (/* binding */ parseImageReference),
/* harmony export */   r_: () => (/* binding */ isValidTag),
/* harmony export */   tj: () => (/* binding */ tryParseImageReference),
/* harmony export */   yr: () => (/* binding */ effectiveTag)
/* harmony export */ });
/* unused harmony exports DEFAULT_REGISTRY, DEFAULT_TAG, MAX_REPOSITORY_LENGTH, MAX_TAG_LENGTH, familiarName, pinnedReference, pullReference, withDigest */
/* harmony import */ var _errors_js__WEBPACK_IMPORTED_MODULE_0__ = __webpack_require__(7638);
/**
 * Image references: `[registry[:port]/]repository[:tag][@digest]`, parsed the way docker does (the grammar of
 * distribution/reference, `regexp.go` + `normalize.go`), with one clear error message per kind of mistake.
 *
 * Grammar:
 *
 *     reference      := name [':' tag] ['@' digest]
 *     name           := [registry '/'] path
 *     registry       := host [':' port]             port := [0-9]+ (Kiln also requires 1..65535)
 *     host           := domain-name | '[' IPv6 ']'  domain-name := label ('.' label)*
 *     label          := [a-zA-Z0-9] | [a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9]
 *     path           := component ('/' component)*  (at most 255 characters, after normalisation)
 *     component      := [a-z0-9]+ (separator [a-z0-9]+)*
 *     separator      := '.' | '_' | '__' | '-'+
 *     tag            := [\w][\w.-]{0,127}
 *     digest         := algorithm ':' encoded
 *     algorithm      := [a-z0-9]+ ([+._-] [a-z0-9]+)*
 *     encoded        := [a-zA-Z0-9=_-]{32,}; for sha256 / blake3 exactly 64, sha384 96 and sha512 128
 *                       lowercase hex characters
 *
 * Normalisation (docker's `ParseNormalizedNamed`):
 * - The first `/`-separated component is a registry only if it contains `.` or `:` or is `localhost`; otherwise
 *   the registry is `docker.io` (`registry:5000/app` is registry + port, never repository + tag).
 * - On `docker.io`, a single-component path gets `library/`: `ubuntu` → `docker.io/library/ubuntu`.
 * - `index.docker.io` and `registry-1.docker.io` are written `docker.io` (docker itself only folds
 *   `index.docker.io`; `registry-1.docker.io` is the API host of the same registry, see {@link registryApiHost}).
 * - The registry host is lower-cased (DNS names are case-insensitive), so `ref.registry` can be compared with
 *   `===` and used as a key; `original` keeps the input exactly as given. Upper case in the repository path is an
 *   error. Docker treats an upper-case first component without `.`/`:` (`MyOrg/app`) as a registry host; Kiln
 *   reports it as an upper-case repository name instead, since that is nearly always what it is.
 * - No tag is not the same as `latest`: `tag` is left undefined, and only {@link effectiveTag} /
 *   {@link pullReference} apply the default. When both a tag and a digest are given, both are kept and the digest
 *   wins for pulling.
 */

const DEFAULT_REGISTRY = 'docker.io';
const DEFAULT_TAG = 'latest';
const MAX_REPOSITORY_LENGTH = 255;
const MAX_TAG_LENGTH = 128;
const OFFICIAL_PREFIX = 'library/';
const DOCKER_HUB_ALIASES = new Set(['docker.io', 'index.docker.io', 'registry-1.docker.io']);
const EXPECTED = "expected [registry[:port]/]repository[:tag][@digest], e.g. 'ghcr.io/org/app:1.2.3'";
const TAG_RE = /^\w[\w.-]{0,127}$/;
const PATH_COMPONENT_RE = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const DOMAIN_LABEL_RE = /^[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?$/;
const IPV6_RE = /^[a-fA-F0-9:]+$/;
const ALGORITHM_RE = /^[a-z0-9]+(?:[+._-][a-z0-9]+)*$/;
const ENCODED_RE = /^[a-zA-Z0-9=_-]+$/;
const IMAGE_ID_RE = /^[a-f0-9]{64}$/;
const URL_SCHEME_RE = /^([A-Za-z][A-Za-z0-9+.-]*):\/\//;
/** Hex lengths of the algorithms whose encoding is fixed (OCI image-spec registered ones, plus go-digest's sha384). */
const HEX_DIGEST_LENGTHS = {
    sha256: 64,
    sha384: 96,
    sha512: 128,
    blake3: 64,
};
// ---------------------------------------------------------------------------------------------------------------
// Parsing
/**
 * Parses an image reference. Throws a {@link ConfigurationError} (an {@link InputError} when `opts.inputName` is
 * given) whose message quotes the value, says what is wrong and what is expected.
 */
function parseImageReference(input, opts = {}) {
    const result = parse(input);
    if (typeof result === 'string') {
        const message = `invalid image reference ${quote(String(input))}: ${result}; ${EXPECTED}`;
        throw opts.inputName !== undefined
            ? new _errors_js__WEBPACK_IMPORTED_MODULE_0__/* .InputError */ .dz(opts.inputName, message)
            : new _errors_js__WEBPACK_IMPORTED_MODULE_0__/* .ConfigurationError */ .j1(message);
    }
    return result;
}
/** Like {@link parseImageReference}, but returns undefined instead of throwing for an invalid reference. */
function tryParseImageReference(input) {
    const result = parse(input);
    return typeof result === 'string' ? undefined : result;
}
/** Returns the reference, or a sentence saying what is wrong with it. */
function parse(input) {
    if (typeof input !== 'string')
        return `expected a string, got ${input === null ? 'null' : typeof input}`;
    if (input === '')
        return 'it is empty';
    if (input.trim() === '')
        return 'it is blank (only whitespace)';
    if (/\s/.test(input))
        return 'it contains whitespace (remove any spaces, tabs or newlines)';
    const scheme = URL_SCHEME_RE.exec(input);
    if (scheme) {
        const rest = input.slice(scheme[0].length);
        return `it must not start with a URL scheme ('${scheme[0]}'); write just ${quote(rest)}`;
    }
    if (IMAGE_ID_RE.test(input)) {
        return 'a bare 64-character hex string is an image ID, not a repository name (write a digest as repository@sha256:<hex>)';
    }
    // Digest: everything after the '@'.
    let rest = input;
    let digest;
    const at = input.indexOf('@');
    if (at >= 0) {
        if (input.indexOf('@', at + 1) >= 0)
            return "it contains more than one '@'";
        digest = input.slice(at + 1);
        rest = input.slice(0, at);
        if (digest === '') {
            return "'@' must be followed by a digest (algorithm:hex, e.g. sha256:<64 hex characters>)";
        }
        const problem = digestProblem(digest);
        if (problem)
            return problem;
        if (rest === '')
            return "it has no repository name before '@' (a digest alone does not name an image)";
    }
    // A bracketed IPv6 registry with nothing after it would otherwise have its last ':' read as a tag separator.
    if (rest.startsWith('[') && !rest.includes('/')) {
        return `registry ${quote(rest)} must be followed by '/repository'`;
    }
    // Tag: after the last ':' that comes after the last '/' (a ':' before a '/' is a registry port).
    let tag;
    const colon = rest.lastIndexOf(':');
    if (colon > rest.lastIndexOf('/')) {
        tag = rest.slice(colon + 1);
        rest = rest.slice(0, colon);
        if (tag === '')
            return "':' must be followed by a tag (a trailing ':' is not allowed)";
        const problem = tagProblem(tag);
        if (problem)
            return problem;
    }
    if (rest === '')
        return `it has no repository name before ':${tag ?? ''}'`;
    // Registry: the first component, if it looks like a host.
    let registry = DEFAULT_REGISTRY;
    let path = rest;
    let explicitRegistry = false;
    const slash = rest.indexOf('/');
    if (slash >= 0) {
        const first = rest.slice(0, slash);
        if (first.includes('.') || first.includes(':') || first.toLowerCase() === 'localhost') {
            const problem = registryProblem(first);
            if (problem)
                return problem;
            registry = normaliseRegistry(first);
            explicitRegistry = true;
            path = rest.slice(slash + 1);
            if (path === '')
                return `it has no repository after the registry '${first}/'`;
        }
    }
    if (registry === DEFAULT_REGISTRY && !path.includes('/'))
        path = OFFICIAL_PREFIX + path;
    const problem = pathProblem(path, explicitRegistry);
    if (problem)
        return problem;
    const ref = { registry, repository: path, original: input };
    if (tag !== undefined)
        ref.tag = tag;
    if (digest !== undefined)
        ref.digest = digest;
    return ref;
}
function normaliseRegistry(registry) {
    const lower = registry.toLowerCase();
    return DOCKER_HUB_ALIASES.has(lower) ? DEFAULT_REGISTRY : lower;
}
function registryProblem(registry) {
    let host;
    let port;
    if (registry.startsWith('[')) {
        const close = registry.indexOf(']');
        if (close < 0)
            return `registry ${quote(registry)} has '[' without a closing ']'`;
        const address = registry.slice(1, close);
        if (!IPV6_RE.test(address)) {
            return `registry ${quote(registry)} is not a valid IPv6 address in brackets (only hex digits and ':' are allowed; no zones or embedded IPv4)`;
        }
        const after = registry.slice(close + 1);
        if (after !== '' && !after.startsWith(':'))
            return `registry ${quote(registry)} has unexpected text after ']'`;
        host = registry.slice(0, close + 1);
        port = after === '' ? undefined : after.slice(1);
    }
    else {
        const colon = registry.indexOf(':');
        host = colon < 0 ? registry : registry.slice(0, colon);
        port = colon < 0 ? undefined : registry.slice(colon + 1);
        if (port !== undefined && port.includes(':')) {
            return `registry ${quote(registry)} has more than one ':' (write an IPv6 address in brackets, e.g. '[fc00::1]:5000')`;
        }
        if (host === '')
            return `registry ${quote(registry)} has no host name before ':'`;
        for (const label of host.split('.')) {
            if (label === '')
                return `registry host ${quote(host)} has an empty label (a leading, trailing or doubled '.')`;
            if (!DOMAIN_LABEL_RE.test(label)) {
                return `registry host ${quote(host)} is not a valid host name (labels use letters, digits and '-', and start and end with a letter or digit)`;
            }
        }
    }
    if (port !== undefined) {
        if (port === '')
            return `registry ${quote(registry)} has an empty port after ':'`;
        if (!/^[0-9]+$/.test(port))
            return `registry port ${quote(port)} is not a number`;
        const n = Number(port);
        if (n < 1 || n > 65535)
            return `registry port ${port} is out of range (1-65535)`;
    }
    return undefined;
}
/** `explicitRegistry`: the user wrote a registry, so an empty first component means a '//' rather than a leading '/'. */
function pathProblem(path, explicitRegistry) {
    if (path.startsWith('/')) {
        return explicitRegistry
            ? "the repository contains an empty path component ('//')"
            : "it must not start with '/'";
    }
    if (path.endsWith('/'))
        return "the repository must not end with '/'";
    if (path.includes('//'))
        return "the repository contains an empty path component ('//')";
    if (path.toLowerCase() !== path) {
        return `repository names must be lowercase (${quote(path)}; a registry host needs a '.' or a ':port', or must be 'localhost')`;
    }
    for (const component of path.split('/')) {
        if (PATH_COMPONENT_RE.test(component))
            continue;
        const bad = /[^a-z0-9._-]/.exec(component);
        if (bad) {
            return `repository path component ${quote(component)} contains '${bad[0]}'; only a-z, 0-9 and the separators '.', '_', '__' and '-' are allowed`;
        }
        if (!/^[a-z0-9]/.test(component) || !/[a-z0-9]$/.test(component)) {
            return `repository path component ${quote(component)} must start and end with a lowercase letter or digit`;
        }
        const separator = /[._-]+/g;
        for (let m = separator.exec(component); m; m = separator.exec(component)) {
            if (!/^(?:[._]|__|-+)$/.test(m[0])) {
                return `repository path component ${quote(component)} has the separator '${m[0]}'; between letters and digits use one '.', one or two '_', or any number of '-'`;
            }
        }
        return `repository path component ${quote(component)} is not valid`;
    }
    if (path.length > MAX_REPOSITORY_LENGTH) {
        return `the repository path is ${path.length} characters long; at most ${MAX_REPOSITORY_LENGTH} are allowed`;
    }
    return undefined;
}
function tagProblem(tag) {
    if (TAG_RE.test(tag))
        return undefined;
    if (tag === '')
        return 'the tag is empty';
    if (tag.length > MAX_TAG_LENGTH) {
        return `the tag is ${tag.length} characters long; at most ${MAX_TAG_LENGTH} are allowed`;
    }
    if (!/^\w/.test(tag))
        return `tag ${quote(tag)} must start with a letter, digit or '_'`;
    return `tag ${quote(tag)} may only contain letters, digits, '_', '.' and '-'`;
}
function digestProblem(digest) {
    const colon = digest.indexOf(':');
    if (colon < 0)
        return `digest ${quote(digest)} must have the form algorithm:hex, e.g. sha256:<64 hex characters>`;
    const algorithm = digest.slice(0, colon);
    const encoded = digest.slice(colon + 1);
    if (!ALGORITHM_RE.test(algorithm)) {
        return `digest algorithm ${quote(algorithm)} is not valid (lowercase letters and digits, optionally joined by '+', '.', '_' or '-')`;
    }
    const hexLength = HEX_DIGEST_LENGTHS[algorithm];
    if (hexLength !== undefined) {
        if (encoded.length !== hexLength || !/^[a-f0-9]+$/.test(encoded)) {
            const upper = encoded.length === hexLength && /^[a-fA-F0-9]+$/.test(encoded)
                ? ' (upper-case hex is not allowed)'
                : '';
            return `a ${algorithm} digest must be exactly ${hexLength} lowercase hex characters after '${algorithm}:', got ${encoded.length}${upper}`;
        }
        return undefined;
    }
    if (!ENCODED_RE.test(encoded)) {
        return `digest ${quote(digest)} has characters other than letters, digits, '=', '_' and '-' after ':'`;
    }
    if (encoded.length < 32) {
        return `digest ${quote(digest)} is too short: at least 32 characters are needed after '${algorithm}:'`;
    }
    return undefined;
}
/** Single-quotes a value for a message, making control characters visible and shortening very long values. */
function quote(value) {
    // eslint-disable-next-line no-control-regex
    const visible = value.replace(/[\u0000-\u001f\u007f]/g, (c) => JSON.stringify(c).slice(1, -1));
    return `'${visible.length > 200 ? `${visible.slice(0, 200)}…` : visible}'`;
}
// ---------------------------------------------------------------------------------------------------------------
// Validation helpers
/** True for a well-formed digest: `algorithm:encoded`, with exact lowercase hex for sha256/sha384/sha512/blake3. */
function isDigest(s) {
    return typeof s === 'string' && digestProblem(s) === undefined;
}
/** True for a valid tag: `[\w][\w.-]{0,127}` (at most 128 characters). */
function isValidTag(s) {
    return typeof s === 'string' && TAG_RE.test(s);
}
// ---------------------------------------------------------------------------------------------------------------
// Formatting
/** Canonical full form: `registry/repository[:tag][@digest]`, e.g. 'docker.io/library/ubuntu:22.04'. */
function formatReference(ref) {
    return `${repositoryName(ref)}${ref.tag !== undefined ? `:${ref.tag}` : ''}${ref.digest !== undefined ? `@${ref.digest}` : ''}`;
}
/** `registry/repository`, without tag or digest. */
function repositoryName(ref) {
    return `${ref.registry}/${ref.repository}`;
}
/**
 * Docker's short form: 'docker.io/' and a single-level 'library/' are dropped ('ubuntu:22.04', 'org/app@sha256:…');
 * other registries are kept ('ghcr.io/org/app:1.0'). The result always parses back to the same reference.
 */
function familiarName(ref) {
    let name = repositoryName(ref);
    if (ref.registry === DEFAULT_REGISTRY) {
        name = ref.repository;
        const rest = name.startsWith(OFFICIAL_PREFIX) ? name.slice(OFFICIAL_PREFIX.length) : undefined;
        if (rest !== undefined && !rest.includes('/'))
            name = rest;
    }
    const full = `${name}${ref.tag !== undefined ? `:${ref.tag}` : ''}${ref.digest !== undefined ? `@${ref.digest}` : ''}`;
    // A bare 64-hex name would read back as an image ID (docker has the same ambiguity): keep 'library/' then.
    return IMAGE_ID_RE.test(full) ? `${OFFICIAL_PREFIX}${full}` : full;
}
/**
 * `registry/repository@digest` (the tag dropped). `digest`, when given (e.g. the digest a push returned), is used
 * instead of the reference's own. Throws a {@link ConfigurationError} when no digest is known or it is malformed.
 */
function pinnedReference(ref, digest) {
    const d = digest ?? ref.digest;
    if (d === undefined || d === '') {
        throw new ConfigurationError(`cannot pin ${quote(formatReference(ref))}: no digest is known (give one, or use a reference ending in '@sha256:<hex>')`);
    }
    const problem = digestProblem(d);
    if (problem)
        throw new ConfigurationError(`cannot pin ${quote(formatReference(ref))}: ${problem}`);
    return `${repositoryName(ref)}@${d}`;
}
/** The tag to use when none was given: the reference's tag, else 'latest'. */
function effectiveTag(ref) {
    return ref.tag ?? DEFAULT_TAG;
}
/** What to pull: by digest when one is known (the digest wins over a tag), else by tag ('latest' by default). */
function pullReference(ref) {
    return ref.digest !== undefined
        ? `${repositoryName(ref)}@${ref.digest}`
        : `${repositoryName(ref)}:${effectiveTag(ref)}`;
}
// ---------------------------------------------------------------------------------------------------------------
// Derivation
/** A copy of `ref` with `tag` (validated; the digest, if any, is kept). */
function withTag(ref, tag) {
    const problem = typeof tag === 'string' ? tagProblem(tag) : 'the tag must be a string';
    if (problem)
        throw new _errors_js__WEBPACK_IMPORTED_MODULE_0__/* .ConfigurationError */ .j1(`invalid tag ${quote(String(tag))} for '${repositoryName(ref)}': ${problem}`);
    return derive({ ...ref, tag });
}
/** A copy of `ref` with `digest` (validated; the tag, if any, is kept). */
function withDigest(ref, digest) {
    const problem = typeof digest === 'string' ? digestProblem(digest) : 'the digest must be a string';
    if (problem) {
        throw new ConfigurationError(`invalid digest ${quote(String(digest))} for '${repositoryName(ref)}': ${problem}`);
    }
    return derive({ ...ref, digest });
}
function derive(ref) {
    return { ...ref, original: formatReference(ref) };
}
// ---------------------------------------------------------------------------------------------------------------
// Registries
/** The host to talk the registry API to: 'docker.io' (and its aliases) → 'registry-1.docker.io'; others unchanged. */
function registryApiHost(registry) {
    return DOCKER_HUB_ALIASES.has(registry.toLowerCase()) ? 'registry-1.docker.io' : registry;
}
/** True for a registry on this machine: 'localhost', 127.0.0.0/8 or [::1], with or without a port. */
function isLoopbackRegistry(registry) {
    const host = registryHost(registry).toLowerCase();
    if (host === 'localhost')
        return true;
    const v4 = /^127\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(host);
    if (v4)
        return v4.slice(1).every((octet) => Number(octet) <= 255);
    const v6 = expandIPv6(host);
    return v6 !== undefined && v6.slice(0, 7).every((g) => g === 0) && v6[7] === 1;
}
/** The host part of `host[:port]` or `[ipv6][:port]` (without brackets); a bare unbracketed IPv6 is kept whole. */
function registryHost(registry) {
    if (registry.startsWith('[')) {
        const close = registry.indexOf(']');
        return close < 0 ? registry : registry.slice(1, close);
    }
    const first = registry.indexOf(':');
    if (first >= 0 && registry.indexOf(':', first + 1) >= 0)
        return registry; // unbracketed IPv6
    return first < 0 ? registry : registry.slice(0, first);
}
/** The eight 16-bit groups of an IPv6 address in hex notation (no zone, no embedded IPv4), or undefined. */
function expandIPv6(address) {
    if (!/^[0-9a-f:]+$/.test(address))
        return undefined;
    const halves = address.split('::');
    if (halves.length > 2)
        return undefined;
    const groups = (s) => (s === '' ? [] : s.split(':'));
    const head = groups(halves[0] ?? '');
    const tail = halves.length === 2 ? groups(halves[1] ?? '') : [];
    const all = [...head, ...tail];
    if (all.some((g) => !/^[0-9a-f]{1,4}$/.test(g)))
        return undefined;
    if (halves.length === 1 ? all.length !== 8 : all.length > 7)
        return undefined;
    const zeros = new Array(8 - all.length).fill('0');
    return [...head, ...(halves.length === 2 ? zeros : []), ...tail].map((g) => parseInt(g, 16));
}


/***/ }),

/***/ 9485:
/***/ ((__unused_webpack_module, __webpack_exports__, __webpack_require__) => {

/* harmony export */ __webpack_require__.d(__webpack_exports__, {
/* harmony export */   J: () => (/* binding */ abortReason),
/* harmony export */   y: () => (/* binding */ sleep)
/* harmony export */ });
/* harmony import */ var _errors_js__WEBPACK_IMPORTED_MODULE_0__ = __webpack_require__(7638);

/** Wait `ms`, or reject as soon as `signal` aborts. */
function sleep(ms, signal) {
    return new Promise((resolve, reject) => {
        if (signal?.aborted)
            return reject(abortReason(signal));
        const timer = setTimeout(() => {
            signal?.removeEventListener('abort', onAbort);
            resolve();
        }, Math.max(0, ms));
        const onAbort = () => {
            clearTimeout(timer);
            reject(abortReason(signal));
        };
        signal?.addEventListener('abort', onAbort, { once: true });
    });
}
function abortReason(signal) {
    return signal.reason instanceof Error ? signal.reason : new _errors_js__WEBPACK_IMPORTED_MODULE_0__/* .CancelledError */ .cc();
}


/***/ })

};
