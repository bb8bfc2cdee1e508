export const id = 737;
export const ids = [737];
export const modules = {

/***/ 8534:
/***/ ((__unused_webpack_module, __webpack_exports__, __webpack_require__) => {

/* harmony export */ __webpack_require__.d(__webpack_exports__, {
/* harmony export */   cI: () => (/* binding */ ExecError),
/* harmony export */   m0: () => (/* binding */ exec)
/* harmony export */ });
/* unused harmony export displayCommand */
/* harmony import */ var node_child_process__WEBPACK_IMPORTED_MODULE_0__ = __webpack_require__(1421);
/* harmony import */ var node_child_process__WEBPACK_IMPORTED_MODULE_0___default = /*#__PURE__*/__webpack_require__.n(node_child_process__WEBPACK_IMPORTED_MODULE_0__);
/* harmony import */ var _errors_js__WEBPACK_IMPORTED_MODULE_1__ = __webpack_require__(7638);


class ExecError extends Error {
    result;
    name = 'ExecError';
    constructor(message, result) {
        super(message);
        this.result = result;
    }
}
/** Quote an argv for display only (never executed through a shell). */
function displayCommand(command, args) {
    return [command, ...args]
        .map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`))
        .join(' ');
}
/**
 * Run a program with an argument array: never a shell, so no value can be interpreted as shell syntax.
 * Output is captured (and optionally streamed to a logger line by line).
 */
function exec(command, args, opts = {}) {
    const started = Date.now();
    const max = opts.maxCapture ?? 4 * 1024 * 1024;
    return new Promise((resolvePromise, reject) => {
        if (opts.signal?.aborted) {
            reject(opts.signal.reason instanceof Error ? opts.signal.reason : new _errors_js__WEBPACK_IMPORTED_MODULE_1__/* .CancelledError */ .cc());
            return;
        }
        const child = (0,node_child_process__WEBPACK_IMPORTED_MODULE_0__.spawn)(command, [...args], {
            cwd: opts.cwd,
            env: opts.env ?? process.env,
            stdio: ['pipe', 'pipe', 'pipe'],
            shell: false,
            windowsHide: true,
        });
        let stdout = '';
        let stderr = '';
        let timedOut = false;
        let cancelled;
        const partial = { stdout: '', stderr: '' };
        const collect = (which, chunk) => {
            const text = chunk.toString('utf8');
            if (which === 'stdout')
                stdout = (stdout + text).slice(-max);
            else
                stderr = (stderr + text).slice(-max);
            if (opts.logger) {
                const lines = (partial[which] + text).split('\n');
                partial[which] = lines.pop() ?? '';
                for (const l of lines)
                    opts.logger.info(l.replace(/\r$/, ''));
            }
        };
        child.stdout.on('data', (c) => collect('stdout', c));
        child.stderr.on('data', (c) => collect('stderr', c));
        let killTimer;
        const kill = (sig) => {
            if (child.exitCode !== null || child.signalCode !== null)
                return;
            child.kill(sig);
            killTimer ??= setTimeout(() => child.kill('SIGKILL'), opts.killGraceMs ?? 5000);
            killTimer.unref();
        };
        const timer = opts.timeoutMs !== undefined
            ? setTimeout(() => {
                timedOut = true;
                kill('SIGTERM');
            }, opts.timeoutMs)
            : undefined;
        const onAbort = () => {
            const reason = opts.signal?.reason;
            cancelled = reason instanceof Error ? reason : new _errors_js__WEBPACK_IMPORTED_MODULE_1__/* .CancelledError */ .cc();
            kill(reason instanceof _errors_js__WEBPACK_IMPORTED_MODULE_1__/* .CancelledError */ .cc && reason.signal !== 'abort' ? reason.signal : 'SIGTERM');
        };
        opts.signal?.addEventListener('abort', onAbort, { once: true });
        child.on('error', (err) => {
            clearTimeout(timer);
            opts.signal?.removeEventListener('abort', onAbort);
            if (err.code === 'ENOENT')
                reject(new _errors_js__WEBPACK_IMPORTED_MODULE_1__/* .ConfigurationError */ .j1(`'${command}' was not found on PATH; install it or put it on PATH.`));
            else
                reject(err);
        });
        child.on('close', (code, sig) => {
            clearTimeout(timer);
            clearTimeout(killTimer);
            opts.signal?.removeEventListener('abort', onAbort);
            if (opts.logger)
                for (const w of ['stdout', 'stderr'])
                    if (partial[w])
                        opts.logger.info(partial[w]);
            const result = {
                command,
                args,
                exitCode: code,
                signal: sig,
                stdout,
                stderr,
                durationMs: Date.now() - started,
                timedOut,
            };
            if (cancelled)
                return reject(cancelled);
            if (timedOut)
                return reject(new ExecError(`${command} timed out after ${opts.timeoutMs}ms and was stopped`, result));
            if (code !== 0 && !opts.allowFailure) {
                const tail = (stderr || stdout).trim().split('\n').slice(-5).join('\n');
                return reject(new ExecError(`${command} exited with ${code ?? sig}${tail ? `:\n${tail}` : ''}`, result));
            }
            resolvePromise(result);
        });
        if (opts.input !== undefined)
            child.stdin.end(opts.input);
        else
            child.stdin.end();
    });
}


/***/ }),

/***/ 2737:
/***/ ((__unused_webpack_module, __webpack_exports__, __webpack_require__) => {

/* harmony export */ __webpack_require__.d(__webpack_exports__, {
/* harmony export */   B2: () => (/* binding */ Deadline),
/* harmony export */   Dl: () => (/* binding */ pinnedImages),
/* harmony export */   Hn: () => (/* binding */ createRegistryClient),
/* harmony export */   Lk: () => (/* binding */ taggedRefs),
/* harmony export */   MT: () => (/* binding */ verdictLine),
/* harmony export */   P4: () => (/* binding */ registryInputs),
/* harmony export */   XC: () => (/* binding */ fillCopySummary),
/* harmony export */   ZH: () => (/* binding */ overallResult),
/* harmony export */   an: () => (/* binding */ userFacingError),
/* harmony export */   ji: () => (/* binding */ resultsJson),
/* harmony export */   rL: () => (/* binding */ parseTags),
/* harmony export */   wt: () => (/* binding */ expandDestinations)
/* harmony export */ });
/* unused harmony export explicitCredentials */
/* harmony import */ var _errors_js__WEBPACK_IMPORTED_MODULE_0__ = __webpack_require__(7638);
/* harmony import */ var _image_reference_js__WEBPACK_IMPORTED_MODULE_4__ = __webpack_require__(6314);
/* harmony import */ var _util_duration_js__WEBPACK_IMPORTED_MODULE_2__ = __webpack_require__(4144);
/* harmony import */ var _client_js__WEBPACK_IMPORTED_MODULE_3__ = __webpack_require__(9621);
/* harmony import */ var _copy_js__WEBPACK_IMPORTED_MODULE_5__ = __webpack_require__(5035);
/* harmony import */ var _digest_js__WEBPACK_IMPORTED_MODULE_7__ = __webpack_require__(7761);
/* harmony import */ var _docker_config_js__WEBPACK_IMPORTED_MODULE_1__ = __webpack_require__(8040);
/* harmony import */ var _errors_js__WEBPACK_IMPORTED_MODULE_6__ = __webpack_require__(9630);
/* harmony import */ var _progress_js__WEBPACK_IMPORTED_MODULE_8__ = __webpack_require__(6226);
/**
 * What push-registry and promote share: the registry inputs (credentials, insecure registries, concurrency, one
 * deadline), turning them into a {@link RegistryClient}, expanding destinations and tags into references,
 * the outputs and the summary of a copy, and user-facing errors. Exported from `@kiln/core` as the
 * `registryAction` namespace (its names are generic: a namespace keeps them from colliding with other domains').
 */









/** The inputs both actions declare; `dest` is how the action calls where the image goes. */
function registryInputs(dest) {
    return {
        username: {
            type: 'string',
            description: `User for the ${dest} registries (with \`password\`). With ${dest}s on several registries it applies to each one without a \`registry-auth\` entry.`,
        },
        password: {
            type: 'string',
            secret: true,
            description: `Password or token for the ${dest} registries (masked). ECR, GHCR and Harbor robot accounts take a token here.`,
        },
        'source-username': {
            type: 'string',
            description: `User for the source registry, when it needs other credentials than the ${dest}s.`,
        },
        'source-password': {
            type: 'string',
            secret: true,
            description: 'Password or token for the source registry (masked).',
        },
        'registry-auth': {
            type: 'map',
            secret: true,
            placeholder: 'host=user:password',
            description: 'Credentials per registry, one `host=user:password` per line (e.g. `ghcr.io=bot:<token>`). They win over every other source for that host. Masked.',
        },
        'docker-config': {
            type: 'path',
            description: 'Directory holding a docker `config.json` (`auths`, `credHelpers`, `credsStore`). Default: `$DOCKER_CONFIG` or `~/.docker`.',
        },
        'insecure-registries': {
            type: 'list',
            placeholder: 'host[:port] list',
            description: 'Registries reached over https without certificate verification, or plain http (`host:port`, or `host` for every port). Loopback registries use http without being listed.',
        },
        concurrency: {
            type: 'integer',
            default: '4',
            min: 1,
            max: 64,
            description: `Blob transfers at the same time (shared by every ${dest}).`,
        },
        timeout: {
            type: 'duration',
            default: '30m',
            min: 1000,
            max: 86_400_000,
            description: 'One deadline for the whole operation; past it, the step fails and no further tag is written.',
        },
    };
}
/** Credentials by registry, from the inputs (see the input descriptions for precedence). */
function explicitCredentials(inputs, opts) {
    const pair = (user, password, names) => {
        if (user && !password)
            throw new _errors_js__WEBPACK_IMPORTED_MODULE_0__/* .InputError */ .dz(names[1], `is required with ${names[0]}.`);
        if (password && !user)
            throw new _errors_js__WEBPACK_IMPORTED_MODULE_0__/* .InputError */ .dz(names[0], `is required with ${names[1]} (registries want a user with a token).`);
        return user && password ? { username: user, password } : undefined;
    };
    const dst = pair(inputs.username, inputs.password, ['username', 'password']);
    const src = pair(inputs['source-username'], inputs['source-password'], [
        'source-username',
        'source-password',
    ]);
    const explicit = {};
    const has = (registry) => Object.keys(explicit).some((k) => (0,_docker_config_js__WEBPACK_IMPORTED_MODULE_1__/* .normaliseRegistryKey */ .jV)(k) === (0,_docker_config_js__WEBPACK_IMPORTED_MODULE_1__/* .normaliseRegistryKey */ .jV)(registry));
    for (const [host, value] of Object.entries(inputs['registry-auth'])) {
        const colon = value.indexOf(':');
        if (colon <= 0 || colon === value.length - 1)
            throw new _errors_js__WEBPACK_IMPORTED_MODULE_0__/* .InputError */ .dz('registry-auth', `the entry for '${host}' is not user:password (value hidden); expected one host=user:password per line.`);
        if ((0,_docker_config_js__WEBPACK_IMPORTED_MODULE_1__/* .normaliseRegistryKey */ .jV)(host) === '')
            throw new _errors_js__WEBPACK_IMPORTED_MODULE_0__/* .InputError */ .dz('registry-auth', `'${host}' is not a registry host; expected e.g. ghcr.io=user:token.`);
        const password = value.slice(colon + 1);
        opts.setSecret(password);
        if (has(host))
            throw new _errors_js__WEBPACK_IMPORTED_MODULE_0__/* .InputError */ .dz('registry-auth', `'${host}' is given twice.`);
        explicit[host] = { username: value.slice(0, colon), password, source: 'registry-auth' };
    }
    if (dst)
        for (const registry of opts.destinationRegistries)
            if (!has(registry))
                explicit[registry] = { ...dst, source: 'inputs username/password' };
    if (src && opts.sourceRegistry && !has(opts.sourceRegistry))
        explicit[opts.sourceRegistry] = { ...src, source: 'inputs source-username/source-password' };
    return explicit;
}
/** One deadline for a whole operation, on top of the action's cancellation signal. */
class Deadline {
    ms;
    signal;
    fired = false;
    timer;
    constructor(parent, ms) {
        this.ms = ms;
        const controller = new AbortController();
        this.timer = setTimeout(() => {
            this.fired = true;
            controller.abort(new Error(`the timeout of ${(0,_util_duration_js__WEBPACK_IMPORTED_MODULE_2__/* .formatDuration */ .a)(ms)} passed`));
        }, ms);
        this.timer.unref();
        if (parent.aborted)
            controller.abort(parent.reason);
        else
            parent.addEventListener('abort', () => controller.abort(parent.reason), { once: true });
        this.signal = controller.signal;
    }
    get expired() {
        return this.fired;
    }
    dispose() {
        clearTimeout(this.timer);
    }
}
/** The registry client of one action run: credentials from the inputs, then docker config, then CI variables. */
function createRegistryClient(inputs, ctx, registries) {
    const setSecret = (v) => ctx.platform.setSecret(v);
    const explicit = explicitCredentials(inputs, {
        sourceRegistry: registries.source,
        destinationRegistries: registries.destinations,
        setSecret,
    });
    return new _client_js__WEBPACK_IMPORTED_MODULE_3__/* .RegistryClient */ .b({
        logger: ctx.log,
        signal: ctx.signal,
        explicitCredentials: explicit,
        dockerConfigDir: inputs['docker-config'],
        env: ctx.platform.env,
        onSecret: setSecret,
        insecureRegistries: inputs['insecure-registries'],
        concurrency: inputs.concurrency,
    });
}
/** Validates the `tags` input. */
function parseTags(tags, inputName = 'tags') {
    for (const tag of tags)
        if (!(0,_image_reference_js__WEBPACK_IMPORTED_MODULE_4__/* .isValidTag */ .r_)(tag))
            throw new _errors_js__WEBPACK_IMPORTED_MODULE_0__/* .InputError */ .dz(inputName, `${JSON.stringify(tag)} is not a valid tag; expected letters, digits, '_', '.' and '-' (at most 128, not starting with '.' or '-').`);
    return [...new Set(tags)];
}
/**
 * Destination references from the list input `inputName` and the `tags` input: a reference with a tag keeps
 * it and gets every tag of `tags`; one without a tag gets `tags`, else `defaultTag`, else only the digest.
 * Duplicates are dropped; every value is validated with a message naming the input.
 */
function expandDestinations(values, tags, opts) {
    const out = new Map();
    for (const value of values) {
        const ref = (0,_image_reference_js__WEBPACK_IMPORTED_MODULE_4__/* .parseImageReference */ .o_)(value, { inputName: opts.inputName });
        const refs = ref.tag !== undefined ? [ref] : [];
        for (const tag of tags)
            refs.push((0,_image_reference_js__WEBPACK_IMPORTED_MODULE_4__/* .withTag */ .Rd)(ref, tag));
        if (refs.length === 0)
            refs.push(opts.defaultTag !== undefined && ref.digest === undefined ? (0,_image_reference_js__WEBPACK_IMPORTED_MODULE_4__/* .withTag */ .Rd)(ref, opts.defaultTag) : ref);
        for (const r of refs)
            if (!out.has((0,_image_reference_js__WEBPACK_IMPORTED_MODULE_4__/* .formatReference */ .FH)(r)))
                out.set((0,_image_reference_js__WEBPACK_IMPORTED_MODULE_4__/* .formatReference */ .FH)(r), r);
    }
    return [...out.values()];
}
/** An error as the user should see it: a timeout says so; credentials, permissions and missing images are the user's to fix (one line). */
function userFacingError(err, deadline) {
    if (deadline.expired)
        return new Error(`timed out after ${(0,_util_duration_js__WEBPACK_IMPORTED_MODULE_2__/* .formatDuration */ .a)(deadline.ms)} (input 'timeout'); nothing was written after that point`);
    const userKinds = ['auth', 'denied', 'not-found'];
    const hint = (e) => e.kind === 'auth'
        ? ' (credentials come from registry-auth, username/password, source-username/source-password, the docker config or the CI registry variables)'
        : '';
    if (err instanceof _copy_js__WEBPACK_IMPORTED_MODULE_5__/* .CopyRefusedError */ .QM && err.reason === 'tag-exists')
        return new _errors_js__WEBPACK_IMPORTED_MODULE_0__/* .ConfigurationError */ .j1(err.message.replace(/\(allow overwriting to replace it\)/g, '(set allow-overwrite to true to move it)'), { cause: err });
    if (err instanceof _errors_js__WEBPACK_IMPORTED_MODULE_6__/* .RegistryError */ .gl && userKinds.includes(err.kind))
        return new _errors_js__WEBPACK_IMPORTED_MODULE_0__/* .ConfigurationError */ .j1(`${err.message}${hint(err)}`, { cause: err });
    if (err instanceof _copy_js__WEBPACK_IMPORTED_MODULE_5__/* .CopyError */ .k6 &&
        err.failures.every((f) => f.error instanceof _errors_js__WEBPACK_IMPORTED_MODULE_6__/* .RegistryError */ .gl && userKinds.includes(f.error.kind)))
        return new _errors_js__WEBPACK_IMPORTED_MODULE_0__/* .ConfigurationError */ .j1(err.message, { cause: err });
    return err;
}
/** `pushed` when anything was written, `unchanged` when every destination held the digest, `dry-run`. */
function overallResult(result, dryRun) {
    if (dryRun)
        return 'dry-run';
    return result.destinations.some((d) => d.action === 'pushed') ? 'pushed' : 'unchanged';
}
/** `registry/repository@digest` once per destination repository, in order. */
function pinnedImages(result) {
    const repos = result.destinations.map((d) => d.ref.replace(/@.*$/, '').replace(/:[^:/]+$/, ''));
    return [...new Set(repos)].map((r) => `${r}@${result.source.digest}`);
}
/** Tagged references that now hold the digest. */
function taggedRefs(result) {
    return result.destinations.filter((d) => !d.ref.includes('@')).map((d) => d.ref);
}
/** Compact JSON of the destinations (the `results` output). */
function resultsJson(result) {
    return JSON.stringify(result.destinations.map((d) => ({
        ref: d.ref,
        action: d.action,
        ...(d.previousDigest ? { previousDigest: d.previousDigest } : {}),
        mounted: d.blobsMounted,
        uploaded: d.blobsUploaded,
        skipped: d.blobsSkipped,
        bytes: d.bytesUploaded,
        requests: d.requests,
        ...(d.referrers ? { referrers: d.referrers.copied } : {}),
    })));
}
const ICON = { pushed: '✅', unchanged: '➖', 'would-push': '🔍', 'dry-run': '🔍' };
/** Heading, source line, and one row per destination. */
function fillCopySummary(summary, action, result, opts) {
    const overall = overallResult(result, opts.dryRun);
    summary.heading(`${action}: ${ICON[overall]} ${overall === 'dry-run' ? 'dry run, nothing written:' : overall} ${(0,_digest_js__WEBPACK_IMPORTED_MODULE_7__/* .shortDigest */ .VK)(result.source.digest)}`);
    const kind = result.source.platforms.length > 0 ? `index of ${result.source.platforms.join(', ')}` : 'single image';
    summary.paragraph(`Source: ${result.source.ref} — ${result.source.digest} (${kind}, ${result.source.mediaType})${result.source.requests > 0 ? `; ${result.source.requests} requests to read it` : ''}.`);
    const header = [
        'Destination',
        'Action',
        'Digest',
        'Mounted',
        'Uploaded',
        'Skipped',
        'Bytes uploaded',
        'Requests',
        ...(opts.referrers ? ['Referrers'] : []),
    ];
    summary.table(header, result.destinations.map((d) => [
        d.ref,
        `${ICON[d.action] ?? ''} ${d.action}`,
        d.digest,
        d.blobsMounted,
        d.blobsUploaded,
        d.blobsSkipped,
        (0,_progress_js__WEBPACK_IMPORTED_MODULE_8__/* .formatBytes */ .z)(d.bytesUploaded),
        d.requests,
        ...(opts.referrers ? [d.referrers ? `${d.referrers.copied} (${d.referrers.via})` : 'not copied'] : []),
    ]));
    const replaced = result.destinations.filter((d) => d.previousDigest);
    if (replaced.length > 0)
        summary.list(replaced.map((d) => `${d.ref} ${opts.dryRun ? 'holds' : 'held'} ${d.previousDigest} before (${opts.dryRun ? 'would be ' : ''}replaced: allow-overwrite)`));
    summary.paragraph(`${result.requests} registry requests in total.`);
}
/** The one-line log verdict. */
function verdictLine(action, result, dryRun) {
    const count = (a) => result.destinations.filter((d) => d.action === a).length;
    const bytes = result.destinations.reduce((n, d) => n + d.bytesUploaded, 0);
    const n = result.destinations.length;
    const where = `${n} ${action === 'promote' ? 'target' : 'destination'}${n === 1 ? '' : 's'}`;
    if (dryRun)
        return `${action}: dry run, nothing written; ${count('would-push')} of ${where} would change (${(0,_progress_js__WEBPACK_IMPORTED_MODULE_8__/* .formatBytes */ .z)(bytes)} to upload), ${count('unchanged')} already hold ${(0,_digest_js__WEBPACK_IMPORTED_MODULE_7__/* .shortDigest */ .VK)(result.source.digest)}.`;
    return `${action}: ${result.source.digest} at ${where} (${count('pushed')} pushed, ${count('unchanged')} unchanged); ${(0,_progress_js__WEBPACK_IMPORTED_MODULE_8__/* .formatBytes */ .z)(bytes)} uploaded in ${result.requests} requests.`;
}


/***/ }),

/***/ 9621:
/***/ ((__unused_webpack_module, __webpack_exports__, __webpack_require__) => {


// EXPORTS
__webpack_require__.d(__webpack_exports__, {
  b: () => (/* binding */ RegistryClient)
});

// EXTERNAL MODULE: ./packages/core/src/http/http.ts + 1 modules
var http = __webpack_require__(3996);
// EXTERNAL MODULE: ./packages/core/src/image/reference.ts
var reference = __webpack_require__(6314);
;// CONCATENATED MODULE: ./packages/core/src/registry/challenge.ts
/**
 * `WWW-Authenticate` parsing (RFC 9110 §11.6.1): one header may carry several challenges, each a scheme
 * followed by comma-separated `name=value` parameters whose values may be quoted strings containing commas,
 * spaces and escaped quotes, e.g.
 *
 *     Bearer realm="https://auth.example.com/token",service="registry.example.com",
 *            scope="repository:a:pull,push repository:b:pull",error="insufficient_scope"
 *
 * Splitting on commas (as several small clients do) breaks on the `scope` above; this is a small scanner
 * instead. A token followed by `=` is a parameter of the current challenge, any other token starts a new one.
 * Unquoted values are read up to the next comma or space, leniently (realms are often unquoted URLs).
 */
const TCHAR = /[!#$%&'*+\-.^_`|~0-9A-Za-z]/;
/** All challenges of one or more `WWW-Authenticate` values (joined with ', ' when repeated). */
function parseWwwAuthenticate(header) {
    const out = [];
    if (!header)
        return out;
    const s = header;
    const n = s.length;
    let i = 0;
    let current;
    const skip = (re) => {
        while (i < n && re.test(s[i]))
            i++;
    };
    while (i < n) {
        skip(/[\s,]/);
        if (i >= n)
            break;
        const start = i;
        while (i < n && TCHAR.test(s[i]))
            i++;
        if (i === start) {
            i++; // a stray character: skip it
            continue;
        }
        const token = s.slice(start, i);
        const afterToken = i;
        skip(/[ \t]/);
        if (s[i] === '=' && current) {
            i++;
            skip(/[ \t]/);
            let value = '';
            if (s[i] === '"') {
                i++;
                while (i < n && s[i] !== '"') {
                    if (s[i] === '\\' && i + 1 < n)
                        i++;
                    value += s[i];
                    i++;
                }
                i++; // closing quote
            }
            else {
                const valueStart = i;
                while (i < n && s[i] !== ',' && !/\s/.test(s[i]))
                    i++;
                value = s.slice(valueStart, i);
            }
            current.params[token.toLowerCase()] = value;
        }
        else if (s[i] === '=') {
            // A parameter before any scheme: malformed, skip its value.
            i++;
            while (i < n && s[i] !== ',')
                i++;
        }
        else {
            current = { scheme: token.toLowerCase(), params: {} };
            out.push(current);
            i = afterToken;
        }
    }
    return out;
}
/** The challenge Kiln answers: Bearer when offered, else Basic, else undefined. */
function pickChallenge(challenges) {
    return challenges.find((c) => c.scheme === 'bearer') ?? challenges.find((c) => c.scheme === 'basic');
}

// EXTERNAL MODULE: ./packages/core/src/registry/errors.ts
var errors = __webpack_require__(9630);
// EXTERNAL MODULE: ./packages/core/src/registry/scopes.ts
var scopes = __webpack_require__(4676);
;// CONCATENATED MODULE: ./packages/core/src/registry/auth.ts
/**
 * Registry authentication: anonymous, Basic, and the Bearer token flow of distribution's
 * `docs/spec/auth/token.md`.
 *
 * The flow is reactive, then proactive. A registry's first request goes out anonymously; a 401 carries a
 * challenge (`WWW-Authenticate`) that says which scheme it wants. From then on, every request to that registry
 * is authorised before it is sent, so only the first request of a registry pays the 401 round trip:
 *
 * - Basic: `Authorization: Basic base64(user:password)`, only once the registry asked for it (credentials are
 *   never offered to a registry that did not ask).
 * - Bearer: `GET <realm>?service=<service>&scope=<s1>&scope=<s2>…` (Basic credentials to the realm when there
 *   are some; `account=<user>`), or, with an identity token, the OAuth2 `POST <realm>` refresh-token grant. The
 *   answer is `{token | access_token, expires_in (default 60 s), refresh_token?}`.
 *
 * One token covers every scope the registry was asked for so far in this client: the scopes declared up front
 * ({@link Authenticator.declareScopes}: a promote declares `repository:<dst>:pull,push` and
 * `repository:<src>:pull`), the scopes each request needs, and the scopes any challenge named. Push scopes are
 * listed first. When a request needs a scope no cached token covers, or a challenge (e.g.
 * `error="insufficient_scope"`) asks for more, the token is re-exchanged for the grown set; tokens are also
 * re-exchanged shortly before they expire. Tokens are cached per registry and scope set, and concurrent
 * requests needing the same token share one token request.
 *
 * Credentials are looked up lazily (only when a registry challenges), every token is handed to `onSecret`,
 * and credentials are never sent in clear text to a non-loopback realm over plain HTTP unless the realm's
 * host is listed as insecure.
 */





const DEFAULT_TOKEN_LIFETIME_S = 60;
class Authenticator {
    opts;
    states = new Map();
    creds = new Map();
    now;
    constructor(opts) {
        this.opts = opts;
        this.now = opts.now ?? Date.now;
    }
    state(registry) {
        let s = this.states.get(registry);
        if (!s) {
            s = { scheme: 'unknown', wanted: new scopes/* ScopeSet */.lG(), tokens: [], inflight: new Map() };
            this.states.set(registry, s);
        }
        return s;
    }
    /** Credentials for a registry (looked up once). */
    credentials(registry) {
        let p = this.creds.get(registry);
        if (!p) {
            p = this.opts.credentials(registry);
            this.creds.set(registry, p);
            p.catch(() => this.creds.delete(registry));
        }
        return p;
    }
    /** The user name for messages: 'alice', 'an identity token', 'anonymous'. */
    async who(registry) {
        const c = await this.credentials(registry).catch(() => undefined);
        if (c?.username)
            return `user ${c.username}`;
        if (c?.identityToken)
            return 'an identity token';
        if (c?.registryToken)
            return 'a registry token';
        return 'anonymous';
    }
    /**
     * Scopes every token for `registry` should carry from now on (a promote declares source and destination up
     * front, so one token serves the whole copy).
     */
    declareScopes(registry, scopes) {
        this.state(registry).wanted.addAll(scopes);
    }
    /** The scheme the registry asked for so far ('unknown' before its first challenge). */
    scheme(registry) {
        return this.state(registry).scheme;
    }
    /** The `Authorization` header for a request needing `needed` on `registry`. */
    async authorize(registry, needed, ctx = {}) {
        const state = this.state(registry);
        if (state.scheme === 'unknown')
            return { scheme: 'none', fresh: false };
        const creds = await this.credentials(registry);
        if (state.scheme === 'basic') {
            if (!creds?.password)
                return { scheme: 'none', fresh: false };
            const basic = Buffer.from(`${creds.username ?? ''}:${creds.password}`).toString('base64');
            return { header: `Basic ${basic}`, scheme: 'basic', fresh: false };
        }
        if (creds?.registryToken)
            return { header: `Bearer ${creds.registryToken}`, scheme: 'bearer', fresh: false };
        state.wanted.addAll(needed);
        const now = this.now();
        state.tokens = state.tokens.filter((t) => t.refreshAt > now);
        const cached = state.tokens.find((t) => t.scopes.covers(needed));
        if (cached)
            return { header: `Bearer ${cached.token}`, scheme: 'bearer', fresh: false, token: cached };
        const token = await this.fetchToken(registry, state, state.wanted.clone(), ctx);
        return { header: `Bearer ${token.token}`, scheme: 'bearer', fresh: true, token };
    }
    /**
     * Learns from a 401: the scheme, the realm, and the scopes the registry wants. Says whether the request
     * should be sent again (with a new authorisation) or has definitely failed.
     */
    async onChallenge(registry, header, needed, used) {
        const state = this.state(registry);
        const challenge = pickChallenge(parseWwwAuthenticate(header));
        const creds = await this.credentials(registry);
        const who = await this.who(registry);
        if (!challenge) {
            return used.scheme === 'none'
                ? {
                    retry: false,
                    kind: 'auth',
                    message: `authentication required for ${registry} (no challenge offered)`,
                }
                : { retry: false, kind: 'auth', message: `authentication failed for ${registry} (${who})` };
        }
        if (challenge.scheme === 'basic') {
            if (used.scheme === 'basic') {
                return { retry: false, kind: 'auth', message: `authentication failed for ${registry} (${who})` };
            }
            state.scheme = 'basic';
            if (!creds?.password)
                return { retry: false, kind: 'auth', message: noCredentials(registry) };
            return { retry: true };
        }
        // Bearer
        this.learnBearer(state, challenge);
        const grew = state.wanted.addAll([...needed, ...(0,scopes/* parseScopeList */.us)(challenge.params.scope)]);
        if (used.token)
            state.tokens = state.tokens.filter((t) => t !== used.token);
        if (used.scheme === 'bearer' && creds?.registryToken) {
            return {
                retry: false,
                kind: 'auth',
                message: `authentication failed for ${registry} (${who}: token refused)`,
            };
        }
        if (used.scheme === 'bearer' && used.fresh && !grew) {
            const error = challenge.params.error;
            if (error === 'insufficient_scope' || error === undefined) {
                const wantedScope = challenge.params.scope ?? needed.map((s) => `${s.type}:${s.name}:${s.actions}`).join(' ');
                return creds
                    ? {
                        retry: false,
                        kind: 'denied',
                        message: `denied: ${who} may not ${describeScopes(wantedScope)} on ${registry}`,
                    }
                    : {
                        retry: false,
                        kind: 'auth',
                        message: `${noCredentials(registry)} (anonymous access is not enough)`,
                    };
            }
            return {
                retry: false,
                kind: 'auth',
                message: `authentication failed for ${registry} (${who}: ${error})`,
            };
        }
        return { retry: true };
    }
    learnBearer(state, challenge) {
        const realm = challenge.params.realm;
        const service = challenge.params.service;
        if (state.realm !== realm || state.service !== service)
            state.tokens = [];
        state.scheme = 'bearer';
        state.realm = realm;
        state.service = service;
    }
    fetchToken(registry, state, scopes, ctx) {
        const key = `${state.realm}|${state.service}|${scopes.key()}`;
        let p = state.inflight.get(key);
        if (!p) {
            p = this.requestToken(registry, state, scopes, ctx).finally(() => state.inflight.delete(key));
            state.inflight.set(key, p);
        }
        return p;
    }
    async requestToken(registry, state, scopes, ctx) {
        const operation = `token request for ${scopes.toStrings().join(' ') || 'no scope'}`;
        if (!state.realm) {
            throw new errors/* RegistryError */.gl(`${registry} asked for a Bearer token without naming a realm`, {
                kind: 'protocol',
                registry,
                operation,
            });
        }
        let realm;
        try {
            realm = new URL(state.realm);
            if (realm.protocol !== 'https:' && realm.protocol !== 'http:')
                throw new Error('not http(s)');
        }
        catch {
            throw new errors/* RegistryError */.gl(`${registry} named an unusable token realm '${state.realm}'`, {
                kind: 'protocol',
                registry,
                operation,
            });
        }
        const creds = await this.credentials(registry);
        const who = await this.who(registry);
        const insecure = this.opts.isInsecureHost(realm.host);
        if (creds && realm.protocol === 'http:' && !insecure && !(0,reference/* isLoopbackRegistry */.jW)(realm.host)) {
            throw new errors/* RegistryError */.gl(`refusing to send credentials for ${registry} to ${realm.origin} over plain HTTP (list ${realm.host} in insecure registries to allow it)`, { kind: 'auth', registry, operation });
        }
        const scopeStrings = scopes.toStrings();
        const headers = { accept: 'application/json' };
        let method = 'GET';
        let body;
        const url = new URL(realm);
        if (creds?.identityToken) {
            // OAuth2 refresh-token grant (what docker does with an identity token).
            method = 'POST';
            const form = new URLSearchParams({ grant_type: 'refresh_token', refresh_token: creds.identityToken });
            if (state.service)
                form.set('service', state.service);
            if (scopeStrings.length > 0)
                form.set('scope', scopeStrings.join(' '));
            form.set('client_id', 'kiln');
            body = form.toString();
            headers['content-type'] = 'application/x-www-form-urlencoded';
        }
        else {
            if (state.service)
                url.searchParams.set('service', state.service);
            for (const s of scopeStrings)
                url.searchParams.append('scope', s);
            if (creds?.username)
                url.searchParams.set('account', creds.username);
            if (creds?.password) {
                headers.authorization = `Basic ${Buffer.from(`${creds.username ?? ''}:${creds.password}`).toString('base64')}`;
            }
        }
        this.opts.logger.debug(`${registry}: requesting a token for ${scopeStrings.join(' ') || '(no scope)'} (${who})`);
        const res = await (0,http/* httpRequest */.aj)(url, {
            method,
            headers,
            body,
            retryUnsafe: true,
            timeoutMs: this.opts.timeoutMs,
            retry: this.opts.retry,
            signal: ctx.signal,
            logger: this.opts.logger,
            insecure,
            env: this.opts.env,
        }).catch((err) => {
            if (ctx.stats)
                ctx.stats.requests += err.attempts ?? 1;
            throw new errors/* RegistryError */.gl(`token request to ${realm.host} for ${registry} failed: ${err.message}`, {
                kind: 'transport',
                registry,
                operation,
                retryable: true,
                cause: err,
            });
        });
        if (ctx.stats)
            ctx.stats.requests += res.attempts;
        if (res.status === 401 || res.status === 403) {
            await res.dump();
            throw new errors/* RegistryError */.gl(creds
                ? `authentication failed for ${registry} (${who}): the token server ${realm.host} refused the credentials`
                : `authentication failed for ${registry}: the token server ${realm.host} refused anonymous access`, { kind: 'auth', registry, operation, status: res.status });
        }
        const text = await res.text();
        if (res.status < 200 || res.status >= 300) {
            const codes = (0,errors/* parseErrorBody */.kW)(text);
            throw new errors/* RegistryError */.gl(`token request to ${realm.host} for ${registry} failed: HTTP ${res.status}${text ? ` ${(0,errors/* describeErrorBody */.ut)(codes, text)}` : ''}`, {
                kind: 'http',
                registry,
                operation,
                status: res.status,
                codes,
                retryable: res.status >= 500 || res.status === 429,
            });
        }
        let parsed;
        try {
            parsed = JSON.parse(text);
        }
        catch {
            parsed = {};
        }
        const token = typeof parsed.token === 'string' && parsed.token
            ? parsed.token
            : typeof parsed.access_token === 'string'
                ? parsed.access_token
                : '';
        if (!token) {
            throw new errors/* RegistryError */.gl(`the token server ${realm.host} answered without a token`, {
                kind: 'protocol',
                registry,
                operation,
            });
        }
        this.opts.onSecret?.(token);
        if (typeof parsed.refresh_token === 'string' && parsed.refresh_token)
            this.opts.onSecret?.(parsed.refresh_token);
        const lifetimeS = typeof parsed.expires_in === 'number' && parsed.expires_in > 0
            ? parsed.expires_in
            : DEFAULT_TOKEN_LIFETIME_S;
        const now = this.now();
        const lifetimeMs = lifetimeS * 1000;
        const cached = {
            token,
            scopes,
            expiresAt: now + lifetimeMs,
            refreshAt: now + lifetimeMs - Math.min(10_000, lifetimeMs / 10),
        };
        state.tokens.push(cached);
        return cached;
    }
}
function noCredentials(registry) {
    return `authentication required for ${registry}: no credentials found (give them explicitly, run 'docker login ${registry}', or use the CI registry variables)`;
}
/** 'repository:a:pull,push repository:b:pull' → 'pull,push a, pull b'. */
function describeScopes(value) {
    return value
        .split(/\s+/)
        .map((s) => (0,scopes/* parseScope */.Sk)(s))
        .filter((s) => s !== undefined)
        .map((s) => `${s.actions.join(',')} ${s.name}`)
        .join(', ');
}

// EXTERNAL MODULE: external "node:stream"
var external_node_stream_ = __webpack_require__(7075);
// EXTERNAL MODULE: ./packages/core/src/errors.ts
var src_errors = __webpack_require__(7638);
// EXTERNAL MODULE: ./packages/core/src/util/sleep.ts
var sleep = __webpack_require__(9485);
// EXTERNAL MODULE: ./packages/core/src/registry/digest.ts
var registry_digest = __webpack_require__(7761);
// EXTERNAL MODULE: ./packages/core/src/registry/types.ts
var types = __webpack_require__(224);
;// CONCATENATED MODULE: ./packages/core/src/registry/blobs.ts
/**
 * Blobs: existence, download, cross-repository mount, and upload (monolithic or chunked), streamed and
 * verified.
 *
 * - Exists: `HEAD /v2/<name>/blobs/<digest>` → 200 (+ Content-Length) or 404.
 * - Mount: `POST /v2/<dst>/blobs/uploads/?mount=<digest>&from=<src>` → 201 means the blob is now in `<dst>`
 *   without a byte moving; 202 means the registry opened an upload session instead (the blob was not
 *   mountable), which is then used for a normal upload. 401/403/404 (Harbor refuses a mount from a project
 *   the user cannot read; some registries do not implement mounting) mean "upload normally".
 * - Upload: `POST /v2/<name>/blobs/uploads/` → 202 + `Location`; then either one `PUT <location>&digest=<d>`
 *   carrying the whole blob (monolithic), or, for blobs larger than `chunkSize`, `PATCH <location>` per chunk
 *   (`Content-Range: <start>-<end>`, inclusive; each answer's `Location` is used for the next request), then an
 *   empty `PUT <location>&digest=<d>`. `Location` may be relative or absolute and may already have a query
 *   (`_state=…`); the digest parameter is appended to it textually, never by re-encoding the query.
 *
 * The content always streams: from a buffer, or from a function that opens a fresh stream (for a copy, the
 * source registry's blob GET), through a {@link DigestVerifier} (size and digest checked on the way; the last
 * chunk is held back until the digest is known, so a corrupted blob never arrives whole), into the request
 * body. Nothing holds a whole layer in memory.
 *
 * A failed upload (connection reset mid-body, 5xx, 429, a lost session) is restarted from scratch with a new
 * POST and a freshly opened source: distribution invalidates the session when the client disconnects
 * mid-request (the old `Location` answers 404 BLOB_UPLOAD_INVALID), and a stream cannot be rewound. A digest
 * mismatch is never retried.
 */








const DEFAULT_CHUNK_SIZE = 64 * 1024 * 1024;
const DEFAULT_UPLOAD_ATTEMPTS = 4;
function blobPath(repo, digest) {
    return `/v2/${repo.repository}/blobs/${digest}`;
}
/** `location` with `digest=<d>` appended, keeping its existing query byte for byte. */
function withDigestParam(location, digest) {
    const hash = location.indexOf('#');
    const base = hash >= 0 ? location.slice(0, hash) : location;
    const sep = base.includes('?') ? (base.endsWith('?') || base.endsWith('&') ? '' : '&') : '?';
    return `${base}${sep}digest=${encodeURIComponent(digest)}`;
}
/** HEAD a blob: its size when it exists, undefined when it does not. */
async function blobExists(t, repo, digest, ctx = {}) {
    const op = {
        registry: repo.registry,
        repository: repo.repository,
        operation: `HEAD blob ${(0,registry_digest/* shortDigest */.VK)(digest)}`,
    };
    const res = await t.send({
        ...op,
        method: 'HEAD',
        path: blobPath(repo, digest),
        scopes: [(0,scopes/* repositoryScope */.F7)(repo.repository, 'pull')],
        followRedirects: true,
    }, ctx);
    await res.dump();
    if (res.status === 404)
        return undefined;
    if (res.status !== 200)
        throw await t.failure(res, op);
    const length = res.header('content-length');
    return length !== undefined && /^\d+$/.test(length) ? Number(length) : -1;
}
/** GET a blob as a stream (redirects followed). The caller verifies it (see {@link DigestVerifier}). */
async function openBlob(t, repo, digest, ctx = {}) {
    const op = {
        registry: repo.registry,
        repository: repo.repository,
        operation: `GET blob ${(0,registry_digest/* shortDigest */.VK)(digest)}`,
    };
    const res = await t.send({
        ...op,
        method: 'GET',
        path: blobPath(repo, digest),
        scopes: [(0,scopes/* repositoryScope */.F7)(repo.repository, 'pull')],
        followRedirects: true,
    }, ctx);
    if (res.status !== 200)
        throw await t.failure(res, op, `${(0,types/* repositoryPath */.S)(repo)}@${digest}`);
    const length = res.header('content-length');
    return {
        stream: res.body,
        ...(length !== undefined && /^\d+$/.test(length) ? { size: Number(length) } : {}),
    };
}
/** Tries to mount `digest` from `from` (a repository on the same registry) into `repo`. */
async function mountBlob(t, repo, digest, from, ctx = {}) {
    const op = {
        registry: repo.registry,
        repository: repo.repository,
        operation: `mount blob ${(0,registry_digest/* shortDigest */.VK)(digest)} from ${from}`,
    };
    let res;
    try {
        res = await t.send({
            ...op,
            method: 'POST',
            path: `/v2/${repo.repository}/blobs/uploads/?mount=${encodeURIComponent(digest)}&from=${encodeURIComponent(from)}`,
            scopes: [(0,scopes/* repositoryScope */.F7)(repo.repository, 'pull', 'push'), (0,scopes/* repositoryScope */.F7)(from, 'pull')],
            retryUnsafe: true,
        }, ctx);
    }
    catch (err) {
        // A token without pull on the source (Harbor, Docker Hub) ends as an auth/denied error: upload instead.
        if (err instanceof errors/* RegistryError */.gl && (err.kind === 'auth' || err.kind === 'denied')) {
            return { mounted: false, reason: err.message };
        }
        throw err;
    }
    await res.dump();
    if (res.status === 201)
        return { mounted: true };
    if (res.status === 202) {
        const location = res.header('location');
        return location
            ? {
                mounted: false,
                session: new URL(location, res.url).toString(),
                reason: 'the registry opened an upload instead',
            }
            : { mounted: false, reason: 'the registry opened an upload without a Location' };
    }
    if (res.status === 401 || res.status === 403 || res.status === 404 || res.status === 405) {
        return { mounted: false, reason: `mount answered HTTP ${res.status}` };
    }
    throw await t.failure(res, op);
}
/** POST a new upload session; returns its absolute `Location`. */
async function startUpload(t, repo, ctx = {}) {
    const op = { registry: repo.registry, repository: repo.repository, operation: 'start blob upload' };
    const res = await t.send({
        ...op,
        method: 'POST',
        path: `/v2/${repo.repository}/blobs/uploads/`,
        scopes: [(0,scopes/* repositoryScope */.F7)(repo.repository, 'pull', 'push')],
        retryUnsafe: true,
    }, ctx);
    if (res.status !== 202)
        throw await t.failure(res, op);
    await res.dump();
    const location = res.header('location');
    if (!location) {
        throw new errors/* RegistryError */.gl(`${(0,types/* repositoryPath */.S)(repo)}: the upload session has no Location`, {
            ...op,
            kind: 'protocol',
        });
    }
    return new URL(location, res.url).toString();
}
/** Reads a stream in exact-size pieces, each a stream of its own (for PATCH bodies). */
class ChunkReader {
    it;
    leftover;
    constructor(stream) {
        this.it = stream[Symbol.asyncIterator]();
    }
    take(n) {
        return external_node_stream_.Readable.from(this.pieces(n), { objectMode: false });
    }
    async *pieces(n) {
        let remaining = n;
        while (remaining > 0) {
            let chunk = this.leftover;
            this.leftover = undefined;
            if (!chunk) {
                const r = await this.it.next();
                if (r.done)
                    throw new Error('the blob ended before its declared size');
                chunk = r.value;
            }
            if (chunk.length > remaining) {
                this.leftover = chunk.subarray(remaining);
                chunk = chunk.subarray(0, remaining);
            }
            remaining -= chunk.length;
            yield chunk;
        }
    }
    /** Resolves once the source has ended (and its digest verified), rejects on extra bytes. */
    async end() {
        if (this.leftover && this.leftover.length > 0)
            throw new Error('the blob is larger than its declared size');
        const r = await this.it.next();
        if (!r.done)
            throw new Error('the blob is larger than its declared size');
    }
}
function isRetryable(err) {
    if (err instanceof src_errors/* CancelledError */.cc || err instanceof src_errors/* ConfigurationError */.j1)
        return false;
    if (err instanceof errors/* RegistryError */.gl) {
        if (err.kind === 'digest-mismatch')
            return false;
        if (err.retryable || err.kind === 'transport')
            return true;
        // A lost or invalidated session (distribution after a client disconnect).
        return err.hasCode('BLOB_UPLOAD_UNKNOWN') || err.hasCode('BLOB_UPLOAD_INVALID');
    }
    return false;
}
/**
 * Uploads one blob into `repo` (monolithic up to `chunkSize`, else chunked), verifying size and digest while
 * streaming, restarting from a new POST when an attempt fails for a reason worth retrying.
 */
async function uploadBlob(t, repo, blob, source, opts = {}) {
    const chunkSize = opts.chunkSize ?? DEFAULT_CHUNK_SIZE;
    const attempts = opts.attempts ?? DEFAULT_UPLOAD_ATTEMPTS;
    const policy = { ...http/* DEFAULT_RETRY */.vI, ...opts.retry };
    const ctx = { signal: opts.signal, stats: opts.stats };
    const target = (0,types/* repositoryPath */.S)(repo);
    const op = {
        registry: repo.registry,
        repository: repo.repository,
        operation: `upload blob ${(0,registry_digest/* shortDigest */.VK)(blob.digest)}`,
    };
    for (let attempt = 1;; attempt++) {
        let input;
        let verifier;
        try {
            let location = attempt === 1 && opts.session ? opts.session : await startUpload(t, repo, ctx);
            verifier = new registry_digest/* DigestVerifier */.Do(blob.digest, blob.size, opts.onBytes);
            input = typeof source === 'function' ? await source() : external_node_stream_.Readable.from([Buffer.from(source)]);
            const body = (0,external_node_stream_.pipeline)(input, verifier, () => undefined);
            if (blob.size <= chunkSize) {
                location = withDigestParam(location, blob.digest);
                const res = await t.send({
                    ...op,
                    method: 'PUT',
                    path: location,
                    scopes: [(0,scopes/* repositoryScope */.F7)(repo.repository, 'pull', 'push')],
                    headers: { 'content-type': 'application/octet-stream', 'content-length': String(blob.size) },
                    body,
                }, ctx);
                if (res.status !== 201 && res.status !== 204 && res.status !== 200)
                    throw await t.failure(res, op);
                await res.dump();
            }
            else {
                const reader = new ChunkReader(body);
                let offset = 0;
                while (offset < blob.size) {
                    const length = Math.min(chunkSize, blob.size - offset);
                    const end = offset + length - 1;
                    const res = await t.send({
                        ...op,
                        operation: `${op.operation} (bytes ${offset}-${end})`,
                        method: 'PATCH',
                        path: location,
                        scopes: [(0,scopes/* repositoryScope */.F7)(repo.repository, 'pull', 'push')],
                        headers: {
                            'content-type': 'application/octet-stream',
                            'content-length': String(length),
                            'content-range': `${offset}-${end}`,
                        },
                        body: reader.take(length),
                    }, ctx);
                    if (res.status !== 202)
                        throw await t.failure(res, op);
                    await res.dump();
                    const range = res.header('range');
                    if (range !== undefined && !new RegExp(`^(bytes=)?0-${end}$`).test(range.trim())) {
                        throw new errors/* RegistryError */.gl(`${target}: after bytes ${offset}-${end} the registry reports Range ${range}`, {
                            ...op,
                            kind: 'protocol',
                            retryable: true,
                        });
                    }
                    const next = res.header('location');
                    if (next)
                        location = new URL(next, res.url).toString();
                    offset += length;
                }
                await reader.end();
                const res = await t.send({
                    ...op,
                    operation: `${op.operation} (commit)`,
                    method: 'PUT',
                    path: withDigestParam(location, blob.digest),
                    scopes: [(0,scopes/* repositoryScope */.F7)(repo.repository, 'pull', 'push')],
                    headers: { 'content-length': '0' },
                }, ctx);
                if (res.status !== 201 && res.status !== 204 && res.status !== 200)
                    throw await t.failure(res, op);
                await res.dump();
            }
            return { digest: blob.digest, size: blob.size, attempts: attempt };
        }
        catch (raw) {
            input?.destroy();
            verifier?.destroy();
            if (raw instanceof src_errors/* CancelledError */.cc || opts.signal?.aborted)
                throw raw;
            const err = raw instanceof errors/* RegistryError */.gl || raw instanceof src_errors/* ConfigurationError */.j1 ? raw : t.transportError(raw, op);
            if (!isRetryable(err) || attempt >= attempts)
                throw err;
            const wait = err instanceof errors/* RegistryError */.gl && err.retryAfterMs !== undefined
                ? Math.min(err.retryAfterMs, policy.maxRetryAfterMs)
                : (0,http/* backoffDelay */.EY)(attempt - 1, policy);
            t.logger.info(`${target}: upload of ${(0,registry_digest/* shortDigest */.VK)(blob.digest)} failed (${err.message}); restarting (attempt ${attempt + 1}/${attempts}) in ${wait}ms`);
            await (0,sleep/* sleep */.y)(wait, opts.signal);
        }
    }
}

// EXTERNAL MODULE: ./packages/core/src/registry/docker-config.ts
var docker_config = __webpack_require__(8040);
;// CONCATENATED MODULE: ./packages/core/src/registry/credentials.ts

function reportSecrets(creds, onSecret) {
    if (!onSecret)
        return;
    for (const secret of [creds.password, creds.identityToken, creds.registryToken])
        if (secret)
            onSecret(secret);
    if (creds.username && creds.password) {
        onSecret(Buffer.from(`${creds.username}:${creds.password}`).toString('base64'));
    }
}
function fromExplicit(explicit, registry) {
    if (!explicit)
        return undefined;
    const wanted = (0,docker_config/* normaliseRegistryKey */.jV)(registry);
    for (const [key, value] of Object.entries(explicit)) {
        if ((0,docker_config/* normaliseRegistryKey */.jV)(key) !== wanted)
            continue;
        if (!value.password && !value.identityToken && !value.registryToken)
            continue;
        return { ...value, source: value.source ?? 'explicit' };
    }
    return undefined;
}
/** The CI system's credentials for `registry`, when it is the CI system's registry. */
function ciCredentials(registry, env) {
    const wanted = (0,docker_config/* normaliseRegistryKey */.jV)(registry);
    if (env.CI_REGISTRY && (0,docker_config/* normaliseRegistryKey */.jV)(env.CI_REGISTRY) === wanted) {
        if (env.CI_REGISTRY_USER && env.CI_REGISTRY_PASSWORD) {
            return {
                username: env.CI_REGISTRY_USER,
                password: env.CI_REGISTRY_PASSWORD,
                source: 'CI_REGISTRY_PASSWORD',
            };
        }
        if (env.CI_JOB_TOKEN)
            return { username: 'gitlab-ci-token', password: env.CI_JOB_TOKEN, source: 'CI_JOB_TOKEN' };
    }
    if (env.CI_DEPENDENCY_PROXY_SERVER &&
        (0,docker_config/* normaliseRegistryKey */.jV)(env.CI_DEPENDENCY_PROXY_SERVER) === wanted &&
        env.CI_DEPENDENCY_PROXY_USER &&
        env.CI_DEPENDENCY_PROXY_PASSWORD) {
        return {
            username: env.CI_DEPENDENCY_PROXY_USER,
            password: env.CI_DEPENDENCY_PROXY_PASSWORD,
            source: 'CI_DEPENDENCY_PROXY_PASSWORD',
        };
    }
    if (wanted === 'ghcr.io' && env.GITHUB_TOKEN) {
        return {
            username: env.GITHUB_ACTOR || 'x-access-token',
            password: env.GITHUB_TOKEN,
            source: 'GITHUB_TOKEN',
        };
    }
    return undefined;
}
/**
 * Credentials for `registry` from the first source that has some (see the module comment), or undefined for
 * anonymous access. Every secret found goes to `onSecret`.
 */
async function resolveCredentials(registry, opts = {}) {
    const env = opts.env ?? process.env;
    let found = fromExplicit(opts.explicit, registry);
    if (!found && !opts.ignoreDockerConfig) {
        const config = await (0,docker_config/* readDockerConfig */.TO)((0,docker_config/* dockerConfigDir */.kG)(env, opts.dockerConfigDir));
        if (config) {
            found = await (0,docker_config/* dockerConfigCredentials */.D)(config, registry, {
                env,
                signal: opts.signal,
                logger: opts.logger,
            });
        }
    }
    found ??= ciCredentials(registry, env);
    if (found) {
        reportSecrets(found, opts.onSecret);
        const who = found.username
            ? `user ${found.username}`
            : found.identityToken
                ? 'an identity token'
                : 'a token';
        opts.logger?.debug(`registry ${registry}: ${who} from ${found.source}`);
    }
    else {
        opts.logger?.debug(`registry ${registry}: no credentials found; anonymous`);
    }
    return found;
}
/** Resolves credentials lazily, once per registry (also when asked concurrently). */
class CredentialStore {
    opts;
    cache = new Map();
    constructor(opts = {}) {
        this.opts = opts;
    }
    /** Credentials for `registry` (memoised). */
    get = (registry) => {
        const key = (0,docker_config/* normaliseRegistryKey */.jV)(registry);
        let p = this.cache.get(key);
        if (!p) {
            p = resolveCredentials(registry, this.opts);
            this.cache.set(key, p);
            // A failed lookup (e.g. a helper that timed out) may be retried by a later call.
            p.catch(() => this.cache.delete(key));
        }
        return p;
    };
    /** Forget what was found (e.g. after a login). */
    clear() {
        this.cache.clear();
    }
}

;// CONCATENATED MODULE: ./packages/core/src/registry/limiter.ts
function createLimiter(limit) {
    if (!Number.isInteger(limit) || limit < 1)
        throw new RangeError(`concurrency must be a positive integer, got ${limit}`);
    let running = 0;
    const queue = [];
    const next = () => {
        if (running >= limit)
            return;
        const start = queue.shift();
        if (start) {
            running++;
            start();
        }
    };
    return (task) => new Promise((resolve, reject) => {
        queue.push(() => {
            task()
                .then(resolve, reject)
                .finally(() => {
                running--;
                next();
            });
        });
        next();
    });
}

// EXTERNAL MODULE: ./packages/core/src/registry/manifest.ts
var registry_manifest = __webpack_require__(8372);
// EXTERNAL MODULE: ./packages/core/src/registry/progress.ts
var progress = __webpack_require__(6226);
// EXTERNAL MODULE: ./packages/core/src/registry/referrers.ts
var referrers = __webpack_require__(6937);
;// CONCATENATED MODULE: ./packages/core/src/registry/transport.ts
/**
 * One authorised request to a registry: where to send it (scheme, API host), how to authorise it, how to
 * follow redirects, and how to turn a failure into a {@link RegistryError} naming the registry, repository
 * and operation. Every request goes through core's {@link httpRequest} (timeouts, retries on 429/5xx and
 * resets honouring Retry-After, proxies).
 *
 * Scheme (decided per registry, remembered for the client's lifetime):
 * - https with TLS verification, by default;
 * - a registry listed in `insecureRegistries` (`host:port`, or `host` for any port): https without TLS
 *   verification, and plain http when the TLS handshake fails (what docker does for insecure registries);
 * - a loopback registry (`localhost`, 127.0.0.0/8, `[::1]`, any port) not listed: plain http directly, since
 *   traffic that never leaves the machine gains nothing from TLS and test and CI-service registries there are
 *   nearly always plain. If it turns out to speak TLS (a Go server answers a plain request with
 *   `400 Client sent an HTTP request to an HTTPS server`), Kiln switches to verified https; a loopback registry
 *   with a self-signed certificate must be listed as insecure.
 *
 * `docker.io` is reached at its API host `registry-1.docker.io` ({@link registryApiHost}).
 *
 * Redirects (blob downloads are often redirected to object storage) are followed by hand for GET and HEAD:
 * the `Authorization` header is only ever sent to the registry's own origin, and so are upload `Location`s on
 * another origin (they are pre-signed).
 */





const REDIRECTS = new Set([301, 302, 303, 307, 308]);
const GO_TLS_ONLY = 'Client sent an HTTP request to an HTTPS server';
const MAX_AUTH_ROUNDS = 3;
const MAX_REDIRECTS = 5;
function isStreamBody(body) {
    return typeof body === 'object' && body !== null && typeof body.pipe === 'function';
}
function isTlsFailure(err) {
    const e = err;
    const code = e.cause?.code ?? e.code ?? '';
    const message = `${e.message ?? ''} ${e.cause?.message ?? ''}`;
    return (code === 'EPROTO' ||
        code.startsWith('ERR_SSL') ||
        code.startsWith('ERR_TLS') ||
        /wrong version number|SSL routines|TLS/i.test(message));
}
/** URLs in a message without their query (upload URLs carry long `_state` tokens). */
function shortenUrls(message) {
    return message.replace(/(https?:\/\/[^\s?#]+)[?#]\S*?(?=:?(?:\s|$))/g, '$1');
}
/** A response whose body was already read into `text`. */
function withText(res, text) {
    return {
        ...res,
        text: async () => text,
        json: async () => JSON.parse(text),
        buffer: async () => Buffer.from(text),
        dump: async () => undefined,
    };
}
class RegistryTransport {
    opts;
    endpoints = new Map();
    insecure;
    constructor(opts) {
        this.opts = opts;
        this.insecure = new Set((opts.insecureRegistries ?? []).map(docker_config/* normaliseRegistryKey */.jV));
    }
    get logger() {
        return this.opts.logger;
    }
    get auth() {
        return this.opts.auth;
    }
    /** True when `host` (`host[:port]`) is listed as insecure, by exact name or host without port. */
    isInsecureHost(host) {
        const h = (0,docker_config/* normaliseRegistryKey */.jV)(host);
        if (this.insecure.has(h))
            return true;
        const bare = h.startsWith('[') ? h.slice(0, h.indexOf(']') + 1) : h.replace(/:\d+$/, '');
        return this.insecure.has(bare);
    }
    endpoint(registry) {
        let ep = this.endpoints.get(registry);
        if (!ep) {
            const host = (0,reference/* registryApiHost */.Mb)(registry);
            if (this.isInsecureHost(registry) || this.isInsecureHost(host)) {
                ep = { scheme: 'https', insecure: true, fallback: 'http', host };
            }
            else if ((0,reference/* isLoopbackRegistry */.jW)(registry)) {
                ep = { scheme: 'http', insecure: false, fallback: 'https', host };
            }
            else {
                ep = { scheme: 'https', insecure: false, host };
            }
            this.endpoints.set(registry, ep);
        }
        return ep;
    }
    /** `https://registry-1.docker.io` etc.: where `/v2/…` paths of `registry` go. */
    baseUrl(registry) {
        const ep = this.endpoint(registry);
        return `${ep.scheme}://${ep.host}`;
    }
    signal(ctx) {
        const signals = [this.opts.signal, ctx.signal].filter((s) => s !== undefined);
        if (signals.length <= 1)
            return signals[0];
        return AbortSignal.any(signals);
    }
    /**
     * Sends one request, authorising it (and answering one or more challenges), following redirects when asked.
     * Returns the final response whatever its status (use {@link RegistryTransport.failure} for errors); throws a
     * {@link RegistryError} for transport failures and authentication failures, {@link CancelledError} on abort.
     */
    async send(req, ctx = {}) {
        const ep = this.endpoint(req.registry);
        const signal = this.signal(ctx);
        const authCtx = { signal, stats: ctx.stats };
        const replayable = !isStreamBody(req.body);
        let url = new URL(req.path, this.baseUrl(req.registry));
        let authRounds = 0;
        let redirects = 0;
        let switched = false;
        for (;;) {
            const origin = `${ep.scheme}://${ep.host}`;
            const sameOrigin = url.origin === new URL(origin).origin;
            const authorization = sameOrigin
                ? await this.opts.auth.authorize(req.registry, req.scopes, authCtx)
                : { scheme: 'none', fresh: false };
            let res;
            const started = Date.now();
            try {
                res = await (0,http/* httpRequest */.aj)(url, {
                    method: req.method,
                    headers: { ...req.headers, authorization: authorization.header },
                    body: req.body,
                    timeoutMs: req.timeoutMs ?? this.opts.timeoutMs,
                    retry: this.opts.retry,
                    retryUnsafe: req.retryUnsafe,
                    signal,
                    logger: this.opts.logger,
                    insecure: sameOrigin ? ep.insecure : this.isInsecureHost(url.host),
                    env: this.opts.env,
                });
            }
            catch (err) {
                if (ctx.stats)
                    ctx.stats.requests += err instanceof http/* HttpError */.j$ ? err.attempts : 1;
                if (err instanceof src_errors/* CancelledError */.cc || signal?.aborted)
                    throw err;
                if (sameOrigin && ep.fallback === 'http' && !switched && isTlsFailure(err)) {
                    this.opts.logger.debug(`${req.registry}: TLS handshake failed; using plain http (listed as insecure)`);
                    ep.scheme = 'http';
                    ep.fallback = undefined;
                    switched = true;
                    url = this.rebase(url, ep);
                    continue;
                }
                throw this.transportError(err, req);
            }
            if (ctx.stats)
                ctx.stats.requests += res.attempts;
            // An answer on the chosen scheme settles it (a TLS-only server answers plain http with 400 only).
            if (sameOrigin && ep.fallback !== undefined && !(ep.fallback === 'https' && res.status === 400)) {
                ep.fallback = undefined;
            }
            this.opts.logger.debug(`${req.method} ${url.host}${url.pathname} → ${res.status}${res.attempts > 1 ? ` after ${res.attempts} attempts` : ''} (${Date.now() - started}ms)`);
            if (res.status === 400 && sameOrigin && ep.scheme === 'http' && ep.fallback === 'https' && !switched) {
                const text = await res.text().catch(() => '');
                if (text.includes(GO_TLS_ONLY)) {
                    this.opts.logger.debug(`${req.registry}: the registry speaks TLS; using https`);
                    ep.scheme = 'https';
                    ep.fallback = undefined;
                    switched = true;
                    url = this.rebase(url, ep);
                    continue;
                }
                return withText(res, text);
            }
            if (res.status === 401 && sameOrigin) {
                const challenge = res.header('www-authenticate');
                await res.dump();
                const outcome = authRounds < MAX_AUTH_ROUNDS
                    ? await this.opts.auth.onChallenge(req.registry, challenge, req.scopes, authorization)
                    : {
                        retry: false,
                        kind: 'auth',
                        message: `authentication failed for ${req.registry} (${await this.opts.auth.who(req.registry)})`,
                    };
                if (!outcome.retry) {
                    throw new errors/* RegistryError */.gl(`${outcome.message} [${req.operation}]`, {
                        kind: outcome.kind,
                        registry: req.registry,
                        repository: req.repository,
                        operation: req.operation,
                        status: 401,
                    });
                }
                if (!replayable) {
                    // The stream was consumed: the caller restarts the whole operation, now with credentials.
                    throw new errors/* RegistryError */.gl(`${req.registry} asked to authenticate again during ${req.operation}`, {
                        kind: 'auth',
                        registry: req.registry,
                        repository: req.repository,
                        operation: req.operation,
                        status: 401,
                        retryable: true,
                    });
                }
                authRounds++;
                continue;
            }
            if (req.followRedirects && REDIRECTS.has(res.status)) {
                const location = res.header('location');
                await res.dump();
                if (!location || ++redirects > MAX_REDIRECTS) {
                    throw new errors/* RegistryError */.gl(`${req.operation} on ${req.registry}: ${location ? 'too many redirects' : `HTTP ${res.status} without a Location`}`, {
                        kind: 'protocol',
                        registry: req.registry,
                        repository: req.repository,
                        operation: req.operation,
                    });
                }
                url = new URL(location, url);
                continue;
            }
            return res;
        }
    }
    rebase(url, ep) {
        const next = new URL(url);
        next.protocol = `${ep.scheme}:`;
        return next;
    }
    /** A RegistryError for a failed exchange (network), with the digest-mismatch cause surfaced. */
    transportError(err, req) {
        if (err instanceof errors/* RegistryError */.gl || err instanceof src_errors/* CancelledError */.cc)
            return err;
        // A source that refused its own content (e.g. a local image whose blob does not match) is the user's to fix.
        const config = (0,errors/* findCause */.lO)(err, src_errors/* ConfigurationError */.j1);
        if (config)
            return config;
        const mismatch = (0,errors/* findCause */.lO)(err, errors/* DigestMismatchError */.h);
        if (mismatch) {
            const where = req.repository ? `${req.registry}/${req.repository}` : req.registry;
            return new errors/* RegistryError */.gl(`${req.operation} to ${where}: ${mismatch.message}`, {
                kind: 'digest-mismatch',
                registry: req.registry,
                repository: req.repository,
                operation: req.operation,
                cause: mismatch,
            });
        }
        const where = req.repository ? `${req.registry}/${req.repository}` : req.registry;
        let message = shortenUrls(err instanceof Error ? err.message : String(err));
        if (isTlsFailure(err) && !this.isInsecureHost(req.registry)) {
            message += ` (if ${req.registry} uses a self-signed certificate, list it in insecure registries)`;
        }
        return new errors/* RegistryError */.gl(`${req.operation} on ${where} failed: ${message}`, {
            kind: 'transport',
            registry: req.registry,
            repository: req.repository,
            operation: req.operation,
            retryable: true,
            cause: err,
        });
    }
    /**
     * A RegistryError for an unexpected status (reads the body for the registry's error codes). `notFound`
     * names the thing for a 404 ('127.0.0.1:5000/app:1 not found').
     */
    async failure(res, req, notFound) {
        const text = res.status === 0 ? '' : await res.text().catch(() => '');
        const codes = (0,errors/* parseErrorBody */.kW)(text);
        const detail = (0,errors/* describeErrorBody */.ut)(codes, text);
        const where = req.repository ? `${req.registry}/${req.repository}` : req.registry;
        const base = {
            registry: req.registry,
            repository: req.repository,
            operation: req.operation,
            status: res.status,
            codes,
        };
        if (res.status === 404 && notFound) {
            return new errors/* RegistryError */.gl(`${notFound} not found${detail ? ` (${detail})` : ''}`, {
                ...base,
                kind: 'not-found',
            });
        }
        if (res.status === 401) {
            const who = await this.opts.auth.who(req.registry);
            return new errors/* RegistryError */.gl(`authentication failed for ${req.registry} (${who}) [${req.operation}]`, {
                ...base,
                kind: 'auth',
            });
        }
        if (res.status === 403) {
            const who = await this.opts.auth.who(req.registry);
            return new errors/* RegistryError */.gl(`denied: ${req.operation} on ${where} (${who})${detail ? `: ${detail}` : ''}`, {
                ...base,
                kind: 'denied',
            });
        }
        const retryAfterMs = (0,http/* parseRetryAfter */.mu)(res.header('retry-after'));
        return new errors/* RegistryError */.gl(`${req.operation} on ${where} failed: HTTP ${res.status}${detail ? ` ${detail}` : ''}`, {
            ...base,
            kind: res.status === 404 ? 'not-found' : 'http',
            retryable: res.status === 429 || res.status >= 500 || res.status === 408,
            retryAfterMs,
        });
    }
}

;// CONCATENATED MODULE: ./packages/core/src/registry/client.ts










class RegistryClient {
    logger;
    transport;
    auth;
    /** Limits concurrent blob transfers (shared by every copy made with this client). */
    /** Transfers (blob uploads and downloads, manifest writes): `concurrency` at a time. */
    limit;
    /**
     * Cheap metadata requests (blob HEADs, mounts): no bytes move, so they go wider than transfers; one round
     * trip covers every blob of an ordinary image instead of several waves.
     */
    limitMeta;
    signal;
    opts;
    constructor(opts) {
        this.opts = opts;
        this.logger = opts.logger;
        this.signal = opts.signal;
        const credentials = opts.credentials ??
            new CredentialStore({
                explicit: opts.explicitCredentials,
                dockerConfigDir: opts.dockerConfigDir,
                env: opts.env,
                onSecret: opts.onSecret,
                logger: opts.logger,
                signal: opts.signal,
            }).get;
        this.transport = new RegistryTransport({
            logger: opts.logger,
            insecureRegistries: opts.insecureRegistries,
            env: opts.env,
            timeoutMs: opts.timeoutMs,
            retry: opts.retry,
            signal: opts.signal,
            auth: (this.auth = new Authenticator({
                credentials,
                logger: opts.logger,
                onSecret: opts.onSecret,
                isInsecureHost: (host) => this.transport.isInsecureHost(host),
                env: opts.env,
                timeoutMs: opts.timeoutMs,
                retry: opts.retry,
                now: opts.now,
            })),
        });
        this.limit = createLimiter(opts.concurrency ?? 4);
        this.limitMeta = createLimiter(Math.max(16, opts.concurrency ?? 4));
    }
    /** Options this client was made with (read-only view). */
    get options() {
        return this.opts;
    }
    /**
     * Scopes every token for `registry` should carry (e.g. `repository:dst:pull,push` and `repository:src:pull`
     * for a promote), so one token request serves a whole operation.
     */
    declareScopes(registry, scopes) {
        this.auth.declareScopes(registry, scopes);
    }
    /** GET a manifest by tag or digest: the exact bytes, verified against every digest known. */
    getManifest(repo, reference, ctx) {
        return (0,registry_manifest/* getManifest */.c2)(this.transport, repo, reference, ctx);
    }
    /** GET the manifest an image reference names (by digest when it has one, else its tag, else 'latest'). */
    resolve(ref, ctx) {
        return (0,registry_manifest/* getManifest */.c2)(this.transport, ref, ref.digest ?? ref.tag ?? 'latest', ctx);
    }
    /** HEAD a manifest: digest, media type and size; undefined when absent. */
    headManifest(repo, reference, ctx) {
        return (0,registry_manifest/* headManifest */.sy)(this.transport, repo, reference, ctx);
    }
    /** PUT exact manifest bytes under a tag or digest (Content-Type = its media type); returns the digest. */
    putManifest(repo, reference, manifest, ctx) {
        return (0,registry_manifest/* putManifest */.RV)(this.transport, repo, reference, manifest, ctx);
    }
    /** Size of a blob when it exists (-1 when the registry sent no length), undefined when absent. */
    blobExists(repo, digest, ctx) {
        return blobExists(this.transport, repo, digest, ctx);
    }
    /** A blob's content as a stream (not verified: pipe it through a `DigestVerifier`). */
    openBlob(repo, digest, ctx) {
        return openBlob(this.transport, repo, digest, ctx);
    }
    /** Mounts a blob from another repository of the same registry. */
    mountBlob(repo, digest, from, ctx) {
        return mountBlob(this.transport, repo, digest, from, ctx);
    }
    /**
     * Uploads a blob (monolithic, or chunked above `chunkSize`), streamed and verified, restarting failed
     * attempts. `session` is an upload already opened by a mount answered 202.
     */
    uploadBlob(repo, blob, source, ctx = {}) {
        const report = (0,progress/* progressReporter */.x)((0,types/* repositoryPath */.S)(repo), blob.digest, blob.size, {
            logger: this.logger,
            onProgress: this.opts.onProgress,
            intervalMs: this.opts.progressIntervalMs ?? 10_000,
        });
        return uploadBlob(this.transport, repo, blob, source, {
            ...ctx,
            chunkSize: this.opts.chunkSize ?? DEFAULT_CHUNK_SIZE,
            attempts: this.opts.uploadAttempts ?? DEFAULT_UPLOAD_ATTEMPTS,
            retry: this.opts.retry,
            onBytes: report,
        });
    }
    /**
     * Streams a blob from `src` into `dst` (any registries): the source GET is piped into the destination's
     * upload, verified on the way; every restart re-opens the source.
     */
    copyBlob(src, dst, blob, ctx = {}) {
        return this.uploadBlob(dst, blob, async () => (await this.openBlob(src, blob.digest, { signal: ctx.signal, stats: ctx.stats })).stream, ctx).catch((err) => {
            const mismatch = (0,errors/* findCause */.lO)(err, errors/* DigestMismatchError */.h);
            if (err instanceof errors/* RegistryError */.gl && err.kind === 'digest-mismatch' && mismatch) {
                throw new errors/* RegistryError */.gl(`${(0,types/* repositoryPath */.S)(src)}@${blob.digest} served content that does not match its digest (${mismatch.message}); nothing was written to ${(0,types/* repositoryPath */.S)(dst)}`, {
                    kind: 'digest-mismatch',
                    registry: src.registry,
                    repository: src.repository,
                    operation: err.operation,
                    cause: err,
                });
            }
            throw err;
        });
    }
    /** Referrers of a manifest: the referrers API, else the `sha256-<hex>` tag. */
    listReferrers(repo, digest, ctx) {
        return (0,referrers/* listReferrers */.x)(this.transport, repo, digest, ctx);
    }
}


/***/ }),

/***/ 5035:
/***/ ((__unused_webpack_module, __webpack_exports__, __webpack_require__) => {


// EXPORTS
__webpack_require__.d(__webpack_exports__, {
  k6: () => (/* binding */ CopyError),
  QM: () => (/* binding */ CopyRefusedError),
  L1: () => (/* binding */ copyImage),
  wl: () => (/* binding */ localImageSource),
  GH: () => (/* binding */ pushImage),
  Bf: () => (/* binding */ registrySource)
});

// EXTERNAL MODULE: ./packages/core/src/errors.ts
var errors = __webpack_require__(7638);
// EXTERNAL MODULE: ./packages/core/src/image/reference.ts
var reference = __webpack_require__(6314);
// EXTERNAL MODULE: ./packages/core/src/registry/client.ts + 6 modules
var client = __webpack_require__(9621);
// EXTERNAL MODULE: ./packages/core/src/registry/digest.ts
var registry_digest = __webpack_require__(7761);
// EXTERNAL MODULE: ./packages/core/src/registry/errors.ts
var registry_errors = __webpack_require__(9630);
// EXTERNAL MODULE: ./packages/core/src/registry/manifest.ts
var registry_manifest = __webpack_require__(8372);
// EXTERNAL MODULE: ./packages/core/src/registry/media-types.ts
var media_types = __webpack_require__(2969);
// EXTERNAL MODULE: ./packages/core/src/registry/progress.ts
var progress = __webpack_require__(6226);
// EXTERNAL MODULE: ./packages/core/src/registry/referrers.ts
var referrers = __webpack_require__(6937);
// EXTERNAL MODULE: ./packages/core/src/registry/scopes.ts
var scopes = __webpack_require__(4676);
;// CONCATENATED MODULE: ./packages/core/src/registry/tree.ts

/** Fetches manifest trees, each manifest once. */
class ImageTreeLoader {
    fetchManifest;
    trees = new Map();
    fetched = new Map();
    constructor(fetchManifest) {
        this.fetchManifest = fetchManifest;
    }
    /** The tree below a manifest already fetched. */
    load(manifest, descriptor) {
        let p = this.trees.get(manifest.digest);
        if (!p) {
            p = (async () => {
                const parsed = manifest.parsed;
                const children = parsed.kind === 'index'
                    ? await Promise.all(parsed.manifests.map((d) => this.loadDescriptor(d)))
                    : [];
                return { manifest, children, blobs: (0,registry_manifest/* manifestBlobs */.q2)(parsed), ...(descriptor ? { descriptor } : {}) };
            })();
            this.trees.set(manifest.digest, p);
        }
        return p;
    }
    /** Fetches the manifest a descriptor names (by digest) and the tree below it. */
    async loadDescriptor(descriptor) {
        return this.load(await this.fetch(descriptor.digest), descriptor);
    }
    fetch(digest) {
        let p = this.fetched.get(digest);
        if (!p) {
            p = this.fetchManifest(digest);
            this.fetched.set(digest, p);
        }
        return p;
    }
}
/** The whole tree of the image `reference` (tag or digest) names in `repo`. */
async function loadImageTree(client, repo, reference, ctx = {}) {
    const loader = new ImageTreeLoader((digest) => client.limit(() => client.getManifest(repo, digest, ctx)));
    return loader.load(await client.getManifest(repo, reference, ctx));
}
/** Every image manifest in a tree with its platform ('linux/amd64'; 'unknown' for a single image). */
function imagesOf(node) {
    if (node.manifest.parsed.kind === 'image') {
        const p = node.descriptor?.platform;
        return [
            {
                platform: platformString(p),
                ...(p ? { imagePlatform: p } : {}),
                digest: node.manifest.digest,
                blobs: node.blobs,
            },
        ];
    }
    return node.children.flatMap(imagesOf);
}

// EXTERNAL MODULE: ./packages/core/src/registry/types.ts
var types = __webpack_require__(224);
;// CONCATENATED MODULE: ./packages/core/src/registry/copy.ts












/** A copy refused before anything was written: the source moved, or a destination holds another image. */
class CopyRefusedError extends errors/* ConfigurationError */.j1 {
    reason;
    ref;
    name = 'CopyRefusedError';
    constructor(message, reason, ref) {
        super(message);
        this.reason = reason;
        this.ref = ref;
    }
}
/** Some destinations failed; `results` holds what was done at the others. */
class CopyError extends Error {
    failures;
    results;
    name = 'CopyError';
    constructor(message, failures, results) {
        super(message, { cause: failures[0]?.error });
        this.failures = failures;
        this.results = results;
    }
}
/** An image in a registry repository, read through `client`. */
function registrySource(client, ref) {
    const repo = { registry: ref.registry, repository: ref.repository };
    return {
        display: (0,reference/* formatReference */.FH)(ref),
        repository: repo,
        resolve: (ctx) => client.resolve(ref, ctx),
        manifest: (digest, ctx) => client.limit(() => client.getManifest(repo, digest, ctx)),
        openBlob: async (blob, ctx) => (await client.openBlob(repo, blob.digest, ctx)).stream,
        listReferrers: (digest, ctx) => client.listReferrers(repo, digest, ctx),
    };
}
function localManifest(where, bytes, mediaType, digest) {
    if ((0,registry_digest/* isVerifiableDigest */.Mr)(digest) && (0,registry_digest/* digestLike */.kG)(bytes, digest) !== digest) {
        throw new errors/* ConfigurationError */.j1(`${where}: manifest ${digest} does not match its content`);
    }
    let parsed;
    try {
        parsed = (0,registry_manifest/* parseManifest */.Ng)(bytes, mediaType);
    }
    catch (err) {
        throw new errors/* ConfigurationError */.j1(`${where}: ${(0,errors/* errorMessage */.gJ)(err)}`);
    }
    return { bytes, digest, mediaType: parsed.mediaType, size: bytes.length, parsed };
}
/** An image read from local files (see {@link LocalImage}), for push-registry. */
function localImageSource(image) {
    const display = image.describe();
    return {
        display,
        resolve: async () => {
            const m = await image.rootManifest();
            return localManifest(display, m.bytes, m.mediaType, m.digest);
        },
        manifest: async (digest) => {
            const m = await image.manifest(digest);
            return localManifest(display, m.bytes, m.mediaType, digest);
        },
        openBlob: async (blob) => (await image.openBlob(blob.digest)).stream,
    };
}
function memo(map, key, make) {
    let p = map.get(key);
    if (!p) {
        p = make();
        map.set(key, p);
    }
    return p;
}
/** Runs `fn` on every item, waits for all, and throws the first error only once all have settled. */
async function copy_all(items, fn) {
    const settled = await Promise.allSettled(items.map(fn));
    const failed = settled.find((s) => s.status === 'rejected');
    if (failed)
        throw failed.reason;
}
function clientFor(opts) {
    if (opts.client)
        return opts.client;
    if (!opts.logger)
        throw new TypeError('copyImage/pushImage need a client or a logger');
    return new client/* RegistryClient */.b({ ...opts.clientOptions, logger: opts.logger });
}
/**
 * Promote: copies the image `src` names to every destination in `dsts` (see the module comment). Returns what
 * was done per destination; throws {@link CopyRefusedError} for refusals, {@link RegistryError} or
 * {@link CopyError} for failures (with several destinations, a CopyError lists each).
 */
async function copyImage(src, dsts, opts = {}) {
    const client = clientFor(opts);
    return pushImage(registrySource(client, src), dsts, { ...opts, client });
}
/** Pushes the image of any {@link ImageContentSource} to every destination (see the module comment). */
async function pushImage(source, dsts, opts = {}) {
    const client = clientFor(opts);
    const log = client.logger;
    const ctxBase = { signal: opts.signal };
    if (dsts.length === 0)
        throw new errors/* ConfigurationError */.j1('nothing to copy to: no destination was given');
    if (opts.expectedDigest !== undefined && !(0,reference/* isDigest */.Bc)(opts.expectedDigest)) {
        throw new errors/* ConfigurationError */.j1(`the expected digest '${opts.expectedDigest}' is not a digest (sha256:<64 hex>)`);
    }
    const from = source.repository;
    // One token per registry for the whole copy: push scopes of the destinations, pull of the source.
    for (const dst of dsts) {
        client.declareScopes(dst.registry, [(0,scopes/* repositoryScope */.F7)(dst.repository, 'pull', 'push')]);
        if (from && dst.registry === from.registry) {
            client.declareScopes(dst.registry, [(0,scopes/* repositoryScope */.F7)(from.repository, 'pull')]);
        }
    }
    if (from)
        client.declareScopes(from.registry, [(0,scopes/* repositoryScope */.F7)(from.repository, 'pull')]);
    // 1. Resolve the source. The HEADs of tagged destinations (step 2) do not depend on it: they start now, in
    // the same round trip.
    const srcStats = { requests: 0 };
    const srcCtx = { ...ctxBase, stats: srcStats };
    const dstStats = dsts.map(() => ({ requests: 0 }));
    const earlyHeads = dsts.map((dst, i) => {
        if (dst.tag === undefined)
            return undefined;
        const head = client.headManifest(dst, dst.tag, { ...ctxBase, stats: dstStats[i] });
        head.catch(() => undefined); // awaited in step 2; a failure there, not an unhandled rejection here
        return head;
    });
    const root = await source.resolve(srcCtx);
    if (opts.expectedDigest !== undefined && root.digest !== opts.expectedDigest) {
        throw new CopyRefusedError(`refusing to copy ${source.display}: it now resolves to ${root.digest}, not the expected ${opts.expectedDigest} (the source moved)`, 'source-moved', source.display);
    }
    const platforms = root.parsed.kind === 'index' ? root.parsed.manifests.map((d) => (0,registry_manifest/* platformString */.Fd)(d.platform)) : [];
    log.info(`${source.display} is ${root.digest} (${root.parsed.kind === 'index' ? `index of ${platforms.join(', ')}` : 'single image'})`);
    // The manifest tree below the root, fetched once and only if some destination needs it.
    const tree = new ImageTreeLoader((digest) => source.manifest(digest, srcCtx));
    const jobs = dsts.map((dst, i) => {
        if (dst.digest !== undefined && dst.digest !== root.digest) {
            throw new CopyRefusedError(`destination ${(0,reference/* formatReference */.FH)(dst)} names digest ${dst.digest}, but ${source.display} is ${root.digest}`, 'digest-conflict', (0,reference/* formatReference */.FH)(dst));
        }
        const display = `${(0,types/* repositoryPath */.S)(dst)}${dst.tag !== undefined ? `:${dst.tag}` : `@${root.digest}`}`;
        const sameRegistry = from !== undefined && from.registry === dst.registry;
        return {
            dst,
            display,
            reference: dst.tag ?? root.digest,
            sameRepository: sameRegistry && from.repository === dst.repository,
            ...(sameRegistry ? { mountFrom: from.repository } : {}),
            stats: dstStats[i],
            earlyHead: earlyHeads[i],
            skip: false,
            result: {
                ref: display,
                digest: root.digest,
                action: opts.dryRun ? 'would-push' : 'pushed',
                blobsMounted: 0,
                blobsUploaded: 0,
                bytesUploaded: 0,
                blobsSkipped: 0,
                manifestsPushed: 0,
                requests: 0,
            },
        };
    });
    // 2. Inspect every destination before writing anything.
    const refusals = [];
    await copy_all(jobs, async (job) => {
        const ctx = { ...ctxBase, stats: job.stats };
        const head = await (job.earlyHead ?? client.headManifest(job.dst, job.reference, ctx));
        let current = head?.digest;
        if (head && current === undefined)
            current = (await client.getManifest(job.dst, job.reference, ctx)).digest;
        if (current === root.digest) {
            job.result.action = 'unchanged';
            job.skip = true;
        }
        else if (current !== undefined) {
            if (!opts.allowOverwrite) {
                refusals.push(new CopyRefusedError(`refusing to overwrite ${job.display}: it holds ${current}, not ${root.digest} (allow overwriting to replace it)`, 'tag-exists', job.display));
            }
            job.result.previousDigest = current;
        }
    });
    if (refusals.length === 1)
        throw refusals[0];
    if (refusals.length > 1) {
        throw new CopyRefusedError(refusals.map((r) => r.message).join('; '), 'tag-exists', refusals[0].ref);
    }
    // 3. Content, once per destination repository.
    const contents = new Map();
    const contentFailures = [];
    await Promise.all(jobs
        .filter((j) => !j.skip && !j.sameRepository)
        .map((job) => memo(contents, (0,types/* repositoryPath */.S)(job.dst), async () => copyNode(client, source, job, await tree.load(root), true, new Map(), opts)).catch((err) => {
        contentFailures.push({ ref: job.display, error: err });
    })));
    if (contentFailures.length > 0)
        throw failure(contentFailures, jobs, 'no tag was changed');
    // 4. Tags last.
    const tagFailures = [];
    await Promise.all(jobs
        .filter((j) => !j.skip && !opts.dryRun)
        .map(async (job) => {
        try {
            const ctx = { ...ctxBase, stats: job.stats };
            const put = await client.putManifest(job.dst, job.reference, root, ctx);
            job.result.manifestsPushed++;
            const stored = put.registryDigest ?? (await client.headManifest(job.dst, job.reference, ctx))?.digest;
            if (stored !== undefined && stored !== root.digest) {
                throw new registry_errors/* RegistryError */.gl(`${job.display} now holds ${stored}, expected ${root.digest}`, {
                    kind: 'digest-mismatch',
                    registry: job.dst.registry,
                    repository: job.dst.repository,
                    operation: `PUT manifest ${job.display}`,
                });
            }
        }
        catch (err) {
            tagFailures.push({ ref: job.display, error: err });
        }
    }));
    if (tagFailures.length > 0)
        throw failure(tagFailures, jobs, 'other destinations were updated');
    // 5. Referrers, best effort.
    if (opts.referrers)
        await copyReferrers(client, source, root, jobs, tree, srcCtx, opts, log);
    for (const job of jobs) {
        job.result.requests = job.stats.requests;
        const r = job.result;
        log.info(`${r.ref}: ${r.action} ${(0,registry_digest/* shortDigest */.VK)(r.digest)} (${r.blobsMounted} mounted, ${r.blobsUploaded} uploaded ${(0,progress/* formatBytes */.z)(r.bytesUploaded)}, ${r.blobsSkipped} present; ${r.requests} requests)`);
    }
    const destinations = jobs.map((j) => j.result);
    return {
        source: {
            ref: source.display,
            digest: root.digest,
            mediaType: root.mediaType,
            platforms,
            requests: srcStats.requests,
        },
        destinations,
        requests: srcStats.requests + destinations.reduce((n, d) => n + d.requests, 0),
    };
}
function failure(failures, jobs, consequence) {
    if (jobs.length === 1 && failures.length === 1)
        return failures[0].error;
    for (const job of jobs)
        job.result.requests = job.stats.requests;
    const list = failures.map((f) => `${f.ref}: ${(0,errors/* errorMessage */.gJ)(f.error)}`).join('; ');
    return new CopyError(`copy failed for ${failures.length} of ${jobs.length} destinations (${consequence}): ${list}`, failures, jobs.filter((j) => !failures.some((f) => f.ref === j.display)).map((j) => j.result));
}
/**
 * Copies one manifest's content into the job's repository: for an index its children first (each PUT by
 * digest), for an image its blobs; then the manifest itself by digest unless it is the root (tagged later).
 */
async function copyNode(client, source, job, node, isRoot, done, opts) {
    return memo(done, `manifest ${node.manifest.digest}`, async () => {
        if (node.manifest.parsed.kind === 'index') {
            await copy_all(node.children, (child) => copyNode(client, source, job, child, false, done, opts));
        }
        else {
            await copy_all(node.blobs, (blob) => memo(done, `blob ${blob.digest}`, () => ensureBlob(client, source, job, blob, opts)));
        }
        if (!isRoot && !opts.dryRun) {
            const ctx = { signal: opts.signal, stats: job.stats };
            await client.limit(() => client.putManifest(job.dst, node.manifest.digest, node.manifest, ctx));
            job.result.manifestsPushed++;
        }
    });
}
/** Makes one blob present in the job's repository: mount, skip, or stream it. */
async function ensureBlob(client, source, job, blob, opts) {
    const ctx = { signal: opts.signal, stats: job.stats };
    const r = job.result;
    const upload = async (session) => {
        if (!opts.dryRun) {
            await client
                .limit(() => client.uploadBlob(job.dst, blob, () => source.openBlob(blob, ctx), {
                ...ctx,
                ...(session ? { session } : {}),
            }))
                .catch((err) => {
                const mismatch = (0,registry_errors/* findCause */.lO)(err, registry_errors/* DigestMismatchError */.h);
                if (!(err instanceof registry_errors/* RegistryError */.gl && err.kind === 'digest-mismatch' && mismatch))
                    throw err;
                const what = source.repository
                    ? `${(0,types/* repositoryPath */.S)(source.repository)}@${blob.digest}`
                    : `${source.display} (blob ${blob.digest})`;
                throw new registry_errors/* RegistryError */.gl(`${what} served content that does not match its digest (${mismatch.message}); nothing was written to ${(0,types/* repositoryPath */.S)(job.dst)}`, {
                    kind: 'digest-mismatch',
                    registry: job.dst.registry,
                    repository: job.dst.repository,
                    operation: err.operation,
                    cause: err,
                });
            });
        }
        r.blobsUploaded++;
        r.bytesUploaded += blob.size;
    };
    if (job.mountFrom !== undefined) {
        if (opts.dryRun) {
            r.blobsMounted++;
            return;
        }
        const mount = await client.limitMeta(() => client.mountBlob(job.dst, blob.digest, job.mountFrom, ctx));
        if (mount.mounted) {
            r.blobsMounted++;
            return;
        }
        client.logger.debug(`${job.display}: ${(0,registry_digest/* shortDigest */.VK)(blob.digest)} not mounted (${mount.reason}); uploading`);
        if (mount.session)
            return upload(mount.session);
    }
    const size = await client.limitMeta(() => client.blobExists(job.dst, blob.digest, ctx));
    if (size !== undefined) {
        r.blobsSkipped++;
        return;
    }
    await upload();
}
/** Copies the referrers of the root to every destination that got (or already had) the image. */
async function copyReferrers(client, source, root, jobs, tree, srcCtx, opts, log) {
    if (!source.listReferrers) {
        log.warning(`referrers of ${source.display} cannot be listed (not a registry source); skipped`);
        return;
    }
    let listing;
    try {
        listing = await source.listReferrers(root.digest, srcCtx);
    }
    catch (err) {
        log.warning(`referrers of ${source.display} could not be listed: ${(0,errors/* errorMessage */.gJ)(err)}`);
        return;
    }
    for (const job of jobs) {
        if (opts.dryRun || job.sameRepository) {
            job.result.referrers = { copied: 0, via: listing.via };
            continue;
        }
        try {
            const done = new Map();
            for (const d of listing.descriptors) {
                await copyNode(client, source, job, await tree.loadDescriptor(d), false, done, opts);
            }
            if (listing.descriptors.length > 0) {
                // Keep the fallback tag up to date where the destination has no referrers API.
                const jobCtx = { signal: opts.signal, stats: job.stats };
                const there = await client.listReferrers(job.dst, root.digest, jobCtx);
                if (there.via !== 'api') {
                    const known = new Set(there.descriptors.map((d) => d.digest));
                    const missing = listing.descriptors.filter((d) => !known.has(d.digest));
                    if (missing.length > 0) {
                        const bytes = Buffer.from(JSON.stringify({
                            schemaVersion: 2,
                            mediaType: media_types/* OCI_INDEX */.$p,
                            manifests: [...there.descriptors, ...missing],
                        }));
                        await client.putManifest(job.dst, (0,referrers/* referrersTag */.L)(root.digest), { bytes, mediaType: media_types/* OCI_INDEX */.$p }, jobCtx);
                        job.result.manifestsPushed++;
                    }
                }
            }
            job.result.referrers = { copied: listing.descriptors.length, via: listing.via };
        }
        catch (err) {
            log.warning(`${job.display}: referrers of ${(0,registry_digest/* shortDigest */.VK)(root.digest)} were not copied: ${(0,errors/* errorMessage */.gJ)(err)}`);
        }
    }
}


/***/ }),

/***/ 7761:
/***/ ((__unused_webpack_module, __webpack_exports__, __webpack_require__) => {

/* harmony export */ __webpack_require__.d(__webpack_exports__, {
/* harmony export */   Do: () => (/* binding */ DigestVerifier),
/* harmony export */   Mr: () => (/* binding */ isVerifiableDigest),
/* harmony export */   VK: () => (/* binding */ shortDigest),
/* harmony export */   kG: () => (/* binding */ digestLike)
/* harmony export */ });
/* unused harmony exports digestAlgorithm, computeDigest */
/* harmony import */ var node_crypto__WEBPACK_IMPORTED_MODULE_0__ = __webpack_require__(7598);
/* harmony import */ var node_crypto__WEBPACK_IMPORTED_MODULE_0___default = /*#__PURE__*/__webpack_require__.n(node_crypto__WEBPACK_IMPORTED_MODULE_0__);
/* harmony import */ var node_stream__WEBPACK_IMPORTED_MODULE_1__ = __webpack_require__(7075);
/* harmony import */ var node_stream__WEBPACK_IMPORTED_MODULE_1___default = /*#__PURE__*/__webpack_require__.n(node_stream__WEBPACK_IMPORTED_MODULE_1__);
/* harmony import */ var _errors_js__WEBPACK_IMPORTED_MODULE_2__ = __webpack_require__(9630);
/**
 * Content digests: computing them for buffers and verifying them on streams as bytes go by.
 *
 * A registry addresses content by `algorithm:hex`. Kiln verifies everything it moves: manifests against the
 * computed hash, the `Docker-Content-Digest` header and the digest that was asked for; blobs while they stream
 * from one registry into another, through {@link DigestVerifier}, which holds back the last chunk until the
 * hash is known, so a corrupted blob never reaches the destination in full (the upload is aborted instead).
 */



/** Algorithms Kiln can verify, with their node:crypto names and hex lengths. */
const ALGORITHMS = {
    sha256: { hash: 'sha256', hexLength: 64 },
    sha384: { hash: 'sha384', hexLength: 96 },
    sha512: { hash: 'sha512', hexLength: 128 },
};
/** The algorithm of `algo:hex`, when Kiln can verify it. */
function digestAlgorithm(digest) {
    const algorithm = digest.slice(0, digest.indexOf(':'));
    return Object.hasOwn(ALGORITHMS, algorithm) ? algorithm : undefined;
}
/** True for `sha256:<64 hex>` (and sha384/sha512 with their lengths), lower-case. */
function isVerifiableDigest(digest) {
    const algorithm = digestAlgorithm(digest);
    if (!algorithm)
        return false;
    const hex = digest.slice(algorithm.length + 1);
    return hex.length === ALGORITHMS[algorithm].hexLength && /^[a-f0-9]+$/.test(hex);
}
function newHash(algorithm) {
    const a = ALGORITHMS[algorithm];
    if (!a)
        throw new Error(`unsupported digest algorithm '${algorithm}'`);
    return (0,node_crypto__WEBPACK_IMPORTED_MODULE_0__.createHash)(a.hash);
}
/** `algorithm:hex` of `data` (sha256 by default). */
function computeDigest(data, algorithm = 'sha256') {
    return `${algorithm}:${newHash(algorithm).update(data).digest('hex')}`;
}
/** `algorithm:hex` of `data`, hashed with the same algorithm as `like` (sha256 when unknown). */
function digestLike(data, like) {
    return computeDigest(data, (like && digestAlgorithm(like)) || 'sha256');
}
/** Shortens a digest for log lines: `sha256:0123456789ab`. */
function shortDigest(digest) {
    const colon = digest.indexOf(':');
    return colon < 0 ? digest : digest.slice(0, colon + 13);
}
/**
 * A pass-through stream that hashes and counts what flows through it and fails when the content does not
 * match `digest` (and `size`, when given). The last chunk is held back until the end is verified, so a
 * consumer (an upload) never receives the complete, wrong content: it gets an error before the final bytes.
 * Too many bytes fail at once, without waiting for the end.
 */
class DigestVerifier extends node_stream__WEBPACK_IMPORTED_MODULE_1__.Transform {
    digest;
    size;
    onBytes;
    hash;
    pending;
    /** Bytes seen so far. */
    bytes = 0;
    constructor(digest, size, onBytes) {
        super();
        this.digest = digest;
        this.size = size;
        this.onBytes = onBytes;
        const algorithm = digestAlgorithm(digest);
        if (!algorithm)
            throw new _errors_js__WEBPACK_IMPORTED_MODULE_2__/* .DigestMismatchError */ .h(`cannot verify digest '${digest}'`, digest, undefined);
        this.hash = newHash(algorithm);
    }
    _transform(chunk, _encoding, callback) {
        this.bytes += chunk.length;
        if (this.size !== undefined && this.bytes > this.size) {
            callback(new _errors_js__WEBPACK_IMPORTED_MODULE_2__/* .DigestMismatchError */ .h(`content of ${shortDigest(this.digest)} is larger than its declared size ${this.size}`, this.digest, undefined));
            return;
        }
        this.hash.update(chunk);
        const previous = this.pending;
        this.pending = chunk;
        this.onBytes?.(this.bytes);
        if (previous)
            this.push(previous);
        callback();
    }
    _flush(callback) {
        const algorithm = this.digest.slice(0, this.digest.indexOf(':'));
        const actual = `${algorithm}:${this.hash.digest('hex')}`;
        if (this.size !== undefined && this.bytes !== this.size) {
            callback(new _errors_js__WEBPACK_IMPORTED_MODULE_2__/* .DigestMismatchError */ .h(`content of ${shortDigest(this.digest)} has ${this.bytes} bytes, expected ${this.size}`, this.digest, actual));
            return;
        }
        if (actual !== this.digest) {
            callback(new _errors_js__WEBPACK_IMPORTED_MODULE_2__/* .DigestMismatchError */ .h(`content does not match its digest: expected ${this.digest}, got ${actual}`, this.digest, actual));
            return;
        }
        if (this.pending)
            this.push(this.pending);
        this.pending = undefined;
        callback();
    }
}


/***/ }),

/***/ 8040:
/***/ ((__unused_webpack_module, __webpack_exports__, __webpack_require__) => {

/* harmony export */ __webpack_require__.d(__webpack_exports__, {
/* harmony export */   D: () => (/* binding */ dockerConfigCredentials),
/* harmony export */   TO: () => (/* binding */ readDockerConfig),
/* harmony export */   jV: () => (/* binding */ normaliseRegistryKey),
/* harmony export */   kG: () => (/* binding */ dockerConfigDir)
/* harmony export */ });
/* unused harmony exports DOCKER_HUB_SERVER_URL, credentialsFromAuthEntry, helperServerUrl, runCredentialHelper */
/* harmony import */ var node_fs_promises__WEBPACK_IMPORTED_MODULE_0__ = __webpack_require__(1455);
/* harmony import */ var node_fs_promises__WEBPACK_IMPORTED_MODULE_0___default = /*#__PURE__*/__webpack_require__.n(node_fs_promises__WEBPACK_IMPORTED_MODULE_0__);
/* harmony import */ var node_os__WEBPACK_IMPORTED_MODULE_1__ = __webpack_require__(8161);
/* harmony import */ var node_os__WEBPACK_IMPORTED_MODULE_1___default = /*#__PURE__*/__webpack_require__.n(node_os__WEBPACK_IMPORTED_MODULE_1__);
/* harmony import */ var node_path__WEBPACK_IMPORTED_MODULE_2__ = __webpack_require__(6760);
/* harmony import */ var node_path__WEBPACK_IMPORTED_MODULE_2___default = /*#__PURE__*/__webpack_require__.n(node_path__WEBPACK_IMPORTED_MODULE_2__);
/* harmony import */ var _errors_js__WEBPACK_IMPORTED_MODULE_3__ = __webpack_require__(7638);
/* harmony import */ var _exec_exec_js__WEBPACK_IMPORTED_MODULE_4__ = __webpack_require__(8534);
/**
 * Docker's credential configuration: `$DOCKER_CONFIG/config.json` (default `~/.docker/config.json`), read the
 * way the docker CLI reads it.
 *
 * - `credHelpers: { "<registry>": "<name>" }` sends one registry to `docker-credential-<name>`;
 * - `credsStore: "<name>"` sends every registry to that helper;
 * - `auths: { "<key>": { auth | username+password | identitytoken | registrytoken } }` holds them inline
 *   (`auth` is base64 of `user:password`). An empty entry (`{}`) is what docker writes when a store holds the
 *   secret.
 *
 * Keys are normalised before matching: the scheme and any path are dropped, the host is lower-cased, and Docker
 * Hub's names (`https://index.docker.io/v1/`, `index.docker.io`, `registry-1.docker.io`, `docker.io`) are one.
 * A helper is run with an argument array (never a shell): `docker-credential-<name> get`, the server URL on
 * stdin, `{"ServerURL","Username","Secret"}` on stdout; the user name `<token>` means the secret is an identity
 * token (an OAuth2 refresh token), as docker defines it.
 */





const DOCKER_HUB_KEYS = new Set(['docker.io', 'index.docker.io', 'registry-1.docker.io']);
/** The server URL docker uses for Docker Hub in config keys and helper queries. */
const DOCKER_HUB_SERVER_URL = 'https://index.docker.io/v1/';
/**
 * A config key or registry name as a comparable host: scheme and path dropped, lower-cased, Docker Hub folded
 * to `docker.io`. `https://index.docker.io/v1/` → `docker.io`; `HTTP://Reg.Example:5000/x` → `reg.example:5000`.
 */
function normaliseRegistryKey(key) {
    let k = key.trim().replace(/^[A-Za-z][A-Za-z0-9+.-]*:\/\//, '');
    const slash = k.indexOf('/');
    if (slash >= 0)
        k = k.slice(0, slash);
    k = k.toLowerCase();
    return DOCKER_HUB_KEYS.has(k) ? 'docker.io' : k;
}
/** The directory of config.json: `dir`, else `$DOCKER_CONFIG`, else `~/.docker`. */
function dockerConfigDir(env = process.env, dir) {
    if (dir)
        return dir;
    if (env.DOCKER_CONFIG)
        return env.DOCKER_CONFIG;
    return (0,node_path__WEBPACK_IMPORTED_MODULE_2__.join)(env.HOME || (0,node_os__WEBPACK_IMPORTED_MODULE_1__.homedir)(), '.docker');
}
/** Reads config.json from `dir`; undefined when it does not exist. A malformed file is a ConfigurationError. */
async function readDockerConfig(dir) {
    const path = (0,node_path__WEBPACK_IMPORTED_MODULE_2__.join)(dir, 'config.json');
    let text;
    try {
        text = await (0,node_fs_promises__WEBPACK_IMPORTED_MODULE_0__.readFile)(path, 'utf8');
    }
    catch (err) {
        const code = err.code;
        if (code === 'ENOENT' || code === 'ENOTDIR')
            return undefined;
        throw new _errors_js__WEBPACK_IMPORTED_MODULE_3__/* .ConfigurationError */ .j1(`cannot read the docker config ${path}: ${err.message}`);
    }
    let raw;
    try {
        raw = JSON.parse(text);
    }
    catch {
        // The parser's message could quote part of the file (secrets): say only where it is broken.
        throw new _errors_js__WEBPACK_IMPORTED_MODULE_3__/* .ConfigurationError */ .j1(`the docker config ${path} is not valid JSON`);
    }
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
        throw new _errors_js__WEBPACK_IMPORTED_MODULE_3__/* .ConfigurationError */ .j1(`the docker config ${path} is not a JSON object`);
    }
    const obj = raw;
    const auths = {};
    if (typeof obj.auths === 'object' && obj.auths !== null) {
        for (const [key, value] of Object.entries(obj.auths)) {
            if (typeof value !== 'object' || value === null)
                continue;
            const v = value;
            const entry = {};
            for (const field of ['auth', 'username', 'password', 'identitytoken', 'registrytoken']) {
                if (typeof v[field] === 'string' && v[field] !== '')
                    entry[field] = v[field];
            }
            auths[key] = entry;
        }
    }
    const credHelpers = {};
    if (typeof obj.credHelpers === 'object' && obj.credHelpers !== null) {
        for (const [key, value] of Object.entries(obj.credHelpers)) {
            if (typeof value === 'string' && value !== '')
                credHelpers[key] = value;
        }
    }
    const credsStore = typeof obj.credsStore === 'string' && obj.credsStore !== '' ? obj.credsStore : undefined;
    return { path, auths, credHelpers, ...(credsStore ? { credsStore } : {}) };
}
/** The entry of `map` for `registry`: an exact key first, then any key that normalises to the same host. */
function findEntry(map, registry) {
    const wanted = normaliseRegistryKey(registry);
    if (Object.hasOwn(map, registry))
        return [registry, map[registry]];
    for (const [key, value] of Object.entries(map))
        if (normaliseRegistryKey(key) === wanted)
            return [key, value];
    return undefined;
}
/** Credentials from an `auths` entry, or undefined when it holds none (e.g. `{}` next to a credsStore). */
function credentialsFromAuthEntry(entry, where) {
    let username = entry.username;
    let password = entry.password;
    if (entry.auth) {
        const decoded = Buffer.from(entry.auth, 'base64').toString('utf8');
        const colon = decoded.indexOf(':');
        if (colon < 0) {
            throw new _errors_js__WEBPACK_IMPORTED_MODULE_3__/* .ConfigurationError */ .j1(`${where}: 'auth' is not base64 of 'user:password'`);
        }
        username = decoded.slice(0, colon);
        password = decoded.slice(colon + 1);
    }
    const creds = {};
    if (username)
        creds.username = username;
    if (password)
        creds.password = password;
    if (entry.identitytoken)
        creds.identityToken = entry.identitytoken;
    if (entry.registrytoken)
        creds.registryToken = entry.registrytoken;
    return creds.password || creds.identityToken || creds.registryToken ? creds : undefined;
}
/** What a helper is asked for: Docker Hub's historical server URL, else the registry host. */
function helperServerUrl(registry) {
    return normaliseRegistryKey(registry) === 'docker.io' ? DOCKER_HUB_SERVER_URL : registry;
}
/**
 * Runs `docker-credential-<helper> get` for `registry`. Undefined when the helper has nothing for it
 * ("credentials not found"); a missing helper program or another failure is a ConfigurationError.
 */
async function runCredentialHelper(helper, registry, opts = {}) {
    if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(helper)) {
        throw new _errors_js__WEBPACK_IMPORTED_MODULE_3__/* .ConfigurationError */ .j1(`invalid credential helper name '${helper}' in the docker config`);
    }
    const program = `docker-credential-${helper}`;
    const serverUrl = helperServerUrl(registry);
    let result;
    try {
        result = await (0,_exec_exec_js__WEBPACK_IMPORTED_MODULE_4__/* .exec */ .m0)(program, ['get'], {
            input: serverUrl,
            env: opts.env,
            signal: opts.signal,
            timeoutMs: opts.timeoutMs ?? 30_000,
            allowFailure: true,
            maxCapture: 1024 * 1024,
        });
    }
    catch (err) {
        if (err instanceof _exec_exec_js__WEBPACK_IMPORTED_MODULE_4__/* .ExecError */ .cI) {
            throw new _errors_js__WEBPACK_IMPORTED_MODULE_3__/* .ConfigurationError */ .j1(`credential helper ${program} failed for ${registry}: ${err.message}`);
        }
        if (err instanceof _errors_js__WEBPACK_IMPORTED_MODULE_3__/* .ConfigurationError */ .j1) {
            throw new _errors_js__WEBPACK_IMPORTED_MODULE_3__/* .ConfigurationError */ .j1(`the docker config names credential helper '${helper}' for ${registry}, but '${program}' is not on PATH`);
        }
        throw err;
    }
    if (result.exitCode !== 0) {
        const said = `${result.stdout}\n${result.stderr}`;
        if (/credentials not found/i.test(said))
            return undefined;
        const tail = result.stderr.trim().split('\n').slice(-2).join(' ').slice(0, 300);
        throw new _errors_js__WEBPACK_IMPORTED_MODULE_3__/* .ConfigurationError */ .j1(`credential helper ${program} failed for ${registry} (exit ${result.exitCode ?? result.signal})${tail ? `: ${tail}` : ''}`);
    }
    let parsed;
    try {
        parsed = JSON.parse(result.stdout);
    }
    catch {
        throw new _errors_js__WEBPACK_IMPORTED_MODULE_3__/* .ConfigurationError */ .j1(`credential helper ${program} printed something that is not JSON`);
    }
    const username = typeof parsed.Username === 'string' ? parsed.Username : '';
    const secret = typeof parsed.Secret === 'string' ? parsed.Secret : '';
    if (!secret)
        return undefined;
    opts.logger?.debug(`credentials for ${registry} from ${program}`);
    if (username === '<token>')
        return { identityToken: secret, source: program };
    return { ...(username ? { username } : {}), password: secret, source: program };
}
/**
 * Credentials for `registry` from a docker config, in docker's order: `credHelpers[registry]`, then
 * `credsStore`, then the inline `auths` entry. Undefined when none of them has any.
 */
async function dockerConfigCredentials(config, registry, opts = {}) {
    const helper = findEntry(config.credHelpers, registry);
    if (helper) {
        const found = await runCredentialHelper(helper[1], registry, opts);
        if (found)
            return found;
    }
    else if (config.credsStore) {
        const found = await runCredentialHelper(config.credsStore, registry, opts);
        if (found)
            return found;
    }
    const entry = findEntry(config.auths, registry);
    if (!entry)
        return undefined;
    const creds = credentialsFromAuthEntry(entry[1], `${config.path} (auths["${entry[0]}"])`);
    return creds ? { ...creds, source: config.path } : undefined;
}


/***/ }),

/***/ 9630:
/***/ ((__unused_webpack_module, __webpack_exports__, __webpack_require__) => {

/* harmony export */ __webpack_require__.d(__webpack_exports__, {
/* harmony export */   gl: () => (/* binding */ RegistryError),
/* harmony export */   h: () => (/* binding */ DigestMismatchError),
/* harmony export */   kW: () => (/* binding */ parseErrorBody),
/* harmony export */   lO: () => (/* binding */ findCause),
/* harmony export */   ut: () => (/* binding */ describeErrorBody)
/* harmony export */ });
/**
 * Registry failures, with the registry, repository and operation in every message.
 *
 * The distribution spec puts machine-readable error codes in the body of every 4xx/5xx:
 * `{"errors":[{"code":"MANIFEST_UNKNOWN","message":"…","detail":…}]}`. {@link RegistryError} keeps them
 * (`codes`) next to the HTTP status, so callers branch on `MANIFEST_UNKNOWN`, `BLOB_UPLOAD_INVALID`,
 * `DENIED`… rather than on text. Messages never contain credentials or tokens: only the user name.
 */
/** A failed registry operation. */
class RegistryError extends Error {
    name = 'RegistryError';
    kind;
    registry;
    repository;
    operation;
    status;
    codes;
    retryable;
    retryAfterMs;
    constructor(message, init) {
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
    hasCode(code) {
        return this.codes.some((c) => c.code === code);
    }
}
/** Content that does not hash to the digest it was asked for (or has the wrong size). */
class DigestMismatchError extends Error {
    expected;
    actual;
    name = 'DigestMismatchError';
    constructor(message, expected, actual) {
        super(message);
        this.expected = expected;
        this.actual = actual;
    }
}
/** Reads `{errors:[{code,message,detail}]}` from a body; returns [] for anything else. */
function parseErrorBody(text) {
    if (!text)
        return [];
    try {
        const body = JSON.parse(text);
        if (!Array.isArray(body.errors))
            return [];
        return body.errors
            .filter((e) => typeof e === 'object' && e !== null)
            .filter((e) => typeof e.code === 'string')
            .map((e) => ({
            code: e.code,
            ...(typeof e.message === 'string' ? { message: e.message } : {}),
            ...(e.detail !== undefined ? { detail: e.detail } : {}),
        }));
    }
    catch {
        return [];
    }
}
/** `CODE: message; CODE2: message2`, or the start of a non-JSON body, for error messages. */
function describeErrorBody(codes, text) {
    if (codes.length > 0) {
        return codes.map((c) => (c.message ? `${c.code}: ${c.message}` : c.code)).join('; ');
    }
    const plain = text.replace(/\s+/g, ' ').trim();
    return plain.length > 200 ? `${plain.slice(0, 200)}…` : plain;
}
/** Finds the first error of `type` in an error's `cause` chain (undici and the http layer wrap errors). */
function findCause(err, type) {
    const seen = new Set();
    let current = err;
    while (current !== undefined && current !== null && !seen.has(current)) {
        if (current instanceof type)
            return current;
        seen.add(current);
        current = current.cause;
    }
    return undefined;
}


/***/ }),

/***/ 8372:
/***/ ((__unused_webpack_module, __webpack_exports__, __webpack_require__) => {

/* harmony export */ __webpack_require__.d(__webpack_exports__, {
/* harmony export */   Fd: () => (/* binding */ platformString),
/* harmony export */   Ng: () => (/* binding */ parseManifest),
/* harmony export */   RV: () => (/* binding */ putManifest),
/* harmony export */   c2: () => (/* binding */ getManifest),
/* harmony export */   q2: () => (/* binding */ manifestBlobs),
/* harmony export */   sy: () => (/* binding */ headManifest)
/* harmony export */ });
/* unused harmony export MAX_MANIFEST_BYTES */
/* harmony import */ var _errors_js__WEBPACK_IMPORTED_MODULE_0__ = __webpack_require__(7638);
/* harmony import */ var _digest_js__WEBPACK_IMPORTED_MODULE_5__ = __webpack_require__(7761);
/* harmony import */ var _errors_js__WEBPACK_IMPORTED_MODULE_4__ = __webpack_require__(9630);
/* harmony import */ var _media_types_js__WEBPACK_IMPORTED_MODULE_1__ = __webpack_require__(2969);
/* harmony import */ var _scopes_js__WEBPACK_IMPORTED_MODULE_3__ = __webpack_require__(4676);
/* harmony import */ var _types_js__WEBPACK_IMPORTED_MODULE_2__ = __webpack_require__(224);
/**
 * Manifests: GET, HEAD and PUT, parsing, and walking an index.
 *
 * Manifests are handled as the exact bytes the registry served: the digest is the hash of those bytes, so
 * they are never re-serialised. A GET is verified three ways: the computed hash must equal the
 * `Docker-Content-Digest` header (when the registry sends one), and, when fetched by digest, the digest that
 * was asked for. A PUT sends `Content-Type` = the manifest's media type and the same bytes, and checks the
 * digest the registry reports. The media type is the manifest's own `mediaType` field when it has one (OCI
 * makes it optional), else the response's `Content-Type`, else what the structure says (`manifests` → index).
 */






/** Registries must accept manifests up to 4 MiB (distribution-spec); Kiln refuses to buffer larger ones. */
const MAX_MANIFEST_BYTES = 4 * 1024 * 1024;
function isDescriptor(d) {
    const x = d;
    return (typeof x === 'object' &&
        x !== null &&
        typeof x.mediaType === 'string' &&
        typeof x.digest === 'string' &&
        typeof x.size === 'number');
}
/**
 * Parses manifest bytes. `contentType` is the response's `Content-Type`. Throws a ConfigurationError for
 * schema 1 and for anything that is not a manifest Kiln can copy.
 */
function parseManifest(bytes, contentType) {
    let json;
    try {
        json = JSON.parse(Buffer.from(bytes).toString('utf8'));
    }
    catch {
        throw new _errors_js__WEBPACK_IMPORTED_MODULE_0__/* .ConfigurationError */ .j1('the manifest is not valid JSON');
    }
    if (typeof json !== 'object' || json === null)
        throw new _errors_js__WEBPACK_IMPORTED_MODULE_0__/* .ConfigurationError */ .j1('the manifest is not a JSON object');
    const header = (0,_media_types_js__WEBPACK_IMPORTED_MODULE_1__/* .bareMediaType */ .ZX)(contentType);
    const declared = typeof json.mediaType === 'string' ? json.mediaType : undefined;
    if (json.schemaVersion === 1 || (0,_media_types_js__WEBPACK_IMPORTED_MODULE_1__/* .isSchema1MediaType */ .H)(declared) || ((0,_media_types_js__WEBPACK_IMPORTED_MODULE_1__/* .isSchema1MediaType */ .H)(header) && !declared)) {
        throw new _errors_js__WEBPACK_IMPORTED_MODULE_0__/* .ConfigurationError */ .j1('the image has a Docker schema 1 manifest, which cannot be copied digest-preserving; re-push it with a current client');
    }
    const subject = isDescriptor(json.subject) ? json.subject : undefined;
    const artifactType = typeof json.artifactType === 'string' ? json.artifactType : undefined;
    const extra = { ...(subject ? { subject } : {}), ...(artifactType ? { artifactType } : {}) };
    if (Array.isArray(json.manifests)) {
        const mediaType = declared ?? ((0,_media_types_js__WEBPACK_IMPORTED_MODULE_1__/* .isIndexMediaType */ .$$)(header) ? header : _media_types_js__WEBPACK_IMPORTED_MODULE_1__/* .OCI_INDEX */ .$p);
        if (!json.manifests.every(isDescriptor))
            throw new _errors_js__WEBPACK_IMPORTED_MODULE_0__/* .ConfigurationError */ .j1('the index has a malformed entry');
        return { kind: 'index', mediaType, manifests: json.manifests, ...extra };
    }
    if (isDescriptor(json.config) && Array.isArray(json.layers)) {
        const mediaType = declared ?? ((0,_media_types_js__WEBPACK_IMPORTED_MODULE_1__/* .isImageManifestMediaType */ .d6)(header) ? header : _media_types_js__WEBPACK_IMPORTED_MODULE_1__/* .OCI_MANIFEST */ .EG);
        if (!json.layers.every(isDescriptor))
            throw new _errors_js__WEBPACK_IMPORTED_MODULE_0__/* .ConfigurationError */ .j1('the manifest has a malformed layer');
        return { kind: 'image', mediaType, config: json.config, layers: json.layers, ...extra };
    }
    throw new _errors_js__WEBPACK_IMPORTED_MODULE_0__/* .ConfigurationError */ .j1(`unsupported manifest (media type ${declared ?? header ?? 'unknown'})`);
}
/** The blobs an image manifest references (config first), without non-distributable layers. */
function manifestBlobs(parsed) {
    if (parsed.kind !== 'image')
        return [];
    return [parsed.config, ...parsed.layers].filter((d) => !(0,_media_types_js__WEBPACK_IMPORTED_MODULE_1__/* .isNonDistributableMediaType */ .K4)(d.mediaType));
}
/** 'linux/arm64/v8'. */
function platformString(p) {
    if (!p)
        return 'unknown';
    return [p.os, p.architecture, p.variant].filter(Boolean).join('/');
}
function manifestPath(repo, reference) {
    return `/v2/${repo.repository}/manifests/${reference}`;
}
async function readLimited(res, limit) {
    const declared = Number(res.header('content-length') ?? '0');
    if (declared > limit) {
        await res.dump();
        throw new Error(`manifest of ${declared} bytes is larger than the ${limit} bytes Kiln accepts`);
    }
    const chunks = [];
    let total = 0;
    for await (const chunk of res.body) {
        total += chunk.length;
        if (total > limit) {
            res.body.destroy();
            throw new Error(`manifest is larger than the ${limit} bytes Kiln accepts`);
        }
        chunks.push(chunk);
    }
    return Buffer.concat(chunks);
}
/** GET a manifest by tag or digest; the exact bytes, verified. */
async function getManifest(t, repo, reference, ctx = {}) {
    const name = (0,_types_js__WEBPACK_IMPORTED_MODULE_2__/* .referenceString */ .v)(repo, reference);
    const op = { registry: repo.registry, repository: repo.repository, operation: `GET manifest ${name}` };
    const res = await t.send({
        ...op,
        method: 'GET',
        path: manifestPath(repo, reference),
        scopes: [(0,_scopes_js__WEBPACK_IMPORTED_MODULE_3__/* .repositoryScope */ .F7)(repo.repository, 'pull')],
        headers: { accept: _media_types_js__WEBPACK_IMPORTED_MODULE_1__/* .MANIFEST_ACCEPT */ .dY },
    }, ctx);
    if (res.status !== 200)
        throw await t.failure(res, op, name);
    let bytes;
    try {
        bytes = await readLimited(res, MAX_MANIFEST_BYTES);
    }
    catch (err) {
        throw t.transportError(err, op);
    }
    const headerDigest = res.header('docker-content-digest')?.trim();
    const byDigest = reference.includes(':');
    const mismatch = (message) => new _errors_js__WEBPACK_IMPORTED_MODULE_4__/* .RegistryError */ .gl(`${name}: ${message}`, { ...op, kind: 'digest-mismatch' });
    if (byDigest && (0,_digest_js__WEBPACK_IMPORTED_MODULE_5__/* .isVerifiableDigest */ .Mr)(reference) && (0,_digest_js__WEBPACK_IMPORTED_MODULE_5__/* .digestLike */ .kG)(bytes, reference) !== reference) {
        throw mismatch(`the registry served a manifest whose digest is ${(0,_digest_js__WEBPACK_IMPORTED_MODULE_5__/* .digestLike */ .kG)(bytes, reference)}`);
    }
    if (headerDigest && (0,_digest_js__WEBPACK_IMPORTED_MODULE_5__/* .isVerifiableDigest */ .Mr)(headerDigest) && (0,_digest_js__WEBPACK_IMPORTED_MODULE_5__/* .digestLike */ .kG)(bytes, headerDigest) !== headerDigest) {
        throw mismatch(`Docker-Content-Digest ${headerDigest} does not match the manifest served (${(0,_digest_js__WEBPACK_IMPORTED_MODULE_5__/* .digestLike */ .kG)(bytes, headerDigest)})`);
    }
    const digest = byDigest ? reference : (0,_digest_js__WEBPACK_IMPORTED_MODULE_5__/* .digestLike */ .kG)(bytes, headerDigest);
    let parsed;
    try {
        parsed = parseManifest(bytes, res.header('content-type'));
    }
    catch (err) {
        throw new _errors_js__WEBPACK_IMPORTED_MODULE_0__/* .ConfigurationError */ .j1(`${name}: ${err.message}`);
    }
    return { bytes, digest, mediaType: parsed.mediaType, size: bytes.length, parsed };
}
/** HEAD a manifest; undefined when it does not exist. */
async function headManifest(t, repo, reference, ctx = {}) {
    const name = (0,_types_js__WEBPACK_IMPORTED_MODULE_2__/* .referenceString */ .v)(repo, reference);
    const op = { registry: repo.registry, repository: repo.repository, operation: `HEAD manifest ${name}` };
    const res = await t.send({
        ...op,
        method: 'HEAD',
        path: manifestPath(repo, reference),
        scopes: [(0,_scopes_js__WEBPACK_IMPORTED_MODULE_3__/* .repositoryScope */ .F7)(repo.repository, 'pull')],
        headers: { accept: _media_types_js__WEBPACK_IMPORTED_MODULE_1__/* .MANIFEST_ACCEPT */ .dY },
    }, ctx);
    await res.dump();
    if (res.status === 404)
        return undefined;
    if (res.status !== 200)
        throw await t.failure(res, op, name);
    const digest = res.header('docker-content-digest')?.trim();
    const size = res.header('content-length');
    const head = {};
    if (digest)
        head.digest = digest;
    const mediaType = (0,_media_types_js__WEBPACK_IMPORTED_MODULE_1__/* .bareMediaType */ .ZX)(res.header('content-type'));
    if (mediaType)
        head.mediaType = mediaType;
    if (size !== undefined && /^\d+$/.test(size))
        head.size = Number(size);
    return head;
}
/** PUT the exact bytes under a tag or digest, `Content-Type` = `mediaType`. */
async function putManifest(t, repo, reference, manifest, ctx = {}) {
    const name = (0,_types_js__WEBPACK_IMPORTED_MODULE_2__/* .referenceString */ .v)(repo, reference);
    const op = { registry: repo.registry, repository: repo.repository, operation: `PUT manifest ${name}` };
    const bytes = Buffer.from(manifest.bytes);
    const res = await t.send({
        ...op,
        method: 'PUT',
        path: manifestPath(repo, reference),
        scopes: [(0,_scopes_js__WEBPACK_IMPORTED_MODULE_3__/* .repositoryScope */ .F7)(repo.repository, 'pull', 'push')],
        headers: { 'content-type': manifest.mediaType },
        body: bytes,
    }, ctx);
    if (res.status !== 201 && res.status !== 200 && res.status !== 202)
        throw await t.failure(res, op);
    await res.dump();
    const headerDigest = res.header('docker-content-digest')?.trim();
    const digest = (0,_digest_js__WEBPACK_IMPORTED_MODULE_5__/* .digestLike */ .kG)(bytes, reference.includes(':') ? reference : headerDigest);
    if (reference.includes(':') && (0,_digest_js__WEBPACK_IMPORTED_MODULE_5__/* .isVerifiableDigest */ .Mr)(reference) && digest !== reference) {
        throw new _errors_js__WEBPACK_IMPORTED_MODULE_4__/* .RegistryError */ .gl(`${name}: the manifest bytes hash to ${digest}, not to the digest they were pushed as`, {
            ...op,
            kind: 'digest-mismatch',
        });
    }
    if (headerDigest && (0,_digest_js__WEBPACK_IMPORTED_MODULE_5__/* .isVerifiableDigest */ .Mr)(headerDigest) && headerDigest !== (0,_digest_js__WEBPACK_IMPORTED_MODULE_5__/* .digestLike */ .kG)(bytes, headerDigest)) {
        throw new _errors_js__WEBPACK_IMPORTED_MODULE_4__/* .RegistryError */ .gl(`${name}: the registry stored the manifest as ${headerDigest}, expected ${(0,_digest_js__WEBPACK_IMPORTED_MODULE_5__/* .digestLike */ .kG)(bytes, headerDigest)}`, { ...op, kind: 'digest-mismatch' });
    }
    const subject = res.header('oci-subject')?.trim();
    return {
        digest,
        ...(headerDigest ? { registryDigest: headerDigest } : {}),
        ...(subject ? { subject } : {}),
    };
}


/***/ }),

/***/ 2969:
/***/ ((__unused_webpack_module, __webpack_exports__, __webpack_require__) => {

/* harmony export */ __webpack_require__.d(__webpack_exports__, {
/* harmony export */   $$: () => (/* binding */ isIndexMediaType),
/* harmony export */   $p: () => (/* binding */ OCI_INDEX),
/* harmony export */   EG: () => (/* binding */ OCI_MANIFEST),
/* harmony export */   H: () => (/* binding */ isSchema1MediaType),
/* harmony export */   K4: () => (/* binding */ isNonDistributableMediaType),
/* harmony export */   ZX: () => (/* binding */ bareMediaType),
/* harmony export */   d6: () => (/* binding */ isImageManifestMediaType),
/* harmony export */   dY: () => (/* binding */ MANIFEST_ACCEPT)
/* harmony export */ });
/* unused harmony exports DOCKER_MANIFEST_LIST, DOCKER_MANIFEST, DOCKER_MANIFEST_SCHEMA1, DOCKER_MANIFEST_SCHEMA1_SIGNED, isSupportedManifestMediaType */
/**
 * The manifest and blob media types a registry client must know, and how to tell them apart.
 *
 * Four manifest types matter for push and promote: the OCI image index and manifest, and their Docker
 * schema-2 twins (manifest list, manifest). Every manifest GET and HEAD sends all four in `Accept`: a registry
 * that is not told a type is acceptable may convert the manifest (distribution 2.x answers a manifest list
 * with the linux/amd64 child, older registries fall back to schema 1), which changes the digest. Schema 1 is
 * refused with a clear error: it is signed per registry and cannot be copied byte for byte.
 */
const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';
const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
const DOCKER_MANIFEST_LIST = 'application/vnd.docker.distribution.manifest.list.v2+json';
const DOCKER_MANIFEST = 'application/vnd.docker.distribution.manifest.v2+json';
const DOCKER_MANIFEST_SCHEMA1 = 'application/vnd.docker.distribution.manifest.v1+json';
const DOCKER_MANIFEST_SCHEMA1_SIGNED = 'application/vnd.docker.distribution.manifest.v1+prettyjws';
/** The `Accept` header of every manifest GET and HEAD: the four types Kiln copies byte for byte. */
const MANIFEST_ACCEPT = [OCI_INDEX, OCI_MANIFEST, DOCKER_MANIFEST_LIST, DOCKER_MANIFEST].join(', ');
/** True for an OCI index or a Docker manifest list (a manifest naming other manifests, usually per platform). */
function isIndexMediaType(mediaType) {
    return mediaType === OCI_INDEX || mediaType === DOCKER_MANIFEST_LIST;
}
/** True for an OCI image manifest or a Docker schema-2 manifest (config + layers). */
function isImageManifestMediaType(mediaType) {
    return mediaType === OCI_MANIFEST || mediaType === DOCKER_MANIFEST;
}
/** True for any manifest type Kiln can copy. */
function isSupportedManifestMediaType(mediaType) {
    return isIndexMediaType(mediaType) || isImageManifestMediaType(mediaType);
}
function isSchema1MediaType(mediaType) {
    return (mediaType === DOCKER_MANIFEST_SCHEMA1 ||
        mediaType === DOCKER_MANIFEST_SCHEMA1_SIGNED ||
        mediaType === 'application/json');
}
/**
 * Layers a registry is not required to hold (Windows foreign layers, OCI non-distributable layers): they are
 * fetched from their `urls` by the runtime, so a copy skips them.
 */
function isNonDistributableMediaType(mediaType) {
    return (mediaType !== undefined &&
        (mediaType.startsWith('application/vnd.docker.image.rootfs.foreign.') ||
            mediaType.startsWith('application/vnd.oci.image.layer.nondistributable.')));
}
/** The media type of a `Content-Type` header without parameters (`; charset=utf-8`), lower-cased. */
function bareMediaType(contentType) {
    if (contentType === undefined)
        return undefined;
    const bare = contentType.split(';')[0]?.trim().toLowerCase();
    return bare ? bare : undefined;
}


/***/ }),

/***/ 6226:
/***/ ((__unused_webpack_module, __webpack_exports__, __webpack_require__) => {

/* harmony export */ __webpack_require__.d(__webpack_exports__, {
/* harmony export */   x: () => (/* binding */ progressReporter),
/* harmony export */   z: () => (/* binding */ formatBytes)
/* harmony export */ });
/* harmony import */ var _digest_js__WEBPACK_IMPORTED_MODULE_0__ = __webpack_require__(7761);

function formatBytes(n) {
    if (n < 1024)
        return `${n} B`;
    const units = ['KiB', 'MiB', 'GiB', 'TiB'];
    let v = n / 1024;
    let i = 0;
    while (v >= 1024 && i < units.length - 1) {
        v /= 1024;
        i++;
    }
    return `${v.toFixed(1)} ${units[i]}`;
}
/** Returns the per-chunk reporter of one transfer. */
function progressReporter(target, digest, total, opts) {
    const now = opts.now ?? Date.now;
    let lastLog = now();
    return (bytesDone) => {
        opts.onProgress?.({ target, digest, bytesDone, bytesTotal: total });
        const t = now();
        if (t - lastLog >= opts.intervalMs && bytesDone < total) {
            lastLog = t;
            const pct = total > 0 ? Math.floor((bytesDone / total) * 100) : 0;
            opts.logger.info(`${target}: ${(0,_digest_js__WEBPACK_IMPORTED_MODULE_0__/* .shortDigest */ .VK)(digest)} ${formatBytes(bytesDone)} / ${formatBytes(total)} (${pct}%)`);
        }
    };
}


/***/ }),

/***/ 6937:
/***/ ((__unused_webpack_module, __webpack_exports__, __webpack_require__) => {

/* harmony export */ __webpack_require__.d(__webpack_exports__, {
/* harmony export */   L: () => (/* binding */ referrersTag),
/* harmony export */   x: () => (/* binding */ listReferrers)
/* harmony export */ });
/* harmony import */ var _media_types_js__WEBPACK_IMPORTED_MODULE_1__ = __webpack_require__(2969);
/* harmony import */ var _manifest_js__WEBPACK_IMPORTED_MODULE_2__ = __webpack_require__(8372);
/* harmony import */ var _scopes_js__WEBPACK_IMPORTED_MODULE_0__ = __webpack_require__(4676);
/**
 * Referrers (signatures, SBOMs, attestations: manifests whose `subject` is an image).
 *
 * `GET /v2/<name>/referrers/<digest>` answers an OCI index listing them on registries that implement the
 * referrers API (distribution-spec 1.1). Anywhere else (a 404, or 400/405/501), the fallback "tag schema" is
 * read instead: the index tagged `<alg>-<hex>` (`sha256-0123…`), which clients maintain by hand.
 */



/** The fallback tag of a subject digest: `sha256:abc…` → `sha256-abc…` (at most 128 characters). */
function referrersTag(digest) {
    return digest.replace(':', '-').slice(0, 128);
}
async function listReferrers(t, repo, digest, ctx = {}) {
    const op = {
        registry: repo.registry,
        repository: repo.repository,
        operation: `GET referrers of ${digest}`,
    };
    const res = await t.send({
        ...op,
        method: 'GET',
        path: `/v2/${repo.repository}/referrers/${digest}`,
        scopes: [(0,_scopes_js__WEBPACK_IMPORTED_MODULE_0__/* .repositoryScope */ .F7)(repo.repository, 'pull')],
        headers: { accept: _media_types_js__WEBPACK_IMPORTED_MODULE_1__/* .OCI_INDEX */ .$p },
    }, ctx);
    if (res.status === 200) {
        const body = (await res.json().catch(() => undefined));
        if (body && Array.isArray(body.manifests))
            return { descriptors: body.manifests, via: 'api' };
    }
    else {
        await res.dump();
        if (![400, 404, 405, 501].includes(res.status))
            throw await t.failure(res, op);
    }
    // The tag schema.
    const tag = referrersTag(digest);
    try {
        const index = await (0,_manifest_js__WEBPACK_IMPORTED_MODULE_2__/* .getManifest */ .c2)(t, repo, tag, ctx);
        if (index.parsed.kind !== 'index')
            return { descriptors: [], via: 'none' };
        return { descriptors: index.parsed.manifests, via: 'tag', tagIndex: index };
    }
    catch (err) {
        if (err.kind === 'not-found')
            return { descriptors: [], via: 'none' };
        throw err;
    }
}


/***/ }),

/***/ 4676:
/***/ ((__unused_webpack_module, __webpack_exports__, __webpack_require__) => {

/* harmony export */ __webpack_require__.d(__webpack_exports__, {
/* harmony export */   F7: () => (/* binding */ repositoryScope),
/* harmony export */   Sk: () => (/* binding */ parseScope),
/* harmony export */   lG: () => (/* binding */ ScopeSet),
/* harmony export */   us: () => (/* binding */ parseScopeList)
/* harmony export */ });
/* unused harmony export formatScope */
/**
 * Token scopes (distribution `docs/spec/auth/scope.md`): `type[(class)]:name:action[,action…]`, e.g.
 * `repository:team/app:pull,push`. The name may contain colons, so the actions are what follows the last one.
 *
 * Kiln asks for every scope an operation needs in ONE token request (`scope=…&scope=…`): a promote needs
 * `repository:<dst>:pull,push` and `repository:<src>:pull` (to read, and to mount from, the source). Push scopes
 * are listed first, because some token servers only honour the first scope. Actions are written in a stable
 * order (pull, push, then the rest), so equal sets give equal strings and equal cache keys.
 */
const ACTION_ORDER = ['pull', 'push', 'delete'];
function sortActions(actions) {
    const unique = [...new Set(actions)].filter(Boolean);
    const rank = (a) => {
        const i = ACTION_ORDER.indexOf(a);
        return i < 0 ? ACTION_ORDER.length : i;
    };
    return unique.sort((a, b) => rank(a) - rank(b) || (a < b ? -1 : a > b ? 1 : 0));
}
/** Parses one scope string; undefined when it is not `type:name:actions`. */
function parseScope(scope) {
    const first = scope.indexOf(':');
    const last = scope.lastIndexOf(':');
    if (first <= 0 || last === first)
        return undefined;
    const name = scope.slice(first + 1, last);
    if (!name)
        return undefined;
    return { type: scope.slice(0, first), name, actions: sortActions(scope.slice(last + 1).split(',')) };
}
function formatScope(scope) {
    return `${scope.type}:${scope.name}:${sortActions(scope.actions).join(',')}`;
}
/** `repository:<name>:<actions>`. */
function repositoryScope(name, ...actions) {
    return { type: 'repository', name, actions: sortActions(actions) };
}
/** Scope strings from a challenge's `scope` parameter (space-separated). */
function parseScopeList(value) {
    if (!value)
        return [];
    return value
        .split(/\s+/)
        .map(parseScope)
        .filter((s) => s !== undefined);
}
/** A set of scopes, merged per resource (type + name), remembering the order resources were added. */
class ScopeSet {
    entries = new Map();
    constructor(scopes = []) {
        for (const s of scopes)
            this.add(s);
    }
    /** Adds a scope; returns true when the set grew (a new resource or a new action). */
    add(scope) {
        const s = typeof scope === 'string' ? parseScope(scope) : scope;
        if (!s)
            return false;
        const key = `${s.type}\u0000${s.name}`;
        const existing = this.entries.get(key);
        if (!existing) {
            this.entries.set(key, { type: s.type, name: s.name, actions: sortActions(s.actions) });
            return true;
        }
        const merged = sortActions([...existing.actions, ...s.actions]);
        if (merged.length === existing.actions.length)
            return false;
        existing.actions = merged;
        return true;
    }
    addAll(scopes) {
        let grew = false;
        for (const s of scopes)
            grew = this.add(s) || grew;
        return grew;
    }
    /** True when every action of every scope in `scopes` is in this set (`*` covers everything). */
    covers(scopes) {
        for (const s of scopes) {
            const mine = this.entries.get(`${s.type}\u0000${s.name}`);
            if (!mine)
                return false;
            if (mine.actions.includes('*'))
                continue;
            if (!s.actions.every((a) => mine.actions.includes(a)))
                return false;
        }
        return true;
    }
    get size() {
        return this.entries.size;
    }
    scopes() {
        return [...this.entries.values()].map((s) => ({ ...s, actions: [...s.actions] }));
    }
    /** Scope strings for a token request: those with `push` (or `*`) first, otherwise in insertion order. */
    toStrings() {
        const all = [...this.entries.values()];
        const writes = all.filter((s) => s.actions.includes('push') || s.actions.includes('*'));
        const reads = all.filter((s) => !writes.includes(s));
        return [...writes, ...reads].map(formatScope);
    }
    /** A stable key of the set's content (order-independent). */
    key() {
        return [...this.entries.values()].map(formatScope).sort().join(' ');
    }
    clone() {
        return new ScopeSet(this.scopes());
    }
}


/***/ }),

/***/ 224:
/***/ ((__unused_webpack_module, __webpack_exports__, __webpack_require__) => {

/* harmony export */ __webpack_require__.d(__webpack_exports__, {
/* harmony export */   S: () => (/* binding */ repositoryPath),
/* harmony export */   v: () => (/* binding */ referenceString)
/* harmony export */ });
/** Shapes shared by the registry client's pieces (OCI image-spec descriptors and friends). */
/** `registry/repository`. */
function repositoryPath(repo) {
    return `${repo.registry}/${repo.repository}`;
}
/** `registry/repository:tag` or `registry/repository@digest` for a reference string (tag or digest). */
function referenceString(repo, reference) {
    return `${repositoryPath(repo)}${reference.includes(':') ? '@' : ':'}${reference}`;
}


/***/ })

};
