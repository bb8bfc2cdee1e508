export const id = 769;
export const ids = [769];
export const modules = {

/***/ 1769:
/***/ ((__unused_webpack_module, __webpack_exports__, __webpack_require__) => {

// ESM COMPAT FLAG
__webpack_require__.r(__webpack_exports__);

// EXPORTS
__webpack_require__.d(__webpack_exports__, {
  action: () => (/* binding */ action),
  spec: () => (/* binding */ action_spec)
});

// EXTERNAL MODULE: ./packages/core/src/inputs/spec.ts
var spec = __webpack_require__(8592);
// EXTERNAL MODULE: ./packages/core/src/action/run.ts + 31 modules
var run = __webpack_require__(2512);
// EXTERNAL MODULE: external "node:fs"
var external_node_fs_ = __webpack_require__(3024);
// EXTERNAL MODULE: external "node:os"
var external_node_os_ = __webpack_require__(8161);
// EXTERNAL MODULE: external "node:path"
var external_node_path_ = __webpack_require__(6760);
// EXTERNAL MODULE: ./packages/core/src/errors.ts
var errors = __webpack_require__(7638);
// EXTERNAL MODULE: external "node:crypto"
var external_node_crypto_ = __webpack_require__(7598);
;// CONCATENATED MODULE: ./packages/core/src/marathon/auth.ts
/**
 * How Kiln authenticates to Marathon:
 * - HTTP basic (Marathon's `--http_credentials`);
 * - a DC/OS token, sent as `Authorization: token=<token>`;
 * - a DC/OS service account: Kiln signs a short-lived RS256 JWT `{uid, exp}` with the account's private key,
 *   POSTs `{uid, token}` to the login endpoint (`/acs/api/v1/auth/login`), and uses the token it gets back; on a
 *   401 it logs in again once (tokens expire).
 * Every credential and every token obtained is handed to `registerSecret` before it can appear anywhere.
 */


function base64url(data) {
    return Buffer.from(data).toString('base64url');
}
/** Read a PEM private key (PKCS#1 or PKCS#8). Throws a ConfigurationError that never quotes the key. */
function readPrivateKey(pem, inputName = 'service-account-key') {
    let key;
    try {
        key = (0,external_node_crypto_.createPrivateKey)({ key: pem.replace(/\\n/g, '\n'), format: 'pem' });
    }
    catch {
        throw new errors/* ConfigurationError */.j1(`Input '${inputName}': (value hidden: secret input) is not a readable PEM private key; expected an RSA private key ('-----BEGIN PRIVATE KEY-----' or '-----BEGIN RSA PRIVATE KEY-----').`);
    }
    if (key.asymmetricKeyType !== 'rsa')
        throw new errors/* ConfigurationError */.j1(`Input '${inputName}': (value hidden: secret input) is a ${key.asymmetricKeyType ?? 'non-RSA'} key; DC/OS service accounts sign with RS256, expected an RSA private key.`);
    return key;
}
/** The login JWT of a DC/OS service account: RS256 over `{"uid", "exp"}`. */
function signServiceAccountToken(uid, key, nowSeconds, ttlSeconds = 300) {
    const header = base64url(JSON.stringify({ alg: 'RS256', typ: 'JWT' }));
    const payload = base64url(JSON.stringify({ uid, exp: Math.floor(nowSeconds) + ttlSeconds }));
    const input = `${header}.${payload}`;
    const signature = (0,external_node_crypto_.sign)('sha256', Buffer.from(input), key);
    return `${input}.${base64url(signature)}`;
}
/** The DC/OS login endpoint for a Marathon URL: `<scheme>://<host>/acs/api/v1/auth/login`. */
function defaultLoginUrl(marathonUrl) {
    return new URL('/acs/api/v1/auth/login', marathonUrl).toString();
}

// EXTERNAL MODULE: ./packages/core/src/image/reference.ts
var reference = __webpack_require__(6314);
;// CONCATENATED MODULE: ./packages/core/src/marathon/json.ts
/**
 * JSON for app definitions that must survive a round trip through Kiln unchanged in meaning.
 *
 * `JSON.parse` is not enough: it reports syntax errors by character offset (with wording that differs between
 * Node versions), and it silently rounds numbers a double cannot hold (`12345678901234567890` comes back as
 * `12345678901234567000`). This parser reports errors by line and column, and keeps every number whose value a
 * double would change as a {@link JsonNumber} holding the exact text, written back verbatim by
 * {@link stringifyJson}. Every other value is a plain JavaScript value, so rendering code can read and set fields
 * normally. Object key order is kept as written (JavaScript objects list integer-like keys first; key order has
 * no meaning in JSON, and Marathon ignores it).
 */
/** A number kept as written because a double would change its value. */
class JsonNumber {
    text;
    constructor(text) {
        this.text = text;
    }
    valueOf() {
        return Number(this.text);
    }
    toJSON() {
        return Number(this.text);
    }
}
/** A syntax error with a 1-based line and column. */
class JsonSyntaxError extends Error {
    reason;
    line;
    column;
    name = 'JsonSyntaxError';
    constructor(reason, line, column) {
        super(`${reason} at line ${line}, column ${column}`);
        this.reason = reason;
        this.line = line;
        this.column = column;
    }
}
function isJsonObject(v) {
    return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof JsonNumber);
}
function isJsonNumber(v) {
    return typeof v === 'number' || v instanceof JsonNumber;
}
/** The numeric value of a JSON number (a {@link JsonNumber} as the nearest double). */
function numberValue(v) {
    return typeof v === 'number' ? v : v instanceof JsonNumber ? Number(v.text) : undefined;
}
/** Set a key without ever touching the prototype (`__proto__` is an ordinary key in JSON). */
function setKey(obj, key, value) {
    if (key === '__proto__')
        Object.defineProperty(obj, key, { value, enumerable: true, writable: true, configurable: true });
    else
        obj[key] = value;
}
const NUMBER_RE = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;
/** `[sign, significant digits, exponent of the last digit]`: equal for equal decimal values. */
function decimalKey(text) {
    const m = /^(-?)(\d+)(?:\.(\d+))?(?:[eE]([+-]?\d+))?$/.exec(text);
    if (!m)
        return text;
    const digits = (m[2] ?? '') + (m[3] ?? '');
    let exp = Number(m[4] ?? 0) - (m[3] ?? '').length;
    const trimmedLeft = digits.replace(/^0+/, '');
    if (trimmedLeft === '')
        return '0';
    const trimmed = trimmedLeft.replace(/0+$/, '');
    exp += trimmedLeft.length - trimmed.length;
    return `${m[1]}${trimmed}e${exp}`;
}
/** A double when it holds exactly the written decimal value (2048.0 → 2048), else the text. */
function readNumber(text) {
    const n = Number(text);
    if (!Number.isFinite(n))
        return new JsonNumber(text);
    const written = decimalKey(text);
    const shown = decimalKey(String(n).replace(/e\+/, 'e'));
    return written === shown || (written === '0' && n === 0) ? n : new JsonNumber(text);
}
/** Parse JSON text; throws {@link JsonSyntaxError} with line and column. A leading BOM is ignored. */
function parseJson(text, opts = {}) {
    let i = text.charCodeAt(0) === 0xfeff ? 1 : 0;
    const position = (at) => {
        let line = 1;
        let lineStart = 0;
        for (let k = 0; k < at && k < text.length; k++) {
            if (text[k] === '\n') {
                line++;
                lineStart = k + 1;
            }
        }
        return { line, column: at - lineStart + 1 };
    };
    const fail = (reason, at = i) => {
        const { line, column } = position(at);
        throw new JsonSyntaxError(reason, line, column);
    };
    const describe = (at) => {
        if (at >= text.length)
            return 'end of file';
        const c = text[at];
        return /[\x20-\x7e]/.test(c) ? `'${c}'` : JSON.stringify(c);
    };
    const skip = () => {
        for (;;) {
            const c = text[i];
            if (c === ' ' || c === '\t' || c === '\n' || c === '\r')
                i++;
            else if (c === '/' && (text[i + 1] === '/' || text[i + 1] === '*'))
                fail('comments are not allowed in JSON');
            else
                return;
        }
    };
    const str = () => {
        const start = i;
        i++; // opening quote
        let out = '';
        for (;;) {
            if (i >= text.length)
                fail('unterminated string (missing closing ")', start);
            const c = text[i];
            if (c === '"') {
                i++;
                return out;
            }
            if (c === '\\') {
                const e = text[i + 1];
                const simple = {
                    '"': '"',
                    '\\': '\\',
                    '/': '/',
                    b: '\b',
                    f: '\f',
                    n: '\n',
                    r: '\r',
                    t: '\t',
                };
                if (e !== undefined && simple[e] !== undefined) {
                    out += simple[e];
                    i += 2;
                }
                else if (e === 'u') {
                    const hex = text.slice(i + 2, i + 6);
                    if (!/^[0-9a-fA-F]{4}$/.test(hex))
                        fail('invalid \\u escape (expected 4 hex digits)', i);
                    out += String.fromCharCode(parseInt(hex, 16));
                    i += 6;
                }
                else
                    fail(`invalid escape '\\${e ?? ''}' in string`, i);
                continue;
            }
            if (c < ' ')
                fail('unescaped control character in string (write \\n, \\t, …)', i);
            out += c;
            i++;
        }
    };
    const value = () => {
        skip();
        const c = text[i];
        if (c === '{')
            return object();
        if (c === '[')
            return array();
        if (c === '"')
            return str();
        if (c === 't' && text.startsWith('true', i)) {
            i += 4;
            return true;
        }
        if (c === 'f' && text.startsWith('false', i)) {
            i += 5;
            return false;
        }
        if (c === 'n' && text.startsWith('null', i)) {
            i += 4;
            return null;
        }
        if (c === '-' || (c !== undefined && c >= '0' && c <= '9')) {
            NUMBER_RE.lastIndex = i;
            const m = NUMBER_RE.exec(text);
            if (!m || m[0] === '-')
                fail('invalid number');
            const lexeme = m[0];
            const next = text[i + lexeme.length];
            if (next !== undefined && /[0-9.eE+-]/.test(next))
                fail('invalid number', i);
            i += lexeme.length;
            return readNumber(lexeme);
        }
        if (c === "'")
            fail('strings must use double quotes (")');
        return fail(`unexpected ${describe(i)}; expected a value`);
    };
    const object = () => {
        i++; // {
        const out = {};
        const seen = new Set();
        skip();
        if (text[i] === '}') {
            i++;
            return out;
        }
        for (;;) {
            skip();
            if (text[i] !== '"') {
                if (text[i] === '}')
                    fail("trailing comma before '}'");
                fail(`unexpected ${describe(i)}; expected a property name in double quotes`);
            }
            const keyAt = i;
            const key = str();
            if (seen.has(key)) {
                const p = position(keyAt);
                opts.onDuplicateKey?.(key, p.line, p.column);
            }
            seen.add(key);
            skip();
            if (text[i] !== ':')
                fail(`unexpected ${describe(i)}; expected ':' after property name "${key}"`);
            i++;
            setKey(out, key, value());
            skip();
            if (text[i] === ',') {
                i++;
                continue;
            }
            if (text[i] === '}') {
                i++;
                return out;
            }
            fail(`unexpected ${describe(i)}; expected ',' or '}'`);
        }
    };
    const array = () => {
        i++; // [
        const out = [];
        skip();
        if (text[i] === ']') {
            i++;
            return out;
        }
        for (;;) {
            skip();
            if (text[i] === ']')
                fail("trailing comma before ']'");
            out.push(value());
            skip();
            if (text[i] === ',') {
                i++;
                continue;
            }
            if (text[i] === ']') {
                i++;
                return out;
            }
            fail(`unexpected ${describe(i)}; expected ',' or ']'`);
        }
    };
    skip();
    if (i >= text.length)
        fail('the file is empty; expected a JSON object');
    const result = value();
    skip();
    if (i < text.length)
        fail(`unexpected ${describe(i)} after the end of the JSON value`);
    return result;
}
/** JSON text: `indent` 0 for one line. {@link JsonNumber}s are written as their original text. */
function stringifyJson(value, indent = 2) {
    const pad = (depth) => (indent > 0 ? '\n' + ' '.repeat(indent * depth) : '');
    const sep = indent > 0 ? ': ' : ':';
    const write = (v, depth) => {
        if (v === null)
            return 'null';
        if (v instanceof JsonNumber)
            return v.text;
        if (typeof v === 'number')
            return Number.isFinite(v) ? JSON.stringify(v) : 'null';
        if (typeof v === 'string' || typeof v === 'boolean')
            return JSON.stringify(v);
        if (Array.isArray(v)) {
            if (v.length === 0)
                return '[]';
            return `[${v.map((x) => pad(depth + 1) + write(x, depth + 1)).join(',')}${pad(depth)}]`;
        }
        const entries = Object.entries(v).filter(([, x]) => x !== undefined);
        if (entries.length === 0)
            return '{}';
        return `{${entries
            .map(([k, x]) => `${pad(depth + 1)}${JSON.stringify(k)}${sep}${write(x, depth + 1)}`)
            .join(',')}${pad(depth)}}`;
    };
    return write(value, 0);
}
/** A deep copy (keeps {@link JsonNumber}s). */
function cloneJson(v) {
    if (Array.isArray(v))
        return v.map((x) => cloneJson(x));
    if (isJsonObject(v)) {
        const out = {};
        for (const [k, x] of Object.entries(v))
            setKey(out, k, cloneJson(x));
        return out;
    }
    return v;
}
/**
 * Equal in meaning: numbers by decimal value (2048 = 2048.0, a {@link JsonNumber} by its exact text), objects
 * regardless of key order, arrays in order.
 */
function jsonEqual(a, b) {
    if (isJsonNumber(a) && isJsonNumber(b)) {
        const ka = a instanceof JsonNumber ? decimalKey(a.text) : decimalKey(String(a).replace(/e\+/, 'e'));
        const kb = b instanceof JsonNumber ? decimalKey(b.text) : decimalKey(String(b).replace(/e\+/, 'e'));
        return ka === kb;
    }
    if (Array.isArray(a) || Array.isArray(b)) {
        if (!Array.isArray(a) || !Array.isArray(b) || a.length !== b.length)
            return false;
        return a.every((x, i) => jsonEqual(x, b[i]));
    }
    if (isJsonObject(a) || isJsonObject(b)) {
        if (!isJsonObject(a) || !isJsonObject(b))
            return false;
        const ka = Object.keys(a).filter((k) => a[k] !== undefined);
        const kb = Object.keys(b).filter((k) => b[k] !== undefined);
        if (ka.length !== kb.length)
            return false;
        return ka.every((k) => Object.prototype.hasOwnProperty.call(b, k) && jsonEqual(a[k], b[k]));
    }
    return a === b;
}
/** RFC 6901 pointer segment. */
function pointerSegment(key) {
    return String(key).replace(/~/g, '~0').replace(/\//g, '~1');
}

;// CONCATENATED MODULE: ./packages/core/src/marathon/definition.ts
/**
 * Marathon app definitions as users keep them in files (`deploy/qa-deploy.json`), rendered for one deployment.
 *
 * Kiln changes only what it is asked to change and keeps everything else exactly as written, including fields it
 * does not know (the Jenkins Marathon plugin lost those by round-tripping through a typed model):
 * - the image (`container.docker.image`): pinned `repository@sha256:…` whenever a digest is known; a tag-only
 *   image only with `allowMutableTag`, and then `forcePullImage` is forced on;
 * - `forcePullImage` only when asked (or forced by a mutable tag);
 * - `id`, `instances` when given;
 * - `env` and `labels`: merged (given keys win), plus Kiln's own labels (release id, commit, run URL);
 * - `${NAME}` template variables in `args` (`$${` writes a literal `${`).
 * Everything is validated before any request, with messages that name the file and the JSON pointer.
 */



/** Labels Kiln adds to every app it deploys. */
const KILN_LABELS = {
    releaseId: 'KILN_RELEASE_ID',
    commit: 'KILN_COMMIT',
    runUrl: 'KILN_RUN_URL',
};
/** Labels that change on every run without changing the release: ignored when deciding "unchanged". */
const VOLATILE_LABELS = [KILN_LABELS.runUrl];
/** Fields Marathon computes. A definition saved from `GET /v2/apps` carries them; they are never sent. */
const COMPUTED_APP_FIELDS = [
    'version',
    'versionInfo',
    'tasks',
    'deployments',
    'tasksStaged',
    'tasksRunning',
    'tasksHealthy',
    'tasksUnhealthy',
    'lastTaskFailure',
    'taskStats',
    'readinessCheckResults',
];
/** Marathon's id rule, per path segment (lowercase letters, digits, '-', with '.' between labels). */
const ID_SEGMENT = /^(?:(?:[a-z0-9]|[a-z0-9][a-z0-9-]*[a-z0-9])\.)*(?:[a-z0-9]|[a-z0-9][a-z0-9-]*[a-z0-9])$/;
const RESERVED_SEGMENTS = ['restart', 'tasks', 'versions'];
/** Parse a definition file's text. `source` names it in messages (the input and the path). */
function loadAppDefinition(text, source) {
    const warnings = [];
    let parsed;
    try {
        parsed = parseJson(text, {
            onDuplicateKey: (key, line, column) => warnings.push(`${source}: key "${key}" appears twice in one object (line ${line}, column ${column}); the last value is used.`),
        });
    }
    catch (e) {
        if (e instanceof JsonSyntaxError)
            throw new errors/* ConfigurationError */.j1(`${source} is not valid JSON: ${e.reason} at line ${e.line}, column ${e.column}.`);
        throw e;
    }
    if (!isJsonObject(parsed))
        throw new errors/* ConfigurationError */.j1(`${source} must contain one JSON object (a Marathon app definition); found ${Array.isArray(parsed) ? 'an array' : typeof parsed}.`);
    const dropped = COMPUTED_APP_FIELDS.filter((k) => k in parsed);
    const definition = {};
    for (const [k, v] of Object.entries(parsed))
        if (!dropped.includes(k))
            definition[k] = v;
    if (dropped.length)
        warnings.push(`${source}: ignoring ${dropped.map((k) => `"${k}"`).join(', ')} (computed by Marathon, never sent; a "version" would turn the update into a rollback).`);
    return { definition, warnings };
}
/** `/a/b/` → `/a/b`, `a` → `/a`. */
function canonicalAppId(id) {
    return ('/' +
        id
            .split('/')
            .filter((s) => s !== '')
            .join('/'));
}
/** Why an app id is not valid, or undefined. */
function appIdProblem(id) {
    const segments = id.split('/').filter((s) => s !== '');
    if (segments.length === 0)
        return 'it is empty';
    for (const s of segments) {
        if (s === '.' || s === '..')
            return `relative segments ('${s}') are not supported; write the absolute id`;
        if (!ID_SEGMENT.test(s)) {
            const hint = s.toLowerCase() !== s ? ' (Marathon ids are lowercase)' : '';
            return `segment '${s}' is not allowed${hint}: each segment uses lowercase letters, digits and '-', starts and ends with a letter or digit, and may contain '.' between such labels`;
        }
    }
    const last = segments[segments.length - 1];
    if (RESERVED_SEGMENTS.includes(last))
        return `it must not end with the reserved word '${last}'`;
    return undefined;
}
/** The image of a definition (`container.docker.image`), if any. */
function definitionImage(def) {
    const container = def?.['container'];
    if (!isJsonObject(container))
        return undefined;
    const docker = container['docker'];
    if (!isJsonObject(docker))
        return undefined;
    const image = docker['image'];
    return typeof image === 'string' ? image : undefined;
}
/** `registry/repo:tag@digest` as written → `registry/repo@<digest>` (the user's spelling of the name is kept). */
function pinnedAsWritten(original, digest) {
    const at = original.indexOf('@');
    let name = at >= 0 ? original.slice(0, at) : original;
    const colon = name.lastIndexOf(':');
    if (colon > name.lastIndexOf('/'))
        name = name.slice(0, colon);
    return `${name}@${digest}`;
}
const VAR_RE = /\$\$\{|\$\{([^}]*)\}/g;
const VAR_NAME_RE = /^[A-Za-z_][A-Za-z0-9_]*$/;
/** Replace `${NAME}` in one string; throws naming the pointer for an unknown or malformed variable. */
function expandVars(text, vars, where, used) {
    return text.replace(VAR_RE, (match, name) => {
        if (match === '$${')
            return '${';
        const n = name ?? '';
        if (!VAR_NAME_RE.test(n))
            throw new errors/* ConfigurationError */.j1(`${where} contains '${match}', which is not a template variable; expected \${NAME} with letters, digits and '_' (write $\${ for a literal \${).`);
        if (!Object.prototype.hasOwnProperty.call(vars, n))
            throw new errors/* ConfigurationError */.j1(`${where} uses \${${n}}, but no value is given for it; pass it in the vars input (e.g. ${n}=qa).`);
        used.add(n);
        return vars[n];
    });
}
/** Render the definition for one deployment. Does not modify `loaded`. Throws ConfigurationError/InputError. */
function renderAppDefinition(loaded, o) {
    const def = cloneJson(loaded);
    const notes = [];
    const warnings = [];
    const src = o.source;
    // id
    if (o.appId !== undefined) {
        const problem = appIdProblem(o.appId);
        if (problem)
            throw new errors/* InputError */.dz('app-id', `"${o.appId}" is not a valid Marathon app id: ${problem}.`);
        def['id'] = canonicalAppId(o.appId);
    }
    const rawId = def['id'];
    if (typeof rawId !== 'string' || rawId.trim() === '')
        throw new errors/* ConfigurationError */.j1(`${src}: "id" is missing or not a string; give the app id in the file or in the app-id input.`);
    const idProblem = appIdProblem(rawId);
    if (idProblem)
        throw new errors/* ConfigurationError */.j1(`${src}: /id "${rawId}" is not a valid Marathon app id: ${idProblem}. Fix the file or set the app-id input.`);
    const id = canonicalAppId(rawId);
    // instances
    if (o.instances !== undefined)
        def['instances'] = o.instances;
    // image
    const container = def['container'];
    const docker = isJsonObject(container) ? container['docker'] : undefined;
    if (!isJsonObject(container) || !isJsonObject(docker))
        throw new errors/* ConfigurationError */.j1(`${src}: /container/docker is missing; Kiln deploys container images, so the definition needs "container": {"type": "DOCKER", "docker": {"image": …}}.`);
    const fileImage = docker['image'];
    if (o.image === undefined && (typeof fileImage !== 'string' || fileImage.trim() === ''))
        throw new errors/* ConfigurationError */.j1(`${src}: /container/docker/image is missing or empty; set it in the file or give the image input.`);
    if (o.digest !== undefined && !(0,reference/* isDigest */.Bc)(o.digest))
        throw new errors/* InputError */.dz('digest', `"${o.digest}" is not a digest; expected sha256: followed by 64 lowercase hex characters.`);
    let ref;
    const fromInput = o.image !== undefined;
    const written = fromInput ? o.image : fileImage;
    if (fromInput)
        ref = (0,reference/* parseImageReference */.o_)(written, { inputName: 'image' });
    else {
        try {
            ref = (0,reference/* parseImageReference */.o_)(written);
        }
        catch (e) {
            throw new errors/* ConfigurationError */.j1(`${src}: /container/docker/image: ${e.message}`);
        }
    }
    if (o.digest !== undefined && ref.digest !== undefined && ref.digest !== o.digest)
        throw new errors/* InputError */.dz('digest', `"${o.digest}" differs from the digest in the image reference ("${ref.digest}"); give only one of them, or the same.`);
    const digest = o.digest ?? ref.digest;
    let image;
    const pinned = digest !== undefined;
    if (pinned) {
        image = pinnedAsWritten(written, digest);
        if (image !== written)
            notes.push(`image pinned by digest: ${image}`);
    }
    else {
        if (!o.allowMutableTag) {
            const message = `'${written}' is not pinned by a digest; Kiln deploys images by digest so what runs is never ambiguous. ` +
                `Give the digest input (e.g. the push step's digest output) or an image ending in @sha256:<hex>, ` +
                `or set allow-mutable-tag: true to deploy a moving tag (this forces a pull).`;
            if (fromInput)
                throw new errors/* InputError */.dz('image', message);
            throw new errors/* ConfigurationError */.j1(`${src}: /container/docker/image ${message}`);
        }
        image = written;
        if (o.forcePullImage === false)
            throw new errors/* InputError */.dz('force-pull-image', `false cannot be combined with the mutable tag '${written}' (allow-mutable-tag: true): every host must pull the tag again; expected true or no value.`);
        warnings.push(`deploying the mutable tag '${written}' (allow-mutable-tag: true): forcePullImage is set to true so every host pulls it again; what runs can change under the same tag.`);
    }
    docker['image'] = image;
    // forcePullImage: as the file says, unless asked (or forced by a mutable tag).
    const forcePull = pinned ? o.forcePullImage : true;
    if (forcePull !== undefined && docker['forcePullImage'] !== forcePull) {
        docker['forcePullImage'] = forcePull;
        notes.push(`forcePullImage set to ${forcePull}`);
    }
    // env and labels
    const mergeInto = (field, values) => {
        if (Object.keys(values).length === 0)
            return;
        const current = def[field];
        if (current !== undefined && current !== null && !isJsonObject(current))
            throw new errors/* ConfigurationError */.j1(`${src}: /${field} must be an object to merge ${field} into.`);
        const target = isJsonObject(current) ? current : {};
        for (const [k, v] of Object.entries(values))
            target[k] = v;
        def[field] = target;
    };
    mergeInto('env', o.env ?? {});
    mergeInto('labels', { ...(o.labels ?? {}), ...(o.kilnLabels ?? {}) });
    // args template variables
    const vars = o.vars ?? {};
    const used = new Set();
    const args = def['args'];
    if (Array.isArray(args)) {
        def['args'] = args.map((a, i) => typeof a === 'string' ? expandVars(a, vars, `${src}: /args/${i}`, used) : a);
    }
    const unused = Object.keys(vars).filter((k) => !used.has(k));
    if (unused.length)
        warnings.push(`vars ${unused.map((k) => `'${k}'`).join(', ')} ${unused.length === 1 ? 'is' : 'are'} not used by any \${…} in /args.`);
    validateAppDefinition(def, src);
    return { id, definition: def, image, pinned, notes, warnings };
}
/**
 * What Marathon would reject (422/400), checked before any request. Throws one ConfigurationError listing every
 * problem by JSON pointer.
 */
function validateAppDefinition(def, source) {
    const problems = [];
    const id = def['id'];
    if (typeof id !== 'string')
        problems.push('/id must be a string');
    else {
        const p = appIdProblem(id);
        if (p)
            problems.push(`/id "${id}" is not a valid Marathon app id: ${p}`);
    }
    const cmd = def['cmd'];
    const args = def['args'];
    if (cmd !== undefined && cmd !== null && typeof cmd !== 'string')
        problems.push('/cmd must be a string');
    if (args !== undefined && args !== null) {
        if (!Array.isArray(args))
            problems.push('/args must be an array of strings');
        else
            args.forEach((a, i) => {
                if (typeof a !== 'string')
                    problems.push(`/args/${i} must be a string`);
            });
    }
    if (typeof cmd === 'string' && cmd !== '' && Array.isArray(args) && args.length > 0)
        problems.push("has both /cmd and /args; Marathon accepts only one of them (use args with the image's entrypoint, or cmd)");
    const instances = def['instances'];
    if (instances !== undefined && instances !== null) {
        const n = numberValue(instances);
        if (n === undefined || !Number.isInteger(n) || n < 0)
            problems.push(`/instances must be a whole number ≥ 0, got ${JSON.stringify(instances)}`);
    }
    const image = definitionImage(def);
    if (image === undefined || image.trim() === '')
        problems.push('/container/docker/image must be a non-empty string');
    const strategy = def['upgradeStrategy'];
    if (strategy !== undefined && strategy !== null) {
        if (!isJsonObject(strategy))
            problems.push('/upgradeStrategy must be an object');
        else
            for (const key of ['minimumHealthCapacity', 'maximumOverCapacity']) {
                const v = strategy[key];
                if (v === undefined || v === null)
                    continue;
                const n = numberValue(v);
                if (n === undefined || n < 0 || n > 1)
                    problems.push(`/upgradeStrategy/${key} must be a number from 0 to 1, got ${JSON.stringify(v)}`);
            }
    }
    for (const field of ['env', 'labels']) {
        const v = def[field];
        if (v === undefined || v === null)
            continue;
        if (!isJsonObject(v)) {
            problems.push(`/${field} must be an object`);
            continue;
        }
        for (const [k, x] of Object.entries(v)) {
            const ok = typeof x === 'string' || (field === 'env' && isJsonObject(x));
            if (!ok)
                problems.push(`/${field}/${k} must be a string${field === 'env' ? ' (or a secret reference object)' : ''}, got ${JSON.stringify(x)}`);
        }
    }
    for (const field of ['healthChecks', 'readinessChecks', 'constraints', 'uris']) {
        const v = def[field];
        if (v !== undefined && v !== null && !Array.isArray(v))
            problems.push(`/${field} must be an array`);
    }
    if (problems.length)
        throw new errors/* ConfigurationError */.j1(`${source} is not a valid Marathon app definition: ${problems.join('; ')}.`);
}

;// CONCATENATED MODULE: ./packages/core/src/marathon/inputs.ts
/**
 * Turning deploy-marathon's inputs into what the domain code takes: the cluster list, the auth mode, the app
 * definition file, Kiln's labels, and where the rendered definition is written. Every error names its input.
 */







const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/;
/**
 * `https://marathon.example.com` or `AA=https://marathon-aa.example.com` per item. Names default to the host and
 * must be unique. Credentials in URLs are refused (they would leak into logs): use the credential inputs.
 */
function parseMarathonClusters(items, inputName = 'marathon-url') {
    if (items.length === 0)
        throw new errors/* InputError */.dz(inputName, 'is required; expected one or more http(s) URLs.');
    const clusters = [];
    for (const item of items) {
        const eq = item.indexOf('=');
        const named = eq > 0 && !/^[a-z][a-z0-9+.-]*:\/\//i.test(item.slice(0, eq + 3)) && !item.slice(0, eq).includes('/');
        const name = named ? item.slice(0, eq).trim() : undefined;
        const raw = named ? item.slice(eq + 1).trim() : item.trim();
        let url;
        try {
            url = new URL(raw);
        }
        catch {
            throw new errors/* InputError */.dz(inputName, `"${item}" is not a valid URL; expected an http(s) URL, optionally as NAME=URL.`);
        }
        if (url.protocol !== 'http:' && url.protocol !== 'https:')
            throw new errors/* InputError */.dz(inputName, `"${item}" uses ${url.protocol}; expected an http:// or https:// URL.`);
        if (url.username || url.password)
            throw new errors/* InputError */.dz(inputName, `an item contains credentials in its URL (value hidden); give them as marathon-user and marathon-password, or marathon-token.`);
        if (url.search || url.hash)
            throw new errors/* InputError */.dz(inputName, `"${item}" has a query or fragment; expected Marathon's base URL.`);
        if (name !== undefined && !NAME_RE.test(name))
            throw new errors/* InputError */.dz(inputName, `"${name}" is not a usable cluster name; expected letters, digits, '.', '_' or '-' before the '=' (e.g. AA=https://…).`);
        const cluster = { name: name ?? url.host, url: url.toString().replace(/\/+$/, '') };
        if (clusters.some((c) => c.name === cluster.name))
            throw new errors/* InputError */.dz(inputName, `the cluster name "${cluster.name}" appears twice; expected each Marathon once.`);
        clusters.push(cluster);
    }
    return clusters;
}
/** Exactly one way to authenticate (or none). */
function marathonAuthFromInputs(i) {
    const basic = i.user !== undefined || i.password !== undefined;
    const sa = i.serviceAccountId !== undefined || i.serviceAccountKey !== undefined;
    const modes = [];
    if (basic)
        modes.push(['marathon-user', 'marathon-user/marathon-password']);
    if (i.token !== undefined)
        modes.push(['marathon-token', 'marathon-token']);
    if (sa)
        modes.push(['service-account-id', 'service-account-id/service-account-key']);
    if (modes.length > 1) {
        const [first, second] = modes;
        throw new errors/* InputError */.dz(second[0], `cannot be combined with ${first[1]}; expected one way to authenticate (basic, token or service account).`);
    }
    if (i.loginUrl !== undefined && !sa)
        throw new errors/* InputError */.dz('login-url', 'is only used with service-account-id and service-account-key; expected those too.');
    if (basic) {
        if (!i.user)
            throw new errors/* InputError */.dz('marathon-user', 'is required with marathon-password; expected a user name.');
        if (!i.password)
            throw new errors/* InputError */.dz('marathon-password', 'is required with marathon-user; expected a password.');
        if (i.user.includes(':'))
            throw new errors/* InputError */.dz('marathon-user', `"${i.user}" contains ':'; HTTP basic user names cannot.`);
        return { kind: 'basic', user: i.user, password: i.password };
    }
    if (i.token !== undefined)
        return { kind: 'token', token: i.token };
    if (sa) {
        if (!i.serviceAccountId)
            throw new errors/* InputError */.dz('service-account-id', 'is required with service-account-key; expected the service account uid.');
        if (!i.serviceAccountKey)
            throw new errors/* InputError */.dz('service-account-key', 'is required with service-account-id; expected its PEM private key.');
        return {
            kind: 'service-account',
            uid: i.serviceAccountId,
            privateKey: readPrivateKey(i.serviceAccountKey),
            ...(i.loginUrl !== undefined ? { loginUrl: i.loginUrl } : {}),
        };
    }
    return { kind: 'none' };
}
/** Read and parse the app definition file. `shown` is how the path is shown (relative to the workspace). */
function readAppDefinitionFile(path, workspace) {
    const rel = (0,external_node_path_.relative)(workspace, path);
    const shown = rel && !rel.startsWith('..') ? rel : path;
    const source = `app-definition ${shown}`;
    let text;
    try {
        text = (0,external_node_fs_.readFileSync)(path, 'utf8');
    }
    catch (e) {
        const code = e.code;
        throw new errors/* InputError */.dz('app-definition', `"${shown}" cannot be read (${code === 'EISDIR' ? 'it is a directory' : (code ?? e.message)}); expected a JSON file.`);
    }
    return { ...loadAppDefinition(text, source), source };
}
/** Kiln's own labels: release id, commit, run URL (each when known). */
function kilnLabels(ci, releaseId) {
    const out = {};
    if (releaseId)
        out[KILN_LABELS.releaseId] = releaseId;
    if (ci.sha)
        out[KILN_LABELS.commit] = ci.sha;
    if (ci.runUrl)
        out[KILN_LABELS.runUrl] = ci.runUrl;
    return out;
}
/** Where the rendered definition goes when the user did not say: the runner's temp dir, the project dir, or /tmp. */
function defaultRenderedPath(kind, env, workspace, appId) {
    const slug = appId.replace(/^\//, '').replace(/\//g, '_') || 'app';
    const dir = kind === 'github' ? (env.RUNNER_TEMP ?? (0,external_node_os_.tmpdir)()) : kind === 'gitlab' ? workspace : (0,external_node_os_.tmpdir)();
    return (0,external_node_path_.join)(dir, `kiln-marathon-${slug}.json`);
}
/** Write the rendered definition (2-space JSON, final newline). */
function writeRenderedDefinition(path, rendered) {
    try {
        (0,external_node_fs_.mkdirSync)((0,external_node_path_.dirname)(path), { recursive: true });
        (0,external_node_fs_.writeFileSync)(path, stringifyJson(rendered.definition) + '\n');
    }
    catch (e) {
        throw new errors/* ConfigurationError */.j1(`Input 'rendered-file': cannot write "${path}": ${e.message}.`);
    }
}

// EXTERNAL MODULE: ./packages/core/src/util/duration.ts
var duration = __webpack_require__(4144);
// EXTERNAL MODULE: ./packages/core/src/http/http.ts + 1 modules
var http = __webpack_require__(3996);
// EXTERNAL MODULE: ./packages/core/src/util/sleep.ts
var sleep = __webpack_require__(9485);
;// CONCATENATED MODULE: ./packages/core/src/marathon/client.ts
/**
 * A small Marathon `/v2` client on Kiln's HTTP layer (timeouts, retries with Retry-After, proxies): apps
 * (GET / PUT / versions / DELETE), deployments (list, DELETE with and without force), the `/v2/events` stream, and
 * the three ways to authenticate (see auth.ts). Answers are read with Kiln's JSON parser, so an app definition
 * read back keeps every number exactly.
 *
 * The contract followed is /work/shared/reference/marathon-api.md: `PUT /v2/apps/{id}` answers 200/201 with
 * `{deploymentId, version}` (409 + `deployments:[{id}]` when locked); `DELETE /v2/deployments/{id}` answers 200
 * with the revert deployment (Marathon's rollback) or, with `force=true`, 202 and nothing; `GET /v2/apps/{id}`
 * wraps the app in `{"app": …}`.
 */






/** Marathon answered with an error status. */
class MarathonError extends Error {
    status;
    marathonMessage;
    body;
    name = 'MarathonError';
    constructor(message, status, marathonMessage, body) {
        super(message);
        this.status = status;
        this.marathonMessage = marathonMessage;
        this.body = body;
    }
}
const str = (v) => (typeof v === 'string' ? v : undefined);
function parseTask(t) {
    if (!isJsonObject(t) || typeof t['id'] !== 'string')
        return undefined;
    const results = Array.isArray(t['healthCheckResults']) ? t['healthCheckResults'] : [];
    return {
        id: t['id'],
        state: str(t['state']) ?? 'UNKNOWN',
        version: str(t['version']) ?? '',
        host: str(t['host']),
        startedAt: str(t['startedAt']),
        healthCheckResults: results.filter(isJsonObject).map((r) => ({
            alive: r['alive'] === true,
            consecutiveFailures: numberValue(r['consecutiveFailures']),
            lastFailureCause: str(r['lastFailureCause']),
        })),
    };
}
/** Read the app object of `GET /v2/apps/{id}`. */
function parseApp(raw) {
    const versionInfo = isJsonObject(raw['versionInfo']) ? raw['versionInfo'] : {};
    const version = str(raw['version']) ?? '';
    const ltf = raw['lastTaskFailure'];
    return {
        raw,
        id: str(raw['id']) ?? '',
        version,
        lastConfigChangeAt: str(versionInfo['lastConfigChangeAt']) ?? version,
        instances: numberValue(raw['instances']) ?? 1,
        image: definitionImage(raw),
        healthChecks: Array.isArray(raw['healthChecks']) ? raw['healthChecks'].length : 0,
        readinessChecks: Array.isArray(raw['readinessChecks']) ? raw['readinessChecks'].length : 0,
        tasks: (Array.isArray(raw['tasks']) ? raw['tasks'] : []).map(parseTask).filter((t) => t !== undefined),
        deployments: (Array.isArray(raw['deployments']) ? raw['deployments'] : [])
            .map((d) => (isJsonObject(d) ? str(d['id']) : undefined))
            .filter((d) => d !== undefined),
        lastTaskFailure: isJsonObject(ltf)
            ? {
                taskId: str(ltf['taskId']) ?? '',
                state: str(ltf['state']) ?? '',
                message: str(ltf['message']) ?? '',
                version: str(ltf['version']) ?? '',
                timestamp: str(ltf['timestamp']) ?? '',
                host: str(ltf['host']),
            }
            : undefined,
    };
}
function parseDeployment(d) {
    if (!isJsonObject(d) || typeof d['id'] !== 'string')
        return undefined;
    const current = Array.isArray(d['currentActions']) ? d['currentActions'].filter(isJsonObject) : [];
    return {
        id: d['id'],
        version: str(d['version']) ?? '',
        affectedApps: (Array.isArray(d['affectedApps']) ? d['affectedApps'] : []).filter((a) => typeof a === 'string'),
        currentStep: numberValue(d['currentStep']) ?? 0,
        totalSteps: numberValue(d['totalSteps']) ?? 0,
        actions: current.map((a) => str(a['action']) ?? '?'),
        readiness: current.flatMap((a) => (Array.isArray(a['readinessCheckResults']) ? a['readinessCheckResults'] : [])
            .filter(isJsonObject)
            .map((r) => ({ taskId: str(r['taskId']) ?? '', ready: r['ready'] === true, name: str(r['name']) }))),
    };
}
/** `/a/b` → `a/b` with each segment URL-encoded. */
function appPath(id) {
    return id
        .split('/')
        .filter((s) => s !== '')
        .map(encodeURIComponent)
        .join('/');
}
class MarathonClient {
    o;
    url;
    /** The URL without credentials, for messages. */
    displayUrl;
    token;
    loginInFlight;
    constructor(o) {
        this.o = o;
        this.url = o.url.replace(/\/+$/, '');
        this.displayUrl = (0,http/* redactUrl */.BO)(new URL(this.url)).replace(/\/+$/, '');
        if (o.auth.kind === 'basic') {
            o.registerSecret(o.auth.password);
            o.registerSecret(Buffer.from(`${o.auth.user}:${o.auth.password}`).toString('base64'));
        }
        if (o.auth.kind === 'token')
            o.registerSecret(o.auth.token);
    }
    authHeader() {
        const a = this.o.auth;
        if (a.kind === 'basic')
            return `Basic ${Buffer.from(`${a.user}:${a.password}`).toString('base64')}`;
        if (a.kind === 'token')
            return `token=${a.token}`;
        if (a.kind === 'service-account' && this.token)
            return `token=${this.token}`;
        return undefined;
    }
    /** DC/OS service-account login: JWT → login endpoint → token (shared by concurrent callers). */
    async login(opts = {}) {
        const a = this.o.auth;
        if (a.kind !== 'service-account')
            throw new Error('Bug: login without a service account');
        this.loginInFlight ??= (async () => {
            const loginUrl = a.loginUrl ?? defaultLoginUrl(this.url);
            const jwt = signServiceAccountToken(a.uid, a.privateKey, (this.o.now ?? Date.now)() / 1000);
            this.o.registerSecret(jwt);
            const res = await (0,http/* httpRequest */.aj)(loginUrl, {
                method: 'POST',
                headers: { 'content-type': 'application/json', accept: 'application/json' },
                body: JSON.stringify({ uid: a.uid, token: jwt }),
                retryUnsafe: true,
                timeoutMs: this.o.requestTimeoutMs ?? 30_000,
                insecure: this.o.insecure,
                signal: opts.signal,
                deadline: opts.deadline,
                logger: this.o.log,
                env: this.o.env,
            });
            const text = await res.text();
            let body;
            try {
                body = parseJson(text);
            }
            catch {
                body = undefined;
            }
            const token = isJsonObject(body) ? str(body['token']) : undefined;
            if (res.status !== 200 || !token) {
                const msg = isJsonObject(body) ? (str(body['description']) ?? str(body['message'])) : undefined;
                const hint = res.status === 401
                    ? '; check service-account-id and service-account-key (the account must exist and hold the public key)'
                    : '';
                throw new errors/* ConfigurationError */.j1(`DC/OS login at ${(0,http/* redactUrl */.BO)(new URL(loginUrl))} for service account '${a.uid}' failed: HTTP ${res.status}${msg ? ` ${msg}` : ''}${hint}.`);
            }
            this.o.registerSecret(token);
            this.token = token;
            this.o.log.debug(`Logged in to DC/OS as service account '${a.uid}'.`);
            return token;
        })().finally(() => {
            this.loginInFlight = undefined;
        });
        return this.loginInFlight;
    }
    /** One request; re-logs in once on 401 with a service account. Returns the raw response. */
    async send(method, path, opts) {
        const a = this.o.auth;
        if (a.kind === 'service-account' && !this.token)
            await this.login(opts);
        for (let attempt = 0;; attempt++) {
            const headers = {
                accept: opts.accept ?? 'application/json',
                authorization: this.authHeader(),
            };
            if (opts.body !== undefined)
                headers['content-type'] = 'application/json';
            const res = await (0,http/* httpRequest */.aj)(`${this.url}${path}`, {
                method,
                headers,
                body: opts.body,
                timeoutMs: opts.timeoutMs ?? this.o.requestTimeoutMs ?? 30_000,
                insecure: this.o.insecure,
                signal: opts.signal,
                deadline: opts.deadline,
                logger: this.o.log,
                env: this.o.env,
                ...(opts.retries !== undefined ? { retry: { retries: opts.retries } } : {}),
            });
            if (res.status === 401 && a.kind === 'service-account' && attempt === 0) {
                await res.dump();
                this.o.log.debug('Marathon answered 401: the DC/OS token expired or was revoked; logging in again.');
                this.token = undefined;
                await this.login(opts);
                continue;
            }
            return res;
        }
    }
    async call(method, path, opts = {}) {
        const res = await this.send(method, path, opts);
        const text = await res.text();
        let body;
        if (text.trim() !== '') {
            try {
                body = parseJson(text);
            }
            catch {
                body = text;
            }
        }
        const ok = opts.ok ?? [200, 201];
        if (!ok.includes(res.status))
            throw this.error(method, path, res.status, body);
        return { status: res.status, body, res };
    }
    error(method, path, status, body) {
        const message = isJsonObject(body)
            ? str(body['message'])
            : typeof body === 'string'
                ? body.slice(0, 200)
                : undefined;
        const details = isJsonObject(body) && Array.isArray(body['details'])
            ? body['details']
                .filter(isJsonObject)
                .map((d) => {
                const errors = Array.isArray(d['errors'])
                    ? d['errors'].filter((e) => typeof e === 'string')
                    : [];
                return `${str(d['path']) ?? '/'}: ${errors.join(', ')}`;
            })
                .join('; ')
            : '';
        const what = `${method} ${this.displayUrl}${path} answered HTTP ${status}${message ? ` ${message}` : ''}${details ? ` (${details})` : ''}`;
        if (status === 401) {
            const hint = this.o.auth.kind === 'none'
                ? 'Marathon requires credentials: give marathon-user and marathon-password, marathon-token, or a service account'
                : 'the credentials were rejected; check them';
            return new MarathonError(`${what}: ${hint}.`, status, message, body);
        }
        if (status === 403)
            return new MarathonError(`${what}: the credentials may not do this.`, status, message, body);
        return new MarathonError(what, status, message, body);
    }
    /** `GET /v2/apps/{id}`; undefined when the app does not exist. */
    async getApp(id, opts = {}) {
        const r = await this.call('GET', `/v2/apps/${appPath(id)}`, { ...opts, ok: [200, 404] });
        if (r.status === 404)
            return undefined;
        const app = isJsonObject(r.body) ? r.body['app'] : undefined;
        if (!isJsonObject(app))
            throw new Error(`GET ${this.displayUrl}/v2/apps${id}: the answer has no "app" object`);
        return parseApp(app);
    }
    /** `PUT /v2/apps/{id}` with a rendered definition (or `{"version": ts}`); a 409 lock is a result, not an error. */
    async putApp(id, definition, opts = {}) {
        const query = opts.force ? '?force=true' : '';
        const r = await this.call('PUT', `/v2/apps/${appPath(id)}${query}`, {
            ...opts,
            body: stringifyJson(definition, 0),
            ok: [200, 201, 409],
        });
        if (r.status === 409) {
            const ids = isJsonObject(r.body) && Array.isArray(r.body['deployments'])
                ? r.body['deployments']
                    .map((d) => (isJsonObject(d) ? str(d['id']) : undefined))
                    .filter((d) => d !== undefined)
                : [];
            if (ids.length === 0)
                throw this.error('PUT', `/v2/apps${id}`, 409, r.body);
            return { kind: 'locked', deploymentIds: ids };
        }
        const ref = this.deploymentRef(r.body, r.res, `PUT /v2/apps${id}`);
        return { kind: 'deployed', created: r.status === 201, ...ref };
    }
    deploymentRef(body, res, what) {
        const deploymentId = (isJsonObject(body) ? str(body['deploymentId']) : undefined) ?? res.header('marathon-deployment-id');
        const version = isJsonObject(body) ? str(body['version']) : undefined;
        if (!deploymentId || !version)
            throw new Error(`${what}: the answer has no deploymentId/version`);
        return { deploymentId, version };
    }
    /** `GET /v2/apps/{id}/versions`, newest first. */
    async getVersions(id, opts = {}) {
        const r = await this.call('GET', `/v2/apps/${appPath(id)}/versions`, opts);
        const list = isJsonObject(r.body) && Array.isArray(r.body['versions']) ? r.body['versions'] : [];
        return list
            .filter((v) => typeof v === 'string')
            .sort((a, b) => Date.parse(b) - Date.parse(a));
    }
    /** `GET /v2/apps/{id}/versions/{version}`: the bare definition of that version. */
    async getVersion(id, version, opts = {}) {
        const r = await this.call('GET', `/v2/apps/${appPath(id)}/versions/${encodeURIComponent(version)}`, {
            ...opts,
            ok: [200, 404],
        });
        return r.status === 200 && isJsonObject(r.body) ? r.body : undefined;
    }
    /** `GET /v2/deployments`. */
    async deployments(opts = {}) {
        const r = await this.call('GET', '/v2/deployments', opts);
        return (Array.isArray(r.body) ? r.body : []).map(parseDeployment).filter((d) => d !== undefined);
    }
    /**
     * `DELETE /v2/deployments/{id}`. Without force: Marathon cancels it and starts a deployment that reverts the
     * change (returned). With force: just stops it (`'stopped'`). `'not-found'` when it already ended.
     */
    async cancelDeployment(id, opts = {}) {
        const r = await this.call('DELETE', `/v2/deployments/${encodeURIComponent(id)}${opts.force ? '?force=true' : ''}`, {
            ...opts,
            ok: [200, 202, 404],
        });
        if (r.status === 404)
            return 'not-found';
        if (r.status === 202 || opts.force)
            return 'stopped';
        return this.deploymentRef(r.body, r.res, `DELETE /v2/deployments/${id}`);
    }
    /** `DELETE /v2/apps/{id}` (used only to undo an app this run created). */
    async deleteApp(id, opts = {}) {
        const r = await this.call('DELETE', `/v2/apps/${appPath(id)}`, { ...opts, ok: [200, 202, 404] });
        if (r.status === 404)
            return 'not-found';
        return this.deploymentRef(r.body, r.res, `DELETE /v2/apps${id}`);
    }
    /**
     * Follow `/v2/events` (SSE) and call `onEvent` for each event until `signal` aborts. Reconnects after a
     * dropped stream; gives up (resolves) when the server does not offer the stream (404/405/401/403), since
     * polling stays the source of truth. `onAttached` is called each time the stream is (re)attached.
     */
    async followEvents(types, onEvent, signal, onAttached) {
        const query = types.map((t) => `event_type=${encodeURIComponent(t)}`).join('&');
        let failures = 0;
        while (!signal.aborted) {
            try {
                const res = await this.send('GET', `/v2/events${query ? `?${query}` : ''}`, {
                    accept: 'text/event-stream',
                    signal,
                    retries: 0,
                    timeoutMs: 24 * 3600_000,
                });
                if (res.status !== 200) {
                    await res.dump();
                    this.o.log.debug(`Event stream unavailable (HTTP ${res.status}); following the deployment by polling only.`);
                    if ([401, 403, 404, 405, 406].includes(res.status))
                        return;
                    throw new Error(`HTTP ${res.status}`);
                }
                failures = 0;
                let buffer = '';
                const decoder = new TextDecoder();
                for await (const chunk of res.body) {
                    buffer += decoder.decode(chunk, { stream: true }).replace(/\r\n/g, '\n');
                    let end;
                    while ((end = buffer.indexOf('\n\n')) >= 0) {
                        const frame = buffer.slice(0, end);
                        buffer = buffer.slice(end + 2);
                        let type = 'message';
                        const data = [];
                        for (const line of frame.split('\n')) {
                            if (line.startsWith('event:'))
                                type = line.slice(6).trim();
                            else if (line.startsWith('data:'))
                                data.push(line.slice(5).replace(/^ /, ''));
                        }
                        if (type === 'event_stream_attached') {
                            onAttached?.();
                            continue;
                        }
                        let parsed;
                        try {
                            parsed = parseJson(data.join('\n'));
                        }
                        catch {
                            continue;
                        }
                        if (isJsonObject(parsed))
                            onEvent({ eventType: str(parsed['eventType']) ?? type, data: parsed });
                    }
                }
                if (signal.aborted)
                    return;
                this.o.log.debug('Event stream ended; reconnecting.');
            }
            catch (e) {
                if (signal.aborted || e instanceof errors/* CancelledError */.cc)
                    return;
                failures++;
                this.o.log.debug(`Event stream: ${e.message}; reconnecting (polling continues meanwhile).`);
            }
            try {
                await (0,sleep/* sleep */.y)(Math.min(10_000, 250 * 2 ** Math.min(failures, 6)), signal);
            }
            catch {
                return;
            }
        }
    }
}

;// CONCATENATED MODULE: ./packages/core/src/marathon/diff.ts
/**
 * What a deployment changes: the rendered definition against the one that runs now, field by field (JSON
 * pointers). Kiln updates with Marathon's `partialUpdate` semantics (the default of `PUT /v2/apps/{id}`): the
 * top-level fields in the file replace the current ones, fields absent from the file keep their current value.
 * So only the file's top-level fields are compared; inside them every difference counts.
 */


function walk(path, before, after, out) {
    if (jsonEqual(before, after))
        return;
    if (before === undefined) {
        out.push({ path, kind: 'added', after });
        return;
    }
    if (after === undefined) {
        out.push({ path, kind: 'removed', before });
        return;
    }
    if (isJsonObject(before) && isJsonObject(after)) {
        const keys = [...Object.keys(before), ...Object.keys(after).filter((k) => !(k in before))];
        for (const k of keys)
            walk(`${path}/${pointerSegment(k)}`, before[k], after[k], out);
        return;
    }
    if (Array.isArray(before) && Array.isArray(after) && before.length === after.length) {
        before.forEach((b, i) => walk(`${path}/${i}`, b, after[i], out));
        return;
    }
    out.push({ path, kind: 'changed', before, after });
}
/**
 * Changes `rendered` makes to `current` (undefined: the app does not exist yet, every field is added). `id` and
 * Marathon's computed fields are not compared.
 */
function diffDefinitions(current, rendered, opts = {}) {
    const ignore = new Set(opts.ignoreLabels ?? VOLATILE_LABELS);
    const strip = (labels) => {
        if (!isJsonObject(labels))
            return labels;
        const out = {};
        for (const [k, v] of Object.entries(labels))
            if (!ignore.has(k))
                out[k] = v;
        return out;
    };
    const out = [];
    for (const key of Object.keys(rendered)) {
        if (key === 'id' || COMPUTED_APP_FIELDS.includes(key))
            continue;
        let before = current?.[key];
        let after = rendered[key];
        if (key === 'labels') {
            before = strip(before);
            after = strip(after);
            // Marathon stores absent labels as {}: an empty object and no labels mean the same.
            if (current !== undefined &&
                before === undefined &&
                isJsonObject(after) &&
                Object.keys(after).length === 0)
                continue;
        }
        if (current === undefined)
            out.push({ path: `/${pointerSegment(key)}`, kind: 'added', after });
        else
            walk(`/${pointerSegment(key)}`, before, after, out);
    }
    return out;
}
function diff_short(v, max = 160) {
    const text = v === undefined ? '' : stringifyJson(v, 0);
    return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}
/** One line per change: `~ /path: before → after`, `+ /path: value`, `- /path: value`. */
function formatDiff(changes) {
    return changes.map((c) => c.kind === 'added'
        ? `+ ${c.path}: ${diff_short(c.after)}`
        : c.kind === 'removed'
            ? `- ${c.path}: ${diff_short(c.before)}`
            : `~ ${c.path}: ${diff_short(c.before)} → ${diff_short(c.after)}`);
}

;// CONCATENATED MODULE: ./packages/core/src/marathon/wait.ts
/**
 * Waiting for a Marathon deployment, the way Marathon needs it: polling is the source of truth
 * (`GET /v2/deployments` + `GET /v2/apps/{id}`), the `/v2/events` stream only wakes the poller up early, so a
 * finished deployment is noticed within milliseconds and a lost or reordered event costs at most one poll
 * interval.
 *
 * Marathon never fails a deployment for bad health: it kills and relaunches unhealthy or crashing tasks forever.
 * So the watcher decides failure itself, within one deadline:
 * - success: our deployment left `/v2/deployments` and the app has `instances` tasks of the new configuration
 *   (launched at or after `versionInfo.lastConfigChangeAt`) running and healthy (Marathon only finishes a
 *   deployment once they are also ready);
 * - crash loop: `failureThreshold` distinct tasks of the new configuration failed or were killed as unhealthy
 *   (from `lastTaskFailure`, tasks that vanished between polls, and task events), with Marathon's own message;
 * - superseded: another deployment changed the app meanwhile; cancelled: our deployment was cancelled by
 *   someone else (`deployment_failed`);
 * - the deadline, with what was still missing and the health-check cause.
 */




/** Task states that end a task for good. */
const TERMINAL_FAILURES = new Set([
    'TASK_FAILED',
    'TASK_ERROR',
    'TASK_LOST',
    'TASK_GONE',
    'TASK_DROPPED',
    'TASK_UNREACHABLE',
    'TASK_GONE_BY_OPERATOR',
]);
/** The event types that can change what a poll sees. */
const WATCHED_EVENT_TYPES = [
    'deployment_success',
    'deployment_failed',
    'deployment_step_success',
    'deployment_step_failure',
    'status_update_event',
    'health_status_changed_event',
    'unhealthy_instance_kill_event',
];
/**
 * One `/v2/events` subscription per Marathon, shared by every wait on it: remembers task failures and cancelled
 * deployments of one app, and wakes waiters up.
 */
class EventHub {
    client;
    appId;
    waiters = new Set();
    stop = new AbortController();
    running;
    failures = [];
    failedDeployments = new Map();
    /** Whether the stream is attached (for diagnostics and the bench). */
    attached = false;
    constructor(client, appId) {
        this.client = client;
        this.appId = appId;
    }
    start() {
        this.running ??= this.client.followEvents(WATCHED_EVENT_TYPES, (e) => this.onEvent(e.eventType, e.data), this.stop.signal, () => {
            this.attached = true;
            this.wake();
        });
    }
    async close() {
        this.stop.abort();
        await this.running?.catch(() => undefined);
    }
    onEvent(type, d) {
        const appId = typeof d['appId'] === 'string' ? d['appId'] : undefined;
        if (type === 'deployment_failed' && typeof d['id'] === 'string')
            this.failedDeployments.set(d['id'], typeof d['reason'] === 'string' ? d['reason'] : 'deployment failed');
        if (type.startsWith('deployment_')) {
            this.wake();
            return;
        }
        if (appId !== this.appId)
            return;
        const taskId = typeof d['taskId'] === 'string' ? d['taskId'] : undefined;
        const version = typeof d['version'] === 'string' ? d['version'] : '';
        if (type === 'status_update_event' && taskId && TERMINAL_FAILURES.has(String(d['taskStatus'])))
            this.failures.push({
                taskId,
                version,
                state: String(d['taskStatus']),
                message: typeof d['message'] === 'string' ? d['message'] : '',
            });
        if (type === 'unhealthy_instance_kill_event' && taskId)
            this.failures.push({
                taskId,
                version,
                state: 'TASK_KILLED',
                message: `Task was killed since health check failed. Reason: ${typeof d['reason'] === 'string' ? d['reason'] : 'unknown'}`,
            });
        this.wake();
    }
    wake() {
        for (const w of [...this.waiters])
            w();
    }
    /** Resolves after `ms`, or earlier when an event arrives; rejects when `signal` aborts. */
    wait(ms, signal) {
        return new Promise((resolve, reject) => {
            if (signal?.aborted)
                return reject((0,sleep/* abortReason */.J)(signal));
            const done = () => {
                clearTimeout(timer);
                this.waiters.delete(done);
                signal?.removeEventListener('abort', onAbort);
                resolve();
            };
            const onAbort = () => {
                clearTimeout(timer);
                this.waiters.delete(done);
                reject((0,sleep/* abortReason */.J)(signal));
            };
            const timer = setTimeout(done, Math.max(0, ms));
            this.waiters.add(done);
            signal?.addEventListener('abort', onAbort, { once: true });
        });
    }
}
function isRunning(state) {
    return state === 'TASK_RUNNING';
}
function isStaged(state) {
    return state === 'TASK_STAGING' || state === 'TASK_STARTING' || state === 'TASK_PROVISIONED';
}
/** `step 1/1 RestartApplication · new version: 1/3 healthy, 2 running, 1 staged · 2 old · 4.2s` */
function progressLine(s, subject = 'new version') {
    const parts = [];
    if (s.deployment)
        parts.push(`step ${s.deployment.currentStep}/${s.deployment.totalSteps} ${s.deployment.actions.join('+') || '…'}`);
    else
        parts.push('deployment finished');
    parts.push(`${subject}: ${s.newHealthy}/${s.instances} healthy, ${s.newRunning} running, ${s.newStaged} staged`);
    if (s.deployment && s.deployment.readiness.length > 0)
        parts.push(`${s.deployment.readiness.filter((r) => r.ready).length}/${s.deployment.readiness.length} ready`);
    if (s.oldTasks > 0)
        parts.push(`${s.oldTasks} old`);
    if (s.failures > 0)
        parts.push(`${s.failures} failed${s.lastFailure ? ` (${s.lastFailure})` : ''}`);
    else if (s.healthCause && s.newHealthy < s.newRunning)
        parts.push(`health: ${s.healthCause}`);
    parts.push((0,duration/* formatDuration */.a)(s.elapsedMs));
    return parts.join(' · ');
}
/** Wait for one deployment; never throws except on cancellation (the signal). */
async function watchDeployment(o) {
    const started = Date.now();
    const heartbeat = o.heartbeatMs ?? 30_000;
    const prefix = o.prefix ?? '';
    let configSince;
    const failed = new Map();
    /** Task id → true when it was killed for failing health checks. */
    const unhealthy = new Set();
    let previousNew = new Map();
    let lastLine = '';
    let lastLineAt = 0;
    let lastKey = '';
    let pollErrors = 0;
    let state = {
        elapsedMs: 0,
        instances: 0,
        newHealthy: 0,
        newRunning: 0,
        newStaged: 0,
        oldTasks: 0,
        failures: 0,
    };
    const isNew = (version) => configSince !== undefined && Date.parse(version) >= configSince;
    for (;;) {
        if (o.signal?.aborted)
            throw (0,sleep/* abortReason */.J)(o.signal);
        let deployments;
        let app;
        try {
            const call = { signal: o.signal, deadline: o.deadline };
            [deployments, app] = await Promise.all([o.client.deployments(call), o.client.getApp(o.appId, call)]);
            pollErrors = 0;
        }
        catch (e) {
            if (e instanceof errors/* CancelledError */.cc || o.signal?.aborted)
                throw e;
            const fatal = e instanceof MarathonError && (e.status === 401 || e.status === 403);
            pollErrors++;
            if (fatal || Date.now() >= o.deadline)
                return { ok: false, kind: 'error', reason: e.message, state };
            o.log.warning(`${prefix}Polling Marathon failed (${e.message}); trying again.`);
            await o.events.wait(Math.min(o.pollIntervalMs * 2 ** Math.min(pollErrors, 4), 30_000), o.signal);
            continue;
        }
        const ours = deployments.find((d) => d.id === o.deploymentId);
        const elapsedMs = Date.now() - started;
        if (!app) {
            state = { ...state, elapsedMs, deployment: ours, app: undefined };
            o.onState?.(state);
            if (o.expectDeleted) {
                if (!ours)
                    return { ok: true, state };
            }
            else
                return {
                    ok: false,
                    kind: 'deleted',
                    reason: `the app ${o.appId} was deleted while Kiln waited for deployment ${o.deploymentId}`,
                    state,
                };
        }
        else {
            configSince ??= Date.parse(app.lastConfigChangeAt);
            const newTasks = app.tasks.filter((t) => isNew(t.version));
            const healthy = newTasks.filter((t) => isRunning(t.state) &&
                (app.healthChecks === 0 ||
                    (t.healthCheckResults.length > 0 && t.healthCheckResults.every((r) => r.alive))));
            const causes = newTasks.flatMap((t) => t.healthCheckResults
                .filter((r) => !r.alive && r.lastFailureCause)
                .map((r) => r.lastFailureCause));
            // Failures of new tasks: lastTaskFailure, tasks that vanished, and task events.
            const ltf = app.lastTaskFailure;
            let lastFailure = state.lastFailure;
            if (ltf && isNew(ltf.version) && ltf.taskId !== o.ignoreFailureOf && ltf.state === 'TASK_KILLED')
                unhealthy.add(ltf.taskId);
            if (ltf && isNew(ltf.version) && ltf.taskId !== o.ignoreFailureOf && !failed.has(ltf.taskId)) {
                failed.set(ltf.taskId, ltf.message);
                lastFailure = `${ltf.state}${ltf.message ? `: ${ltf.message}` : ''}`;
            }
            const present = new Set(app.tasks.map((t) => t.id));
            if (previousNew.size <= app.instances) {
                for (const [id] of previousNew)
                    if (!present.has(id) && !failed.has(id)) {
                        const message = ltf?.taskId === id ? ltf.message : 'the task ended';
                        failed.set(id, message);
                        lastFailure ??= message;
                    }
            }
            for (const f of o.events.failures) {
                if (!isNew(f.version) || f.taskId === o.ignoreFailureOf)
                    continue;
                if (f.state === 'TASK_KILLED')
                    unhealthy.add(f.taskId);
                if (!failed.has(f.taskId)) {
                    failed.set(f.taskId, f.message);
                    lastFailure = `${f.state}${f.message ? `: ${f.message}` : ''}`;
                }
            }
            previousNew = new Map(newTasks.map((t) => [t.id, t.version]));
            state = {
                elapsedMs,
                deployment: ours,
                instances: app.instances,
                newHealthy: healthy.length,
                newRunning: newTasks.filter((t) => isRunning(t.state)).length,
                newStaged: newTasks.filter((t) => isStaged(t.state)).length,
                oldTasks: app.tasks.length - newTasks.length,
                failures: failed.size,
                lastFailure,
                healthCause: causes[causes.length - 1] ?? state.healthCause,
                app,
                appVersion: app.version,
            };
            o.onState?.(state);
            const key = [
                ours?.currentStep,
                state.newHealthy,
                state.newRunning,
                state.newStaged,
                state.oldTasks,
                state.failures,
                ours?.readiness.filter((r) => r.ready).length,
                !!ours,
            ].join('|');
            if (key !== lastKey || Date.now() - lastLineAt >= heartbeat) {
                const line = progressLine(state, o.subject);
                if (line !== lastLine)
                    o.log.info(`${prefix}${line}`);
                lastLine = line;
                lastKey = key;
                lastLineAt = Date.now();
            }
            if (app.version !== o.version && !o.expectDeleted) {
                const other = app.deployments.filter((d) => d !== o.deploymentId);
                return {
                    ok: false,
                    kind: 'superseded',
                    reason: `another change replaced this deployment: the app is now at version ${app.version}${other.length ? ` (deployment ${other.join(', ')})` : ''}`,
                    state,
                };
            }
            if (failed.size >= o.failureThreshold) {
                const killed = [...failed.keys()].filter((id) => unhealthy.has(id)).length;
                const what = killed === 0
                    ? 'crash loop: the new version keeps failing'
                    : killed === failed.size
                        ? 'unhealthy: the new version keeps failing its health checks'
                        : "the new version's tasks keep crashing or failing their health checks";
                const reason = `${what}: ${failed.size} task(s) ended (failure-threshold ${o.failureThreshold}); last: ${lastFailure ?? 'no message'}`;
                return { ok: false, kind: 'crash-loop', reason, state };
            }
            if (!ours) {
                const cancelled = o.events.failedDeployments.get(o.deploymentId);
                if (cancelled !== undefined && !o.expectDeleted && healthy.length < app.instances)
                    return {
                        ok: false,
                        kind: 'cancelled-by-other',
                        reason: `deployment ${o.deploymentId} was stopped outside Kiln (${cancelled})`,
                        state,
                    };
                if (!o.expectDeleted && healthy.length >= app.instances)
                    return { ok: true, state };
            }
        }
        const remaining = o.deadline - Date.now();
        if (remaining <= 0)
            return { ok: false, kind: 'timeout', reason: timeoutReason(o, state), state };
        await o.events.wait(Math.min(o.pollIntervalMs, remaining), o.signal);
    }
}
function timeoutReason(o, s) {
    const missing = [];
    if (o.expectDeleted)
        missing.push('the app was not removed yet');
    else {
        missing.push(`${s.newHealthy}/${s.instances} task(s) of the new version healthy`);
        if (s.newRunning > s.newHealthy && s.healthCause)
            missing.push(`health checks failing: ${s.healthCause}`);
        if (s.lastFailure)
            missing.push(`last task failure: ${s.lastFailure}`);
        const notReady = s.deployment?.readiness.filter((r) => !r.ready).length ?? 0;
        if (notReady > 0)
            missing.push(`${notReady} task(s) not ready`);
    }
    if (s.deployment)
        missing.push(`deployment ${o.deploymentId} still at step ${s.deployment.currentStep}/${s.deployment.totalSteps} (${s.deployment.actions.join('+')})`);
    return `not healthy within the timeout (${(0,duration/* formatDuration */.a)(s.elapsedMs)}): ${missing.join('; ')}`;
}
/** Wait until none of `ids` is in /v2/deployments (someone else's deployment holding the app's lock). */
async function waitForDeploymentsToEnd(o) {
    for (;;) {
        const listed = await o.client.deployments({ signal: o.signal, deadline: o.until });
        if (!listed.some((d) => o.ids.includes(d.id)))
            return true;
        const remaining = o.until - Date.now();
        if (remaining <= 0)
            return false;
        await o.events.wait(Math.min(o.pollIntervalMs, remaining), o.signal);
    }
}

;// CONCATENATED MODULE: ./packages/core/src/marathon/deploy.ts
/**
 * deploy-marathon's domain logic: deploy one rendered app definition to one or more Marathon clusters, wait
 * until the new version is healthy, decide failure early, and roll back.
 *
 * Per cluster: preflight (read what runs, diff) → `PUT /v2/apps/{id}` (409: wait up to `lockTimeoutMs` for the
 * other deployment, then fail or, with `force`, override) → no-op detection (the app version did not change) →
 * watch (wait.ts) under one deadline → on failure, with `rollback: 'auto'`, cancel our deployment with a non-force
 * DELETE (Marathon reverts it), or, when it already finished, `PUT {"version": previous}` (or remove an app this run
 * created), and wait for that under its own deadline.
 *
 * Several clusters: every preflight runs first (nothing changes anywhere if one cluster cannot be read); then
 * `sequential` deploys one after the other and stops at the first failure, `parallel` deploys all at once and
 * stops the others' waits when one fails. Either way, with `rollback: 'auto'` every cluster this run changed
 * returns to its previous version, so the datacenters do not end up on different versions.
 *
 * Cancellation (SIGINT/SIGTERM through `signal`): Kiln stops waiting, starts nothing new, and reports per cluster
 * what is in flight on Marathon and how to undo it.
 */





/** A sibling cluster failed (parallel strategy): stop waiting and roll back. */
class SiblingFailed extends Error {
    cluster;
    constructor(cluster) {
        super(`stopped because ${cluster} failed`);
        this.cluster = cluster;
    }
}
class ClusterRun {
    o;
    t0;
    client;
    events;
    report;
    prefix;
    current;
    phase = 'preflight';
    lockIds = [];
    rollbackRef;
    stop = new AbortController();
    constructor(o, cluster, t0, multi) {
        this.o = o;
        this.t0 = t0;
        this.client = new MarathonClient({
            url: cluster.url,
            auth: o.auth,
            log: o.log,
            registerSecret: o.registerSecret,
            insecure: o.insecure,
            env: o.env,
            requestTimeoutMs: o.requestTimeoutMs,
        });
        this.events = new EventHub(this.client, o.app.id);
        this.prefix = multi ? `[${cluster.name}] ` : '';
        this.report = {
            name: cluster.name,
            url: this.client.displayUrl,
            appId: o.app.id,
            result: 'skipped',
            created: false,
            image: o.app.image,
            changes: [],
            timeline: [],
        };
    }
    get log() {
        return this.o.log;
    }
    mark(text) {
        this.report.timeline.push({ atMs: Date.now() - this.t0, text });
    }
    info(text) {
        this.log.info(`${this.prefix}${text}`);
    }
    /** Read what runs now and show what would change. Throws on any error (nothing has changed yet). */
    async preflight() {
        const deadline = Date.now() + this.o.timeoutMs;
        const current = await this.client.getApp(this.o.app.id, { signal: this.o.signal, deadline });
        this.current = current;
        const r = this.report;
        r.created = current === undefined;
        r.previousVersion = current?.version;
        r.previousImage = current?.image;
        r.changes = diffDefinitions(current?.raw, this.o.app.definition);
        if (current) {
            const healthy = current.tasks.filter((t) => t.state === 'TASK_RUNNING' &&
                (current.healthChecks === 0 ||
                    (t.healthCheckResults.length > 0 && t.healthCheckResults.every((h) => h.alive)))).length;
            this.info(`${this.client.displayUrl}: ${current.id} runs version ${current.version} (image ${current.image ?? 'none'}; ${healthy}/${current.instances} tasks healthy${current.deployments.length ? `; deployment ${current.deployments.join(', ')} in progress` : ''}).`);
        }
        else
            this.info(`${this.client.displayUrl}: ${this.o.app.id} does not exist yet; it will be created.`);
        const lines = formatDiff(r.changes);
        if (lines.length === 0)
            this.info('No changes to the app definition (Kiln’s run URL label aside).');
        else {
            this.log.startGroup(`${this.prefix}${current ? 'Changes' : 'New app'}: ${lines.length} field(s)`);
            for (const l of lines)
                this.log.info(l);
            this.log.endGroup();
        }
    }
    /** True when nothing would change: same definition (per-run labels aside) and no deployment running. */
    get unchanged() {
        return (this.current !== undefined && this.report.changes.length === 0 && this.current.deployments.length === 0);
    }
    async deploy(onFailure) {
        const r = this.report;
        const started = Date.now();
        const deadline = started + this.o.timeoutMs;
        const waitSignal = AbortSignal.any([this.o.signal, this.stop.signal]);
        try {
            if (this.unchanged) {
                r.result = 'unchanged';
                r.version = this.current?.version;
                r.reason = 'the running app already has this definition; nothing was submitted';
                this.mark(`unchanged: version ${r.version} already runs this definition`);
                this.info(`Unchanged: version ${r.version} already runs this definition (image ${this.current?.image}).`);
                return;
            }
            this.events.start();
            this.phase = 'submitting';
            this.info(`Submitting ${this.o.app.id} (image ${this.o.app.image}) to ${this.client.displayUrl}.`);
            const put = await this.submit(deadline, waitSignal);
            if (put.kind !== 'deployed') {
                this.fail(put.reason, 'locked');
                r.rollback = { result: 'not-needed', reason: 'nothing was changed' };
                onFailure(this);
                return;
            }
            r.deploymentId = put.deploymentId;
            r.version = put.version;
            this.phase = 'waiting';
            this.mark(`submitted: deployment ${put.deploymentId}, version ${put.version}${put.created ? ' (new app)' : ''}`);
            this.info(`Deployment ${put.deploymentId} started (version ${put.version}); waiting up to ${(0,duration/* formatDuration */.a)(this.o.timeoutMs)} for it to be healthy.`);
            if (this.current) {
                const after = await this.client.getApp(this.o.app.id, { signal: this.o.signal, deadline });
                if (after && after.version === this.current.version) {
                    r.result = 'unchanged';
                    r.version = after.version;
                    r.reason = 'Marathon found nothing to change (no new version)';
                    this.phase = 'done';
                    this.mark(`unchanged: Marathon created no new version (still ${after.version})`);
                    this.info(`Unchanged: Marathon created no new version; ${after.version} keeps running.`);
                    return;
                }
            }
            let outcome;
            try {
                outcome = await watchDeployment({
                    client: this.client,
                    events: this.events,
                    appId: this.o.app.id,
                    deploymentId: put.deploymentId,
                    version: put.version,
                    deadline,
                    pollIntervalMs: this.o.pollIntervalMs,
                    failureThreshold: this.o.failureThreshold,
                    ignoreFailureOf: this.current?.lastTaskFailure?.taskId,
                    signal: waitSignal,
                    log: this.log,
                    prefix: this.prefix,
                    onState: (s) => (r.state = s),
                });
            }
            catch (e) {
                if (this.stop.signal.aborted && !this.o.signal.aborted) {
                    const why = this.stop.signal.reason;
                    outcome = { ok: false, kind: 'error', reason: why.message, state: r.state };
                    r.failureKind = 'stopped';
                }
                else
                    throw e;
            }
            if (outcome.ok) {
                r.result = 'deployed';
                this.phase = 'done';
                const s = outcome.state;
                r.durationMs = Date.now() - started;
                this.mark(`healthy: ${s.newHealthy}/${s.instances} task(s) of version ${put.version}`);
                this.info(`Deployed: ${s.newHealthy}/${s.instances} task(s) of version ${put.version} healthy after ${(0,duration/* formatDuration */.a)(r.durationMs)}.`);
                return;
            }
            this.fail(outcome.reason, r.failureKind ?? outcome.kind);
            onFailure(this);
            if (outcome.kind === 'superseded' ||
                outcome.kind === 'cancelled-by-other' ||
                outcome.kind === 'deleted') {
                // Someone else acted on the app meanwhile: rolling back now would undo their change.
                r.rollback = {
                    result: 'none',
                    reason: 'the app was changed outside Kiln; Kiln does not override that',
                };
                this.mark('rollback: not attempted (the app was changed outside Kiln)');
                this.log.warning(`${this.prefix}Not rolling back: the app was changed outside Kiln, and a rollback would undo that change.`);
                return;
            }
            await this.rollbackSelf();
        }
        catch (e) {
            if (this.o.signal.aborted || e instanceof errors/* CancelledError */.cc) {
                this.cancelled();
                return;
            }
            if (this.stop.signal.aborted && this.phase !== 'waiting') {
                r.result = 'skipped';
                r.reason = `${(0,errors/* errorMessage */.gJ)(this.stop.signal.reason)}; nothing was changed here`;
                this.mark(r.reason);
                return;
            }
            const submitted = r.deploymentId !== undefined;
            this.fail((0,errors/* errorMessage */.gJ)(e), 'error');
            onFailure(this);
            if (submitted)
                await this.rollbackSelf();
            else
                r.rollback = { result: 'not-needed', reason: 'nothing was changed' };
        }
        finally {
            r.durationMs ??= Date.now() - started;
        }
    }
    fail(reason, kind) {
        const r = this.report;
        r.result = 'failed';
        r.reason = reason;
        r.failureKind = kind;
        this.mark(`failed: ${reason}`);
        this.log.error(`${this.prefix}Deployment of ${this.o.app.id} to ${r.name} failed: ${reason}`);
    }
    /** PUT, waiting out someone else's deployment (409) for up to lock-timeout, then failing or overriding. */
    async submit(deadline, waitSignal) {
        const lockUntil = Math.min(deadline, Date.now() + this.o.lockTimeoutMs);
        let force = false;
        for (;;) {
            // The PUT itself only stops for SIGINT/SIGTERM: aborting it half-way would leave its effect unknown.
            const put = await this.client.putApp(this.o.app.id, this.o.app.definition, {
                force,
                signal: this.o.signal,
                deadline,
            });
            if (put.kind === 'deployed')
                return put;
            const ids = put.deploymentIds.join(', ');
            if (this.phase !== 'locked') {
                this.phase = 'locked';
                this.lockIds = put.deploymentIds;
                this.mark(`locked by deployment ${ids}; waiting up to ${(0,duration/* formatDuration */.a)(this.o.lockTimeoutMs)}`);
                this.info(`${this.o.app.id} is locked by deployment ${ids}; waiting up to ${(0,duration/* formatDuration */.a)(this.o.lockTimeoutMs)} (lock-timeout) for it to end.`);
            }
            if (Date.now() < lockUntil) {
                const ended = await waitForDeploymentsToEnd({
                    client: this.client,
                    events: this.events,
                    ids: put.deploymentIds,
                    until: lockUntil,
                    pollIntervalMs: this.o.pollIntervalMs,
                    signal: waitSignal,
                });
                if (ended) {
                    this.mark(`deployment ${ids} ended; submitting again`);
                    this.info(`Deployment ${ids} ended; submitting again.`);
                    continue;
                }
            }
            // lock-timeout is over and the lock is still held.
            if (this.o.force) {
                this.log.warning(`${this.prefix}Deployment ${ids} still holds ${this.o.app.id} after ${(0,duration/* formatDuration */.a)(this.o.lockTimeoutMs)}; overriding it (force: true). Marathon cancels it without reverting, so its tasks may be mixed with ours until ours are healthy.`);
                this.mark(`overriding deployment ${ids} (force: true)`);
                force = true;
                continue;
            }
            return {
                kind: 'failed',
                reason: `${this.o.app.id} is locked by deployment ${ids}, still running after lock-timeout ${(0,duration/* formatDuration */.a)(this.o.lockTimeoutMs)}; nothing was changed. Wait for it to finish, cancel it (DELETE /v2/deployments/${put.deploymentIds[0]}), or set force: true to override it.`,
            };
        }
    }
    /** Undo this run's change here (our deployment is running or finished). Never throws except on cancel. */
    async rollbackSelf(reason) {
        const r = this.report;
        if (this.o.rollback === 'none') {
            r.rollback = { result: 'none' };
            const state = r.state ? `; last seen: ${progressLine(r.state)}` : '';
            this.mark('rollback: none (left as is)');
            this.log.warning(`${this.prefix}rollback: none — ${this.o.app.id} is left as it is${r.deploymentId ? ` (deployment ${r.deploymentId}, version ${r.version})` : ''}${state}. Marathon keeps relaunching failing tasks; roll back with PUT /v2/apps${this.o.app.id} {"version": "${r.previousVersion ?? '?'}"}.`);
            return;
        }
        this.phase = 'rolling-back';
        if (reason && r.reason === undefined)
            r.reason = `rolled back because ${reason}`;
        this.events.start();
        const deadline = Date.now() + this.o.rollbackTimeoutMs;
        const call = { signal: this.o.signal, deadline };
        const target = r.created
            ? 'remove the new app'
            : `version ${r.previousVersion} (image ${r.previousImage ?? 'none'})`;
        this.info(`Rolling back${reason ? ` (${reason})` : ''}: returning ${r.name} to ${target}; up to ${(0,duration/* formatDuration */.a)(this.o.rollbackTimeoutMs)}.`);
        try {
            let ref;
            let method;
            if (r.deploymentId) {
                const running = (await this.client.deployments(call)).some((d) => d.id === r.deploymentId);
                if (running) {
                    const c = await this.client.cancelDeployment(r.deploymentId, call);
                    if (typeof c === 'object') {
                        ref = c;
                        method = 'revert';
                        this.mark(`rollback: cancelled deployment ${r.deploymentId}; Marathon reverts it with deployment ${c.deploymentId}`);
                        this.info(`Cancelled deployment ${r.deploymentId}; Marathon reverts it with deployment ${c.deploymentId} (version ${c.version}).`);
                    }
                }
            }
            if (!ref && r.created) {
                const d = await this.client.deleteApp(this.o.app.id, call);
                method = 'delete';
                if (d === 'not-found') {
                    this.finishRollback({ result: 'rolled-back', method, reason: 'the app no longer exists' });
                    return;
                }
                ref = d;
                this.mark(`rollback: removing the app this run created (deployment ${d.deploymentId})`);
            }
            if (!ref) {
                method = 'previous-version';
                let force = false;
                for (;;) {
                    const put = await this.client.putApp(this.o.app.id, { version: r.previousVersion ?? '' }, {
                        ...call,
                        force,
                    });
                    if (put.kind === 'deployed') {
                        ref = put;
                        break;
                    }
                    const ours = [r.deploymentId, this.rollbackRef?.deploymentId].filter(Boolean);
                    if (!force && put.deploymentIds.every((id) => ours.includes(id))) {
                        force = true;
                        continue;
                    }
                    throw new Error(`cannot roll back: ${this.o.app.id} is locked by deployment ${put.deploymentIds.join(', ')} of someone else`);
                }
                this.mark(`rollback: redeploying version ${r.previousVersion} (deployment ${ref.deploymentId})`);
                this.info(`Redeploying version ${r.previousVersion} with deployment ${ref.deploymentId}.`);
            }
            this.rollbackRef = ref;
            const outcome = await watchDeployment({
                client: this.client,
                events: this.events,
                appId: this.o.app.id,
                deploymentId: ref.deploymentId,
                version: ref.version,
                deadline,
                pollIntervalMs: this.o.pollIntervalMs,
                failureThreshold: this.o.failureThreshold,
                expectDeleted: r.created,
                signal: this.o.signal,
                log: this.log,
                prefix: `${this.prefix}rollback: `,
                subject: r.created ? 'app removal' : 'restored version',
                onState: (s) => (r.state = s),
            });
            if (outcome.ok) {
                const image = outcome.state.app?.image;
                this.finishRollback({
                    result: 'rolled-back',
                    method,
                    deploymentId: ref.deploymentId,
                    version: ref.version,
                    image,
                });
            }
            else {
                this.finishRollback({
                    result: 'failed',
                    method,
                    deploymentId: ref.deploymentId,
                    version: ref.version,
                    reason: outcome.reason,
                });
            }
        }
        catch (e) {
            if (this.o.signal.aborted || e instanceof errors/* CancelledError */.cc)
                throw e;
            this.finishRollback({ result: 'failed', reason: (0,errors/* errorMessage */.gJ)(e) });
        }
    }
    finishRollback(rb) {
        const r = this.report;
        r.rollback = rb;
        this.phase = 'done';
        if (rb.result === 'rolled-back') {
            r.result = 'rolled-back';
            const what = r.created
                ? 'the app this run created was removed'
                : `version ${r.previousVersion} restored as ${rb.version} (image ${rb.image ?? r.previousImage ?? '?'})`;
            const healthy = r.state && !r.created ? `; ${r.state.newHealthy}/${r.state.instances} task(s) healthy` : '';
            this.mark(`rolled back: ${what}${healthy}`);
            this.info(`Rolled back: ${what}${healthy}.`);
            if (!r.created &&
                rb.image !== undefined &&
                r.previousImage !== undefined &&
                rb.image !== r.previousImage)
                this.log.warning(`${this.prefix}The rolled-back app runs ${rb.image}, not the previous image ${r.previousImage}.`);
        }
        else {
            r.result = 'failed';
            this.mark(`rollback failed: ${rb.reason}`);
            this.log.error(`${this.prefix}Rollback of ${this.o.app.id} on ${r.name} failed: ${rb.reason}`);
        }
    }
    /** SIGINT/SIGTERM: record what is in flight on Marathon and how to undo it. */
    cancelled() {
        const r = this.report;
        const s = r.state ? ` (${progressLine(r.state)})` : '';
        let text;
        switch (this.phase) {
            case 'preflight':
            case 'submitting':
                text =
                    this.phase === 'submitting'
                        ? 'cancelled while submitting: the change may or may not have reached Marathon; check the app'
                        : 'nothing was changed';
                break;
            case 'locked':
                text = `nothing was changed (was waiting for deployment ${this.lockIds.join(', ')} to release the lock)`;
                break;
            case 'waiting':
                text = `deployment ${r.deploymentId} (version ${r.version}) is still running on Marathon${s}; it continues without Kiln. To undo it: DELETE /v2/deployments/${r.deploymentId} (Marathon reverts to version ${r.previousVersion ?? '(none: removes the app)'})`;
                break;
            case 'rolling-back':
                text = `the rollback${this.rollbackRef ? ` (deployment ${this.rollbackRef.deploymentId})` : ''} is still running on Marathon${s}; it continues without Kiln`;
                break;
            case 'done':
                return;
        }
        r.result = 'cancelled';
        r.stateText = text;
        this.mark(`cancelled: ${text}`);
    }
}
function aggregate(clusters, dryRun, cancelled) {
    const results = clusters.map((c) => c.result);
    if (cancelled)
        return 'cancelled';
    if (results.includes('failed'))
        return 'failed';
    if (dryRun)
        return 'dry-run';
    if (results.includes('rolled-back'))
        return 'rolled-back';
    if (results.includes('deployed'))
        return 'deployed';
    return 'unchanged';
}
/** Deploy to every cluster; never throws for a failed deployment (see the report), only for a bug. */
async function deployMarathon(o) {
    const t0 = Date.now();
    const runs = o.clusters.map((c) => new ClusterRun(o, c, t0, o.clusters.length > 1));
    const report = () => {
        const cancelled = o.signal.aborted;
        const reason = o.signal.reason;
        return {
            result: aggregate(runs.map((r) => r.report), o.dryRun, cancelled),
            appId: o.app.id,
            image: o.app.image,
            clusters: runs.map((r) => r.report),
            durationMs: Date.now() - t0,
            ...(cancelled ? { cancelled: reason instanceof errors/* CancelledError */.cc ? reason.signal : 'abort' } : {}),
        };
    };
    try {
        // 1. Preflight everywhere before changing anything anywhere.
        for (const run of runs) {
            try {
                await run.preflight();
                run.report.result = o.dryRun ? 'dry-run' : 'skipped';
                run.mark(`preflight: ${run.report.created ? 'new app' : `runs ${run.report.previousVersion}`}, ${run.report.changes.length} change(s)`);
            }
            catch (e) {
                if (o.signal.aborted || e instanceof errors/* CancelledError */.cc) {
                    run.cancelled();
                    return report();
                }
                run.report.result = 'failed';
                run.report.reason = `cannot read the app: ${(0,errors/* errorMessage */.gJ)(e)}`;
                run.report.failureKind = 'preflight';
                run.mark(`failed: ${run.report.reason}`);
                o.log.error(`${run.prefix}${run.report.reason}`);
            }
        }
        const broken = runs.filter((r) => r.report.result === 'failed');
        if (broken.length) {
            for (const r of runs)
                if (r.report.result !== 'failed') {
                    r.report.result = 'skipped';
                    r.report.reason = `not deployed: ${broken.map((b) => b.report.name).join(', ')} could not be read; nothing was changed anywhere`;
                }
            return report();
        }
        if (o.dryRun) {
            o.log.info('dry-run: true — nothing was submitted.');
            return report();
        }
        // 2. Deploy.
        let firstFailure;
        const onFailure = (failed) => {
            if (firstFailure)
                return;
            firstFailure = failed;
            for (const r of runs)
                if (r !== failed)
                    r.stop.abort(new SiblingFailed(failed.report.name));
        };
        if (o.strategy === 'parallel') {
            await Promise.all(runs.map((r) => r.deploy(onFailure)));
        }
        else {
            for (const r of runs) {
                if (firstFailure) {
                    r.report.result = 'skipped';
                    r.report.reason = `not deployed: ${firstFailure.report.name} failed first (strategy: sequential)`;
                    r.mark(r.report.reason);
                    continue;
                }
                await r.deploy(onFailure);
                if (o.signal.aborted)
                    break;
            }
        }
        if (o.signal.aborted) {
            for (const r of runs)
                if (r.report.result === 'skipped' && !r.report.reason)
                    r.report.reason = 'not started: cancelled';
            return report();
        }
        // 3. One cluster failed: return the clusters this run changed successfully to their previous version.
        if (firstFailure) {
            const done = runs.filter((r) => r.report.result === 'deployed');
            if (done.length && o.rollback === 'auto') {
                for (const r of done)
                    await r.rollbackSelf(`${firstFailure.report.name} failed`);
            }
            else if (done.length) {
                for (const r of done) {
                    r.report.rollback = { result: 'none' };
                    o.log.warning(`${r.prefix}rollback: none — ${r.report.name} keeps version ${r.report.version} although ${firstFailure.report.name} failed.`);
                }
            }
        }
        return report();
    }
    catch (e) {
        if (o.signal.aborted || e instanceof errors/* CancelledError */.cc) {
            for (const r of runs)
                r.cancelled();
            return report();
        }
        throw e;
    }
    finally {
        await Promise.all(runs.map((r) => r.events.close()));
    }
}

;// CONCATENATED MODULE: ./packages/core/src/marathon/report.ts


const ICON = {
    deployed: '✅ deployed',
    unchanged: '✅ unchanged',
    'rolled-back': '↩️ rolled back',
    failed: '❌ failed',
    cancelled: '⏹️ cancelled',
    skipped: '⏭️ skipped',
    'dry-run': '📝 dry run',
};
/** One value when every cluster agrees (or there is one), else one per cluster separated by spaces (`-` = none). */
function perCluster(report, pick) {
    const values = report.clusters.map((c) => pick(c) ?? '');
    const distinct = new Set(values);
    if (distinct.size <= 1)
        return values[0] ?? '';
    return values.map((v) => v || '-').join(' ');
}
const cap = (s, n = 300) => s === undefined ? null : s.length > n ? `${s.slice(0, n - 1)}…` : s;
/** The JSON of the `clusters` output: compact (GitLab rejects dotenv reports over 5 KiB); the timeline is in the summary. */
function clustersJson(report) {
    return JSON.stringify(report.clusters.map((c) => ({
        name: c.name,
        url: c.url,
        app: c.appId,
        result: c.result,
        reason: cap(c.reason),
        deploymentId: c.deploymentId ?? null,
        version: c.version ?? null,
        previousVersion: c.previousVersion ?? null,
        image: c.image,
        previousImage: c.previousImage ?? null,
        created: c.created,
        changes: c.changes.length,
        rollback: c.rollback
            ? {
                result: c.rollback.result,
                method: c.rollback.method ?? null,
                deploymentId: c.rollback.deploymentId ?? null,
                version: c.rollback.version ?? null,
                image: c.rollback.image ?? null,
                reason: cap(c.rollback.reason),
            }
            : null,
        state: cap(c.stateText, 600),
        durationMs: c.durationMs ?? null,
    })));
}
function marathonOutputs(report) {
    return {
        result: report.result,
        'deployment-id': perCluster(report, (c) => c.deploymentId),
        version: perCluster(report, (c) => c.version),
        'previous-version': perCluster(report, (c) => c.previousVersion),
        'previous-image': perCluster(report, (c) => c.previousImage),
        image: report.image,
        clusters: clustersJson(report),
    };
}
const at = (ms) => `+${(0,duration/* formatDuration */.a)(ms)}`;
function fillMarathonSummary(summary, report, opts) {
    summary.heading(`Marathon deploy of ${report.appId}: ${ICON[report.result] ?? report.result}`);
    summary.paragraph(`Image ${report.image} to ${report.clusters.length} cluster(s)` +
        (report.clusters.length > 1 ? ` (strategy: ${opts.strategy})` : '') +
        ` in ${(0,duration/* formatDuration */.a)(report.durationMs)}.` +
        (report.cancelled ? ` Cancelled by ${report.cancelled}.` : ''));
    summary.table([
        'Cluster',
        'Result',
        'Version',
        'Previous version',
        'Previous image',
        'Deployment',
        'Duration',
        'Details',
    ], report.clusters.map((c) => [
        `${c.name} (${c.url})`,
        ICON[c.result] ?? c.result,
        c.rollback?.result === 'rolled-back'
            ? `${c.version ?? ''} → ${c.rollback.version ?? 'removed'}`
            : c.version,
        c.previousVersion ?? (c.created ? '(new app)' : ''),
        c.previousImage,
        c.deploymentId,
        c.durationMs === undefined ? '' : (0,duration/* formatDuration */.a)(c.durationMs),
        c.stateText ?? details(c),
    ]));
    for (const c of report.clusters) {
        if (c.timeline.length === 0)
            continue;
        summary.heading(`Timeline: ${c.name}`, 3);
        summary.table(['Time', 'Event'], c.timeline.map((t) => [at(t.atMs), t.text]));
        if (c.changes.length)
            summary.details(`Changes on ${c.name} (${c.changes.length})`, (s) => s.code(formatDiff(c.changes).join('\n'), 'diff'));
    }
}
function details(c) {
    const parts = [];
    if (c.reason)
        parts.push(c.reason);
    if (c.rollback) {
        const rb = c.rollback;
        if (rb.result === 'rolled-back')
            parts.push(c.created
                ? 'rollback: the new app was removed'
                : `rollback: ${c.previousVersion} restored (image ${rb.image ?? c.previousImage ?? '?'})`);
        else if (rb.result === 'failed')
            parts.push(`rollback failed: ${rb.reason ?? ''}`);
        else if (rb.result === 'none')
            parts.push('rollback: none (left as is)');
    }
    return parts.join('; ');
}

;// CONCATENATED MODULE: ./actions/deploy-marathon/src/action.ts
/**
 * deploy-marathon: render a per-environment Marathon app definition with an image pinned by digest, deploy it to
 * one or more Marathon clusters, wait until the new version is healthy, fail fast on a crash loop, roll back.
 * The declaration below is the single source of the action's inputs and outputs; the logic is in
 * @kiln/core's `marathon` namespace.
 */

const action_spec = (0,spec/* defineAction */.Q)({
    name: 'deploy-marathon',
    title: 'Kiln deploy-marathon',
    description: 'Deploy an image pinned by digest to Marathon from a per-environment app definition; wait until healthy, fail fast, roll back.',
    branding: { icon: 'upload-cloud', color: 'orange' },
    inputs: {
        'marathon-url': {
            type: 'list',
            required: true,
            placeholder: 'URLs',
            description: 'Marathon base URL(s), one per line or comma-separated, optionally named: `AA=https://marathon-aa.example.com`. Several URLs deploy to several clusters (see `strategy`).',
        },
        'app-definition': {
            type: 'path',
            required: true,
            description: 'The app definition JSON file, e.g. `deploy/qa-deploy.json` (may live in another checkout). Every field is kept as written.',
        },
        image: {
            type: 'string',
            description: "Image to deploy, replacing the file's `container.docker.image`. Deployed as `repository@sha256:…` when a digest is known.",
        },
        digest: {
            type: 'string',
            placeholder: 'sha256:…',
            description: "Digest that pins the image (`image`, or the file's), e.g. a push step's `digest` output.",
        },
        'allow-mutable-tag': {
            type: 'boolean',
            default: 'false',
            description: 'Allow deploying an image without a digest (a moving tag). Forces `forcePullImage: true`.',
        },
        'force-pull-image': {
            type: 'boolean',
            description: "Set `container.docker.forcePullImage`. Unset: the file's value is kept.",
        },
        'app-id': {
            type: 'string',
            placeholder: '/group/app',
            description: "Marathon app id, replacing the file's `id`.",
        },
        instances: {
            type: 'integer',
            min: 0,
            description: "Number of instances, replacing the file's `instances`.",
        },
        env: {
            type: 'map',
            description: "Environment variables merged into the app's `env`, one `NAME=value` per line (given ones win).",
        },
        labels: {
            type: 'map',
            description: "Labels merged into the app's `labels`, one `KEY=value` per line. Kiln adds KILN_RELEASE_ID, KILN_COMMIT and KILN_RUN_URL.",
        },
        vars: {
            type: 'map',
            description: "Template variables for `args`, one `NAME=value` per line: `${NAME}` in the file's args is replaced (e.g. `--spring.profiles.active=${ENV}`).",
        },
        'release-id': {
            type: 'string',
            description: 'Release id recorded as the KILN_RELEASE_ID label (a timestamp or build number).',
        },
        strategy: {
            type: 'enum',
            values: ['sequential', 'parallel'],
            default: 'sequential',
            description: 'With several clusters: `sequential` stops at the first failure; `parallel` deploys all at once. On failure every cluster changed is rolled back (with `rollback: auto`).',
        },
        timeout: {
            type: 'duration',
            default: '10m',
            min: 1,
            description: 'Per cluster: from submitting (waiting for a lock included) until the new version is healthy.',
        },
        'lock-timeout': {
            type: 'duration',
            default: '2m',
            min: 0,
            description: 'How long to wait for another deployment holding the app (HTTP 409) before failing, or overriding with `force`.',
        },
        force: {
            type: 'boolean',
            default: 'false',
            description: 'After `lock-timeout`, override the other deployment (`?force=true`) instead of failing.',
        },
        'failure-threshold': {
            type: 'integer',
            min: 1,
            max: 1000,
            default: '3',
            description: 'Declare a crash loop after this many failed or unhealthy-killed tasks of the new version.',
        },
        rollback: {
            type: 'enum',
            values: ['auto', 'none'],
            default: 'auto',
            description: '`auto`: on failure return every changed cluster to its previous version. `none`: leave it as is.',
        },
        'rollback-timeout': {
            type: 'duration',
            default: '5m',
            min: 1,
            description: 'Per cluster: how long the rollback may take to become healthy.',
        },
        'dry-run': {
            type: 'boolean',
            default: 'false',
            description: 'Render, validate and show the diff against what runs now; submit nothing.',
        },
        'rendered-file': {
            type: 'path',
            mustExist: false,
            description: "Where to write the rendered app definition (default: the runner's temp dir on GitHub, the project dir on GitLab).",
        },
        'poll-interval': {
            type: 'duration',
            default: '2s',
            min: 10,
            description: 'Longest pause between polls of Marathon; the event stream wakes Kiln earlier.',
        },
        'marathon-user': { type: 'string', description: 'HTTP basic user (with `marathon-password`).' },
        'marathon-password': {
            type: 'string',
            secret: true,
            description: 'HTTP basic password (masked in every log and file).',
        },
        'marathon-token': {
            type: 'string',
            secret: true,
            description: 'DC/OS token, sent as `Authorization: token=…` (masked in every log and file).',
        },
        'service-account-id': {
            type: 'string',
            description: 'DC/OS service account uid (with `service-account-key`).',
        },
        'service-account-key': {
            type: 'string',
            secret: true,
            placeholder: 'PEM',
            description: 'DC/OS service account RSA private key (PEM). Kiln signs a short-lived RS256 login token and logs in again on 401.',
        },
        'login-url': {
            type: 'url',
            description: 'DC/OS login endpoint for the service account (default: `<marathon origin>/acs/api/v1/auth/login`).',
        },
        insecure: {
            type: 'boolean',
            default: 'false',
            description: 'Skip TLS certificate verification (self-signed clusters only).',
        },
    },
    outputs: {
        result: {
            description: '`deployed`, `unchanged`, `rolled-back`, `failed`, `cancelled` or `dry-run` (over all clusters).',
        },
        'deployment-id': {
            description: 'Marathon deployment id (several clusters: one per cluster, space-separated, `-` for none).',
        },
        version: { description: 'App version deployed (several clusters: one per cluster, space-separated).' },
        'previous-version': { description: 'App version that ran before (the rollback target).' },
        'previous-image': { description: 'Image that ran before.' },
        image: {
            description: 'Image this run deploys, as written into the app definition (also when it was rolled back).',
        },
        clusters: {
            description: 'JSON array, one object per cluster: name, url, app, result, reason, deploymentId, version, previousVersion, image, previousImage, created, changes, rollback, state, durationMs.',
        },
        'rendered-file': { description: 'Path of the rendered app definition.' },
    },
});
const action = (0,run/* defineActionRunner */.o)({
    spec: action_spec,
    async main({ inputs, log, signal, summary, setOutput, platform }) {
        // Edge validation: everything is checked before any request.
        const clusters = parseMarathonClusters(inputs['marathon-url']);
        const auth = marathonAuthFromInputs({
            user: inputs['marathon-user'],
            password: inputs['marathon-password'],
            token: inputs['marathon-token'],
            serviceAccountId: inputs['service-account-id'],
            serviceAccountKey: inputs['service-account-key'],
            loginUrl: inputs['login-url'],
        });
        const file = readAppDefinitionFile(inputs['app-definition'], platform.workspace);
        for (const w of file.warnings)
            log.warning(w);
        const rendered = renderAppDefinition(file.definition, {
            source: file.source,
            image: inputs.image,
            digest: inputs.digest,
            allowMutableTag: inputs['allow-mutable-tag'],
            forcePullImage: inputs['force-pull-image'],
            appId: inputs['app-id'],
            instances: inputs.instances,
            env: inputs.env,
            labels: inputs.labels,
            vars: inputs.vars,
            kilnLabels: kilnLabels(platform.ci(), inputs['release-id']),
        });
        for (const w of rendered.warnings)
            log.warning(w);
        for (const n of rendered.notes)
            log.info(n);
        if (inputs.insecure)
            log.warning('TLS certificate verification is off (insecure: true).');
        const renderedFile = inputs['rendered-file'] ??
            defaultRenderedPath(platform.kind, platform.env, platform.workspace, rendered.id);
        writeRenderedDefinition(renderedFile, rendered);
        setOutput('rendered-file', renderedFile);
        setOutput('image', rendered.image);
        log.info(`Deploying ${rendered.id} (image ${rendered.image}) to ${clusters.map((c) => c.name).join(', ')}` +
            `${clusters.length > 1 ? ` (${inputs.strategy})` : ''}; rendered definition: ${renderedFile}.`);
        const report = await deployMarathon({
            clusters,
            auth,
            insecure: inputs.insecure,
            app: rendered,
            strategy: inputs.strategy,
            timeoutMs: inputs.timeout,
            lockTimeoutMs: inputs['lock-timeout'],
            force: inputs.force,
            failureThreshold: inputs['failure-threshold'],
            rollback: inputs.rollback,
            rollbackTimeoutMs: inputs['rollback-timeout'],
            pollIntervalMs: inputs['poll-interval'],
            dryRun: inputs['dry-run'],
            log,
            registerSecret: (v) => platform.setSecret(v),
            signal,
            env: platform.env,
        });
        const outputs = marathonOutputs(report);
        for (const [name, value] of Object.entries(outputs))
            setOutput(name, value);
        fillMarathonSummary(summary, report, { strategy: inputs.strategy });
        const by = (r) => report.clusters.filter((c) => c.result === r).map((c) => c.name);
        switch (report.result) {
            case 'deployed':
            case 'unchanged':
                log.info(`deploy-marathon: ${report.result} in ${(0,duration/* formatDuration */.a)(report.durationMs)}.`);
                return 0;
            case 'dry-run':
                log.info(`dry-run: nothing was submitted; rendered definition in ${renderedFile}.`);
                return 0;
            case 'cancelled':
                for (const c of report.clusters)
                    log.warning(`${c.name}: ${c.stateText ?? `${c.result}${c.reason ? ` (${c.reason})` : ''}`}`);
                return 1;
            case 'rolled-back':
                log.error(`deploy-marathon failed and was rolled back (${by('rolled-back').join(', ')}): ${report.clusters.find((c) => c.reason)?.reason ?? ''}`);
                return 1;
            default:
                log.error(`deploy-marathon failed (${by('failed').join(', ')}): ${report.clusters.find((c) => c.result === 'failed')?.reason ?? ''}`);
                return 1;
        }
    },
});


/***/ })

};
