export const id = 852;
export const ids = [852];
export const modules = {

/***/ 3852:
/***/ ((__unused_webpack_module, __webpack_exports__, __webpack_require__) => {

// ESM COMPAT FLAG
__webpack_require__.r(__webpack_exports__);

// EXPORTS
__webpack_require__.d(__webpack_exports__, {
  action: () => (/* binding */ action),
  spec: () => (/* binding */ action_spec)
});

// EXTERNAL MODULE: external "node:fs"
var external_node_fs_ = __webpack_require__(3024);
// EXTERNAL MODULE: external "node:path"
var external_node_path_ = __webpack_require__(6760);
// EXTERNAL MODULE: ./packages/core/src/inputs/spec.ts
var spec = __webpack_require__(8592);
// EXTERNAL MODULE: ./packages/core/src/action/run.ts + 31 modules
var run = __webpack_require__(2512);
;// CONCATENATED MODULE: ./packages/core/src/smoke/status.ts
/** Parse, or return an error message saying what is expected. */
function parseStatusExpectation(text) {
    const parts = text
        .split(/[\s,|]+/)
        .map((p) => p.trim())
        .filter(Boolean);
    if (parts.length === 0)
        return 'expected status codes such as 200, 200-299, 2xx or 200,301';
    const ranges = [];
    for (const p of parts) {
        let m;
        if ((m = /^([1-5])xx$/i.exec(p))) {
            const base = Number(m[1]) * 100;
            ranges.push([base, base + 99]);
        }
        else if ((m = /^(\d{3})$/.exec(p))) {
            ranges.push([Number(m[1]), Number(m[1])]);
        }
        else if ((m = /^(\d{3})-(\d{3})$/.exec(p))) {
            const lo = Number(m[1]);
            const hi = Number(m[2]);
            if (lo > hi)
                return `range '${p}' is reversed; write the lower code first (e.g. 200-299)`;
            ranges.push([lo, hi]);
        }
        else {
            return `'${p}' is not a status code; expected codes such as 200, 200-299, 2xx or 200,301`;
        }
    }
    for (const [lo, hi] of ranges)
        if (lo < 100 || hi > 599)
            return `status codes are between 100 and 599 (got ${lo === hi ? lo : `${lo}-${hi}`})`;
    return {
        text: parts.join(','),
        matches: (s) => ranges.some(([lo, hi]) => s >= lo && s <= hi),
    };
}

// EXTERNAL MODULE: ./packages/core/src/errors.ts
var src_errors = __webpack_require__(7638);
// EXTERNAL MODULE: ./packages/core/node_modules/ajv/dist/ajv.js
var ajv = __webpack_require__(1169);
// EXTERNAL MODULE: ./node_modules/yaml/dist/index.js
var dist = __webpack_require__(8815);
// EXTERNAL MODULE: ./packages/core/src/util/duration.ts
var duration = __webpack_require__(4144);
;// CONCATENATED MODULE: ./packages/core/src/smoke/predicate.ts
const PREDICATE_KEYS = [
    'equals',
    'notEquals',
    'contains',
    'startsWith',
    'endsWith',
    'matches',
    'exists',
    'isEmpty',
    'count',
    'gt',
    'gte',
    'lt',
    'lte',
    'not',
];
function show(v) {
    if (v === undefined)
        return 'nothing';
    const s = typeof v === 'string' ? JSON.stringify(v) : (JSON.stringify(v) ?? String(v));
    return s.length > 120 ? `${s.slice(0, 117)}...` : s;
}
function deepEqual(a, b) {
    if (a === b)
        return true;
    // A number written in YAML may meet a numeric string in a header: compare as text.
    if ((typeof a === 'number' && typeof b === 'string') || (typeof a === 'string' && typeof b === 'number'))
        return String(a) === String(b);
    if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null)
        return false;
    if (Array.isArray(a) !== Array.isArray(b))
        return false;
    const ka = Object.keys(a);
    const kb = Object.keys(b);
    if (ka.length !== kb.length)
        return false;
    return ka.every((k) => deepEqual(a[k], b[k]));
}
function asNumber(v) {
    if (typeof v === 'number')
        return v;
    if (typeof v === 'string' && v.trim() !== '' && !Number.isNaN(Number(v)))
        return Number(v);
    return undefined;
}
function asText(v) {
    if (v === undefined || v === null)
        return undefined;
    return typeof v === 'string' ? v : typeof v === 'object' ? JSON.stringify(v) : String(v);
}
const plainNumber = (v) => asNumber(v);
/**
 * Evaluate a predicate; returns undefined when it holds, else why not (for reports), e.g.
 * `expected "UP", got "DOWN"`.
 */
function checkPredicate(actual, p, bound = plainNumber) {
    const text = asText(actual);
    if (p.exists !== undefined) {
        const exists = actual !== undefined;
        if (exists !== p.exists)
            return p.exists ? 'expected it to exist, found nothing' : `expected nothing, got ${show(actual)}`;
    }
    if (p.equals !== undefined && !deepEqual(actual, p.equals))
        return `expected ${show(p.equals)}, got ${show(actual)}`;
    if (p.notEquals !== undefined && deepEqual(actual, p.notEquals))
        return `expected anything but ${show(p.notEquals)}`;
    if (p.contains !== undefined) {
        const needle = p.contains;
        const ok = Array.isArray(actual)
            ? actual.some((x) => deepEqual(x, needle))
            : text !== undefined && text.includes(String(needle));
        if (!ok)
            return `expected ${show(actual)} to contain ${show(needle)}`;
    }
    if (p.startsWith !== undefined && !(text ?? '').startsWith(p.startsWith))
        return `expected ${show(actual)} to start with ${show(p.startsWith)}`;
    if (p.endsWith !== undefined && !(text ?? '').endsWith(p.endsWith))
        return `expected ${show(actual)} to end with ${show(p.endsWith)}`;
    if (p.matches !== undefined && (text === undefined || !new RegExp(p.matches).test(text)))
        return `expected ${show(actual)} to match /${p.matches}/`;
    if (p.isEmpty !== undefined) {
        const empty = actual === undefined ||
            actual === null ||
            (typeof actual === 'string' && actual === '') ||
            (Array.isArray(actual) && actual.length === 0) ||
            (typeof actual === 'object' && actual !== null && Object.keys(actual).length === 0);
        if (empty !== p.isEmpty)
            return p.isEmpty ? `expected empty, got ${show(actual)}` : 'expected a non-empty value';
    }
    if (p.count !== undefined) {
        const n = Array.isArray(actual) ? actual.length : actual === undefined ? 0 : 1;
        if (n !== p.count)
            return `expected ${p.count} item(s), got ${n}`;
    }
    for (const [op, sym] of [
        ['gt', '>'],
        ['gte', '>='],
        ['lt', '<'],
        ['lte', '<='],
    ]) {
        const raw = p[op];
        if (raw === undefined)
            continue;
        const limit = bound(raw);
        const n = asNumber(actual);
        if (limit === undefined)
            return `cannot compare with ${show(raw)}`;
        if (n === undefined)
            return `expected a number ${sym} ${raw}, got ${show(actual)}`;
        const ok = op === 'gt' ? n > limit : op === 'gte' ? n >= limit : op === 'lt' ? n < limit : n <= limit;
        if (!ok)
            return `expected ${sym} ${raw}, got ${show(actual)}`;
    }
    if (p.not !== undefined) {
        const inner = checkPredicate(actual, p.not, bound);
        if (inner === undefined)
            return `expected not ${describePredicate(p.not)}, got ${show(actual)}`;
    }
    return undefined;
}
function describePredicate(p) {
    return Object.entries(p)
        .map(([k, v]) => (k === 'not' ? `not (${describePredicate(v)})` : `${k} ${show(v)}`))
        .join(' and ');
}
/** A scalar written where a predicate is expected means `equals`. */
function toPredicate(v) {
    if (v !== null && typeof v === 'object' && !Array.isArray(v))
        return v;
    return { equals: v };
}

;// CONCATENATED MODULE: ./packages/core/src/smoke/schema.ts
/** JSON Schema (draft-07) of a smoke-test checks file. The README's reference section follows it. */
const schema_duration = {
    anyOf: [
        { type: 'string', pattern: '^\\s*(\\d+(\\.\\d+)?(ms|s|m|h|d))+\\s*$' },
        { type: 'number', minimum: 0 },
    ],
    description: 'a duration such as 500ms, 10s, 5m (a bare number means seconds)',
};
const predicateProps = {
    equals: {},
    notEquals: {},
    contains: { type: ['string', 'number', 'boolean'] },
    startsWith: { type: 'string' },
    endsWith: { type: 'string' },
    matches: { type: 'string' },
    exists: { type: 'boolean' },
    isEmpty: { type: 'boolean' },
    count: { type: 'integer', minimum: 0 },
    gt: { type: ['number', 'string'] },
    gte: { type: ['number', 'string'] },
    lt: { type: ['number', 'string'] },
    lte: { type: ['number', 'string'] },
    not: { $ref: '#/definitions/predicate' },
};
const schema_status = {
    anyOf: [
        { type: 'integer', minimum: 100, maximum: 599 },
        { type: 'string' },
        {
            type: 'array',
            minItems: 1,
            items: { anyOf: [{ type: 'integer', minimum: 100, maximum: 599 }, { type: 'string' }] },
        },
    ],
};
const stringMap = { type: 'object', additionalProperties: { type: ['string', 'number', 'boolean'] } };
const request = {
    method: { type: 'string', pattern: '^[A-Za-z]+$' },
    url: { type: 'string', minLength: 1 },
    headers: stringMap,
    query: stringMap,
    json: {},
    body: { type: 'string' },
    auth: {
        type: 'object',
        additionalProperties: false,
        properties: {
            basic: {
                type: 'object',
                additionalProperties: false,
                required: ['username', 'password'],
                properties: { username: { type: 'string' }, password: { type: 'string' } },
            },
            bearer: { type: 'string' },
        },
    },
    timeout: schema_duration,
    followRedirects: { type: 'boolean' },
    insecure: { type: 'boolean' },
};
const expect = {
    type: 'object',
    additionalProperties: false,
    properties: {
        status: schema_status,
        headers: { type: 'object', additionalProperties: { $ref: '#/definitions/predicateOrScalar' } },
        body: { $ref: '#/definitions/predicateOrScalar' },
        jsonpath: {
            anyOf: [
                { type: 'object', additionalProperties: { $ref: '#/definitions/predicateOrScalar' } },
                {
                    type: 'array',
                    items: {
                        type: 'object',
                        required: ['path'],
                        properties: { path: { type: 'string', minLength: 1 }, ...predicateProps },
                        additionalProperties: false,
                    },
                },
            ],
        },
        duration: { $ref: '#/definitions/predicate' },
        certificate: {
            type: 'object',
            additionalProperties: false,
            properties: { daysRemaining: { $ref: '#/definitions/predicateOrScalar' } },
        },
        exitCode: { type: 'integer' },
        stdout: { $ref: '#/definitions/predicateOrScalar' },
    },
};
const captures = {
    type: 'object',
    propertyNames: { pattern: '^[A-Za-z_][A-Za-z0-9_]*$' },
    additionalProperties: {
        type: 'object',
        additionalProperties: false,
        minProperties: 1,
        maxProperties: 1,
        properties: { jsonpath: { type: 'string' }, header: { type: 'string' }, regex: { type: 'string' } },
    },
};
const retries = { type: 'integer', minimum: 0, maximum: 100 };
const checksFileSchema = {
    $id: 'https://kiln.dev/schemas/smoke-checks.json',
    type: 'object',
    additionalProperties: false,
    required: ['checks'],
    definitions: {
        predicate: { type: 'object', additionalProperties: false, minProperties: 1, properties: predicateProps },
        predicateOrScalar: {
            anyOf: [{ $ref: '#/definitions/predicate' }, { type: ['string', 'number', 'boolean', 'null'] }],
        },
    },
    properties: {
        defaults: {
            type: 'object',
            additionalProperties: false,
            properties: {
                baseUrl: { type: 'string', pattern: '^(https?://|\\$\\{)' },
                timeout: schema_duration,
                headers: stringMap,
                followRedirects: { type: 'boolean' },
                insecure: { type: 'boolean' },
                retries,
                retryInterval: schema_duration,
            },
        },
        wait: {
            type: 'object',
            additionalProperties: false,
            required: ['url'],
            properties: {
                ...request,
                expect,
                initialDelay: schema_duration,
                interval: schema_duration,
                deadline: schema_duration,
                successThreshold: { type: 'integer', minimum: 1, maximum: 100 },
            },
        },
        checks: {
            type: 'array',
            minItems: 1,
            items: {
                type: 'object',
                additionalProperties: false,
                properties: {
                    name: { type: 'string', minLength: 1 },
                    ...request,
                    command: { type: 'array', minItems: 1, items: { type: 'string' } },
                    env: stringMap,
                    cwd: { type: 'string' },
                    expect,
                    captures,
                    retries,
                    retryInterval: schema_duration,
                },
                oneOf: [
                    { required: ['url'], not: { required: ['command'] } },
                    { required: ['command'], not: { required: ['url'] } },
                ],
            },
        },
        sample: {
            type: 'object',
            additionalProperties: false,
            required: ['iterations'],
            properties: {
                iterations: { type: 'integer', minimum: 1, maximum: 100000 },
                concurrency: { type: 'integer', minimum: 1, maximum: 256 },
                checks: { type: 'array', items: { type: 'string' } },
            },
        },
        thresholds: {
            type: 'object',
            additionalProperties: false,
            properties: {
                http_req_duration: { type: 'array', items: { type: 'string' } },
                http_req_failed: { type: 'array', items: { type: 'string' } },
                checks: { type: 'array', items: { type: 'string' } },
            },
        },
        verdict: {
            type: 'object',
            additionalProperties: false,
            properties: {
                failureLimit: { type: 'integer', minimum: 0 },
                consecutiveErrorLimit: { type: 'integer', minimum: 0 },
            },
        },
    },
};

;// CONCATENATED MODULE: ./packages/core/src/smoke/thresholds.ts
const EXPR = /^\s*(avg|min|max|med|count|rate|p\((\d+(?:\.\d+)?)\))\s*(<=|>=|==|!=|<|>)\s*(-?\d+(?:\.\d+)?)\s*$/;
const ALLOWED = {
    http_req_duration: /^(avg|min|max|med|count|p\(.*\))$/,
    http_req_failed: /^(rate|count)$/,
    checks: /^(rate|count)$/,
};
/** Parse; returns an error message when the expression is not valid for the metric. */
function parseThreshold(metric, expression) {
    const m = EXPR.exec(expression);
    if (!m)
        return `'${expression}' is not a threshold; expected e.g. p(95)<500, max<2000 or rate<0.01`;
    const aggregation = m[1].replace(/\s+/g, '');
    if (m[2] !== undefined && (Number(m[2]) <= 0 || Number(m[2]) > 100))
        return `'${expression}': the percentile must be in (0, 100]`;
    if (!ALLOWED[metric].test(aggregation))
        return `'${expression}': ${aggregation} does not apply to ${metric} (use ${metric === 'http_req_duration' ? 'avg, min, max, med, count or p(N)' : 'rate or count'})`;
    return {
        metric,
        expression: expression.trim(),
        aggregation,
        op: m[3],
        value: Number(m[4]),
    };
}
/** Nearest-rank percentile of a sorted array (what k6 reports, to within its interpolation). */
function percentile(sorted, p) {
    if (sorted.length === 0)
        return undefined;
    const rank = Math.ceil((p / 100) * sorted.length);
    return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))];
}
function aggregate(t, s) {
    if (t.metric === 'http_req_duration') {
        const d = [...s.durations].sort((a, b) => a - b);
        if (t.aggregation === 'count')
            return d.length;
        if (d.length === 0)
            return undefined;
        if (t.aggregation === 'avg')
            return d.reduce((a, b) => a + b, 0) / d.length;
        if (t.aggregation === 'min')
            return d[0];
        if (t.aggregation === 'max')
            return d[d.length - 1];
        if (t.aggregation === 'med')
            return percentile(d, 50);
        return percentile(d, Number(/p\((.*)\)/.exec(t.aggregation)?.[1]));
    }
    const flags = t.metric === 'http_req_failed' ? s.failed : s.checks;
    const hits = flags.filter(Boolean).length;
    if (t.aggregation === 'count')
        return hits;
    return flags.length === 0 ? undefined : hits / flags.length;
}
function evaluateThresholds(thresholds, samples) {
    return thresholds.map((t) => {
        const actual = aggregate(t, samples);
        let passed = false;
        if (actual !== undefined) {
            switch (t.op) {
                case '<':
                    passed = actual < t.value;
                    break;
                case '<=':
                    passed = actual <= t.value;
                    break;
                case '>':
                    passed = actual > t.value;
                    break;
                case '>=':
                    passed = actual >= t.value;
                    break;
                case '==':
                    passed = actual === t.value;
                    break;
                case '!=':
                    passed = actual !== t.value;
                    break;
            }
        }
        return { ...t, actual, passed };
    });
}

;// CONCATENATED MODULE: ./packages/core/src/smoke/vars.ts
const PATTERN = /\$\$\{|\$\{([A-Za-z_][A-Za-z0-9_.-]*)(?::-([^}]*))?\}/g;
class UndefinedVariableError extends Error {
    variable;
    where;
    constructor(variable, where) {
        super(`${where}: \${${variable}} is not defined (give it in vars, the environment, or capture it earlier)`);
        this.variable = variable;
        this.where = where;
    }
}
/** Substitute variables; reports each value used (so secrets can be masked). */
function interpolate(text, lookup, where, onValue) {
    return text.replace(PATTERN, (match, name, fallback) => {
        if (match === '$${')
            return '${';
        const value = lookup(name) ?? fallback;
        if (value === undefined)
            throw new UndefinedVariableError(name, where);
        onValue?.(name, value);
        return value;
    });
}
/** Names referenced in a text (without defaults), for validation and dependency ordering. */
function referencedVariables(text) {
    const out = [];
    for (const m of text.matchAll(PATTERN))
        if (m[0] !== '$${')
            out.push({ name: m[1], hasDefault: m[2] !== undefined });
    return out;
}
/** Apply {@link interpolate} to every string inside a JSON-like value. */
function interpolateDeep(value, lookup, where, onValue) {
    if (typeof value === 'string')
        return interpolate(value, lookup, where, onValue);
    if (Array.isArray(value))
        return value.map((v, i) => interpolateDeep(v, lookup, `${where}[${i}]`, onValue));
    if (value !== null && typeof value === 'object') {
        const out = {};
        for (const [k, v] of Object.entries(value))
            out[k] = interpolateDeep(v, lookup, `${where}.${k}`, onValue);
        return out;
    }
    return value;
}
/** Every string inside a JSON-like value. */
function stringsIn(value) {
    if (typeof value === 'string')
        return [value];
    if (Array.isArray(value))
        return value.flatMap(stringsIn);
    if (value !== null && typeof value === 'object')
        return Object.values(value).flatMap(stringsIn);
    return [];
}

;// CONCATENATED MODULE: ./packages/core/src/smoke/plan.ts
/**
 * A smoke-test plan: what to check, how, and what makes the verdict. It comes from a checks file (YAML or
 * JSON, schema-validated with errors that give the file, the line, the path and what is expected) or from
 * the one-line form of the action's inputs (`url` + `expect-status`).
 */










// ---------------------------------------------------------------------------------------------------------
// Errors with positions
class PlanErrors {
    file;
    doc;
    lines;
    constructor(file, doc, lines) {
        this.file = file;
        this.doc = doc;
        this.lines = lines;
    }
    at(path, message, atKey = false) {
        const where = path.length
            ? path
                .map((p) => (typeof p === 'number' ? `[${p}]` : `.${p}`))
                .join('')
                .slice(path[0] === undefined || typeof path[0] === 'number' ? 0 : 1)
            : '(top level)';
        let pos = '';
        if (this.doc && this.lines && atKey && path.length) {
            const parent = this.doc.getIn(path.slice(0, -1), true);
            if ((0,dist/* isMap */.jh)(parent)) {
                const pair = parent.items.find((i) => (0,dist/* isScalar */.jn)(i.key) && i.key.value === path[path.length - 1]);
                if (pair && (0,dist/* isNode */.Ll)(pair.key) && pair.key.range) {
                    const lp = this.lines.linePos(pair.key.range[0]);
                    pos = `:${lp.line}:${lp.col}`;
                }
            }
        }
        if (!pos && this.doc && this.lines) {
            for (let n = path.length; n >= 0; n--) {
                const node = this.doc.getIn(path.slice(0, n), true);
                if ((0,dist/* isNode */.Ll)(node) && node.range) {
                    const lp = this.lines.linePos(node.range[0]);
                    pos = `:${lp.line}:${lp.col}`;
                    break;
                }
            }
        }
        return new src_errors/* ConfigurationError */.j1(`${this.file}${pos}: ${where}: ${message}`);
    }
}
// ---------------------------------------------------------------------------------------------------------
// Schema errors → one clear message
// Compiled on first use: start-up (and the one-line form) never pays for it.
let validator;
function validateSchema(data) {
    validator ??= new ajv.Ajv({ allErrors: true, strict: false }).compile(checksFileSchema);
    const ok = validator(data);
    return { ok, errors: validator.errors ?? [] };
}
const KNOWN_KEYS = {
    '': Object.keys(checksFileSchema.properties),
    defaults: Object.keys(checksFileSchema.properties.defaults.properties),
    wait: Object.keys(checksFileSchema.properties.wait.properties),
    check: Object.keys(checksFileSchema.properties.checks.items.properties),
    expect: Object.keys(checksFileSchema.properties.checks.items.properties.expect.properties),
    predicate: [...PREDICATE_KEYS],
};
function closest(word, options) {
    const dist = (a, b) => {
        const d = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array(b.length).fill(0)]);
        for (let j = 1; j <= b.length; j++)
            d[0][j] = j;
        for (let i = 1; i <= a.length; i++)
            for (let j = 1; j <= b.length; j++)
                d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (a[i - 1].toLowerCase() === b[j - 1].toLowerCase() ? 0 : 1));
        return d[a.length][b.length];
    };
    const best = options.map((o) => ({ o, d: dist(word, o) })).sort((a, b) => a.d - b.d)[0];
    return best && best.d <= Math.max(2, Math.floor(word.length / 3)) ? best.o : undefined;
}
function keysFor(path) {
    const names = path.filter((p) => typeof p === 'string');
    const last = names[names.length - 1];
    if (names.length === 0)
        return KNOWN_KEYS[''];
    if (last === 'defaults' || last === 'wait')
        return KNOWN_KEYS[last];
    if (last === 'checks')
        return KNOWN_KEYS.check;
    if (last === 'expect')
        return KNOWN_KEYS.expect;
    if (last === 'not' || last === 'duration' || last === 'body')
        return KNOWN_KEYS.predicate;
    return [];
}
function pointerToPath(pointer) {
    if (!pointer)
        return [];
    return pointer
        .split('/')
        .slice(1)
        .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'))
        .map((s) => (/^\d+$/.test(s) ? Number(s) : s));
}
function describeSchemaError(e) {
    const path = pointerToPath(e.instancePath);
    const p = e.params;
    const last = path[path.length - 1];
    switch (e.keyword) {
        case 'additionalProperties': {
            const key = String(p.additionalProperty);
            const known = keysFor(path);
            const guess = closest(key, known);
            return {
                path: [...path, key],
                message: `unknown key '${key}'${guess ? `; did you mean '${guess}'?` : ''}${known.length ? ` Expected one of: ${known.join(', ')}.` : ''}`,
            };
        }
        case 'required':
            return { path, message: `'${String(p.missingProperty)}' is required here` };
        case 'type':
            return { path, message: `expected ${String(p.type).replace(/,/g, ' or ')}` };
        case 'minItems':
            return { path, message: `expected at least ${String(p.limit)} item(s)` };
        case 'minimum':
        case 'maximum':
            return { path, message: `must be ${e.keyword === 'minimum' ? '≥' : '≤'} ${String(p.limit)}` };
        case 'minLength':
            return { path, message: 'must not be empty' };
        case 'pattern':
            if (last === 'baseUrl')
                return { path, message: 'expected an http:// or https:// URL' };
            if (last === 'method')
                return { path, message: 'expected an HTTP method such as GET or POST' };
            return { path, message: 'expected a duration such as 500ms, 10s or 5m' };
        case 'oneOf':
            return {
                path,
                message: "a check needs exactly one of 'url' (an HTTP check) or 'command' (a command check)",
            };
        case 'minProperties':
        case 'maxProperties':
            return last === undefined || typeof last === 'number' || path.includes('captures')
                ? { path, message: "a capture takes exactly one of 'jsonpath', 'header' or 'regex'" }
                : { path, message: `expected one of: ${PREDICATE_KEYS.join(', ')}` };
        case 'propertyNames':
            return { path, message: 'capture names are letters, digits and _ (they are used as ${name})' };
        case 'anyOf': {
            if (['timeout', 'interval', 'deadline', 'initialDelay', 'retryInterval'].includes(String(last)))
                return { path, message: 'expected a duration such as 500ms, 10s or 5m' };
            if (last === 'status')
                return { path, message: 'expected a status code, a range or class (200-299, 2xx) or a list of them' };
            if (last === 'jsonpath')
                return {
                    path,
                    message: 'expected a map of JSONPath → value/predicate, or a list of { path, <predicate> }',
                };
            return { path, message: `expected a value or a predicate (${PREDICATE_KEYS.join(', ')})` };
        }
        default:
            return { path, message: e.message ?? 'is not valid' };
    }
}
/**
 * Ajv lists every error (allErrors): an unknown key is the most useful (usually a typo); otherwise the deepest
 * anyOf/oneOf, which knows what was really expected (a duration, a status, url or command); else the first.
 */
function pickError(errors) {
    const unknown = errors.find((e) => e.keyword === 'additionalProperties');
    if (unknown)
        return unknown;
    const alternatives = errors
        .filter((e) => e.keyword === 'anyOf' || e.keyword === 'oneOf')
        .sort((a, b) => b.instancePath.length - a.instancePath.length);
    const inner = errors.filter((e) => !['anyOf', 'oneOf', 'not'].includes(e.keyword));
    const deepestAlt = alternatives[0];
    const firstInner = inner[0];
    // A plain error deeper than every alternative (e.g. a wrong type inside a valid branch) is the real one.
    if (firstInner && (!deepestAlt || firstInner.instancePath.length > deepestAlt.instancePath.length))
        return firstInner;
    return deepestAlt ?? errors[0];
}
// ---------------------------------------------------------------------------------------------------------
// Normalisation
function plan_duration(v, fallback) {
    if (v === undefined)
        return fallback;
    if (typeof v === 'number')
        return Math.round(v * 1000);
    return (0,duration/* parseDuration */.E)(String(v)) ?? fallback;
}
function plan_stringMap(v) {
    const out = {};
    for (const [k, val] of Object.entries(v ?? {}))
        out[k] = String(val);
    return out;
}
function statusOf(v, err) {
    const text = Array.isArray(v) ? v.join(',') : String(v);
    const parsed = parseStatusExpectation(text);
    if (typeof parsed === 'string')
        throw err(parsed);
    return parsed;
}
function checkRegex(source, err) {
    try {
        new RegExp(source);
    }
    catch (e) {
        throw err(`invalid regular expression /${source}/: ${e.message.replace(/^Invalid regular expression: /, '')}`);
    }
}
function predicateRegexes(p, err) {
    if (p.matches !== undefined)
        checkRegex(p.matches, err);
    if (p.not)
        predicateRegexes(p.not, err);
}
function normaliseExpect(raw, path, errs, defaults, kind) {
    const r = raw ?? {};
    const at = (sub) => (m) => errs.at([...path, 'expect', ...sub], m);
    if (kind === 'command') {
        for (const key of ['status', 'headers', 'body', 'jsonpath', 'duration', 'certificate'])
            if (r[key] !== undefined)
                throw at([key])(`'${key}' applies to HTTP checks; a command check takes exitCode and stdout`);
    }
    else {
        for (const key of ['exitCode', 'stdout'])
            if (r[key] !== undefined)
                throw at([key])(`'${key}' applies to command checks only`);
    }
    const headers = Object.entries(r.headers ?? {}).map(([name, v]) => ({
        name: name.toLowerCase(),
        predicate: toPredicate(v),
    }));
    headers.forEach((h) => predicateRegexes(h.predicate, at(['headers', h.name])));
    const jsonpath = Array.isArray(r.jsonpath)
        ? r.jsonpath.map((j) => {
            const { path: p, ...pred } = j;
            return { path: String(p), predicate: pred };
        })
        : Object.entries(r.jsonpath ?? {}).map(([p, v]) => ({
            path: p,
            predicate: toPredicate(v),
        }));
    jsonpath.forEach((j, i) => {
        if (!j.path.startsWith('$'))
            throw at(['jsonpath', i])(`JSONPath '${j.path}' must start with $ (e.g. $.status)`);
        if (Object.keys(j.predicate).length === 0)
            throw at(['jsonpath', i])(`give a predicate for ${j.path}, e.g. equals or exists`);
        predicateRegexes(j.predicate, at(['jsonpath', i]));
    });
    const body = r.body === undefined ? undefined : toPredicate(r.body);
    if (body)
        predicateRegexes(body, at(['body']));
    const stdout = r.stdout === undefined ? undefined : toPredicate(r.stdout);
    const dur = r.duration;
    if (dur) {
        for (const k of ['gt', 'gte', 'lt', 'lte'])
            if (dur[k] !== undefined &&
                (typeof dur[k] === 'string' ? (0,duration/* parseDuration */.E)(dur[k]) === undefined : false))
                throw at(['duration', k])(`'${String(dur[k])}' is not a duration; expected e.g. 500ms`);
    }
    const cert = r.certificate?.daysRemaining;
    return {
        status: kind === 'http'
            ? r.status !== undefined
                ? statusOf(r.status, at(['status']))
                : defaults.expectStatus
            : undefined,
        headers,
        body,
        jsonpath,
        duration: dur,
        certificateDays: cert === undefined ? undefined : typeof cert === 'number' ? { gte: cert } : toPredicate(cert),
        exitCode: kind === 'command' ? (r.exitCode ?? 0) : undefined,
        stdout,
    };
}
function normaliseRequest(raw, base) {
    const method = String(raw.method ?? (raw.json !== undefined || raw.body !== undefined ? 'POST' : 'GET')).toUpperCase();
    return {
        method,
        url: String(raw.url),
        headers: { ...base.headers, ...plan_stringMap(raw.headers) },
        query: plan_stringMap(raw.query),
        json: raw.json,
        body: raw.body,
        auth: raw.auth,
        timeoutMs: plan_duration(raw.timeout, base.timeoutMs),
        followRedirects: raw.followRedirects ?? base.followRedirects,
        insecure: raw.insecure ?? base.insecure,
    };
}
/** Parse and validate a checks file's text. */
function parsePlan(text, file, defaults) {
    if (file.endsWith('.json')) {
        try {
            JSON.parse(text);
        }
        catch (e) {
            const msg = e.message;
            const at = /position (\d+)/.exec(msg);
            let pos = '';
            if (at) {
                const before = text.slice(0, Number(at[1]));
                pos = `:${before.split('\n').length}:${before.length - before.lastIndexOf('\n')}`;
            }
            else {
                // Node 20's message has no position: JSON is YAML, so the YAML parser can say where it broke.
                const lp = (0,dist/* parseDocument */.Tp)(text, { prettyErrors: true }).errors[0]?.linePos?.[0];
                if (lp)
                    pos = `:${lp.line}:${lp.col}`;
            }
            throw new src_errors/* ConfigurationError */.j1(`${file}${pos}: invalid JSON: ${msg.replace(/ in JSON at position \d+.*$/, '').replace(/^Unexpected token '?(.)'?,.*$/, 'unexpected $1')}`);
        }
    }
    const lines = new dist/* LineCounter */.HN();
    const doc = (0,dist/* parseDocument */.Tp)(text, { lineCounter: lines, prettyErrors: true, uniqueKeys: true });
    const noPos = new PlanErrors(file);
    if (doc.errors.length) {
        const e = doc.errors[0];
        const lp = e.linePos?.[0];
        const what = e.code === 'DUPLICATE_KEY'
            ? 'duplicate key'
            : e.message.split('\n')[0].replace(/ at line \d+, column \d+:?$/, '');
        throw new src_errors/* ConfigurationError */.j1(`${file}${lp ? `:${lp.line}:${lp.col}` : ''}: invalid YAML: ${what}`);
    }
    const data = doc.toJS();
    const errs = new PlanErrors(file, doc, lines);
    if (data === null || typeof data !== 'object' || Array.isArray(data))
        throw noPos.at([], 'expected a mapping with a `checks:` list (see the checks-file reference in the README)');
    const validation = validateSchema(data);
    if (!validation.ok) {
        const picked = pickError(validation.errors);
        const { path, message } = describeSchemaError(picked);
        throw errs.at(path, message, picked.keyword === 'additionalProperties');
    }
    const raw = data;
    const d = raw.defaults ?? {};
    const base = {
        headers: { ...(defaults.headers ?? {}), ...plan_stringMap(d.headers) },
        timeoutMs: plan_duration(d.timeout, defaults.timeoutMs),
        followRedirects: d.followRedirects ?? defaults.followRedirects ?? false,
        insecure: d.insecure ?? defaults.insecure ?? false,
    };
    const baseUrl = d.baseUrl;
    const defaultRetries = d.retries ?? 0;
    const defaultRetryInterval = plan_duration(d.retryInterval, defaults.retryIntervalMs);
    const requireBase = (url, path) => {
        if (/^[a-z][a-z0-9+.-]*:\/\//i.test(url) && !/^https?:\/\//i.test(url))
            throw errs.at(path, `'${url}': only http:// and https:// URLs can be checked`);
        if (!/^(https?:\/\/|\$\{)/.test(url) && !baseUrl)
            throw errs.at(path, `'${url}' is a relative URL; set defaults.baseUrl or write a full http(s):// URL`);
    };
    // Names captured so far: a check may use captures of the checks written before it.
    const captured = new Set();
    const checkVars = (value, path) => {
        const uses = [];
        for (const s of stringsIn(value))
            for (const v of referencedVariables(s)) {
                if (captured.has(v.name))
                    uses.push(v.name);
                else if (!v.hasDefault && !defaults.isDefined(v.name))
                    throw errs.at(path, `\${${v.name}} is not defined (give it in vars, the environment, or capture it in an earlier check)`);
            }
        return [...new Set(uses)];
    };
    let wait;
    if (raw.wait) {
        const w = raw.wait;
        requireBase(String(w.url), ['wait', 'url']);
        checkVars(w, ['wait']);
        wait = {
            request: normaliseRequest(w, base),
            expect: normaliseExpect(w.expect, ['wait'], errs, defaults, 'http'),
            initialDelayMs: plan_duration(w.initialDelay, 0),
            intervalMs: plan_duration(w.interval, 2000),
            deadlineMs: plan_duration(w.deadline, 300_000),
            successThreshold: w.successThreshold ?? 1,
        };
    }
    const names = new Map();
    const checks = raw.checks.map((c, i) => {
        const path = ['checks', i];
        const kind = c.command ? 'command' : 'http';
        const uses = checkVars({ ...c, captures: undefined, name: undefined }, path);
        let request;
        if (kind === 'http') {
            requireBase(String(c.url), [...path, 'url']);
            request = normaliseRequest(c, base);
        }
        const captures = c.captures ?? {};
        for (const [name, cap] of Object.entries(captures)) {
            if (kind === 'command' && !('regex' in cap))
                throw errs.at([...path, 'captures', name], "a command check can capture only with 'regex' (over its output)");
            if ('regex' in cap)
                checkRegex(cap.regex, (m) => errs.at([...path, 'captures', name], m));
            if ('jsonpath' in cap && !cap.jsonpath.startsWith('$'))
                throw errs.at([...path, 'captures', name], `JSONPath '${cap.jsonpath}' must start with $`);
        }
        const baseName = c.name ??
            (kind === 'http' ? `${request.method} ${request.url}` : c.command.join(' '));
        // Unique names: GitLab collapses JUnit test cases that share a name.
        const seen = names.get(baseName) ?? 0;
        names.set(baseName, seen + 1);
        const spec = {
            name: seen ? `${baseName} (${seen + 1})` : baseName,
            where: `checks[${i}]`,
            kind,
            request,
            command: c.command,
            commandTimeoutMs: kind === 'command' && c.timeout !== undefined ? plan_duration(c.timeout, 0) : undefined,
            env: plan_stringMap(c.env),
            cwd: c.cwd,
            expect: normaliseExpect(c.expect, path, errs, defaults, kind),
            captures,
            retries: c.retries ?? defaultRetries,
            retryIntervalMs: plan_duration(c.retryInterval, defaultRetryInterval),
            retryUntilDeadline: false,
            uses,
        };
        for (const name of Object.keys(captures))
            captured.add(name);
        return spec;
    });
    let sample;
    if (raw.sample) {
        const s = raw.sample;
        const httpNames = checks.filter((c) => c.kind === 'http').map((c) => c.name);
        const wanted = s.checks ?? httpNames;
        wanted.forEach((n, i) => {
            if (!httpNames.includes(n))
                throw errs.at(['sample', 'checks', i], `no HTTP check named '${n}'; expected one of: ${httpNames.join(', ')}`);
        });
        if (wanted.length === 0)
            throw errs.at(['sample'], 'there is no HTTP check to sample');
        sample = {
            iterations: s.iterations,
            concurrency: s.concurrency ?? 4,
            checks: wanted,
        };
    }
    const thresholds = [];
    for (const [metric, exprs] of Object.entries(raw.thresholds ?? {}))
        exprs.forEach((e, i) => {
            const t = parseThreshold(metric, e);
            if (typeof t === 'string')
                throw errs.at(['thresholds', metric, i], t);
            thresholds.push(t);
        });
    const v = raw.verdict ?? {};
    return {
        source: file,
        baseUrl,
        wait,
        checks,
        sample,
        thresholds,
        failureLimit: v.failureLimit ?? 0,
        consecutiveErrorLimit: v.consecutiveErrorLimit ?? 4,
    };
}
function loadPlan(path, defaults, displayName = path) {
    let text;
    try {
        text = (0,external_node_fs_.readFileSync)(path, 'utf8');
    }
    catch (e) {
        throw new src_errors/* ConfigurationError */.j1(`${displayName}: cannot read the checks file (${e.code ?? e.message})`);
    }
    return parsePlan(text, displayName, defaults);
}
/** The one-line form: every URL must answer with the expected status; retried until the deadline. */
function urlPlan(urls, defaults, intervalMs) {
    const names = new Map();
    return {
        source: 'inputs',
        checks: urls.map((url, i) => {
            const n = names.get(url) ?? 0;
            names.set(url, n + 1);
            return {
                name: n ? `${url} (${n + 1})` : url,
                where: `url[${i}]`,
                kind: 'http',
                request: {
                    method: 'GET',
                    url,
                    headers: { ...(defaults.headers ?? {}) },
                    query: {},
                    timeoutMs: defaults.timeoutMs,
                    followRedirects: defaults.followRedirects ?? false,
                    insecure: defaults.insecure ?? false,
                },
                env: {},
                expect: { status: defaults.expectStatus, headers: [], jsonpath: [] },
                captures: {},
                retries: 0,
                retryIntervalMs: intervalMs,
                retryUntilDeadline: true,
                uses: [],
            };
        }),
        thresholds: [],
        failureLimit: 0,
        consecutiveErrorLimit: Number.MAX_SAFE_INTEGER,
    };
}

// EXTERNAL MODULE: ./node_modules/jsonpath-plus/dist/index-node-esm.js
var index_node_esm = __webpack_require__(6229);
// EXTERNAL MODULE: ./packages/core/src/exec/exec.ts
var exec = __webpack_require__(8534);
// EXTERNAL MODULE: ./packages/core/src/http/http.ts + 1 modules
var http = __webpack_require__(3996);
// EXTERNAL MODULE: ./packages/core/src/util/sleep.ts
var sleep = __webpack_require__(9485);
// EXTERNAL MODULE: external "node:tls"
var external_node_tls_ = __webpack_require__(1692);
;// CONCATENATED MODULE: ./packages/core/src/smoke/certificate.ts
/** Days until a server's TLS certificate expires (the `certificate` assertion). */

function fetchCertificate(url, opts) {
    return new Promise((resolve, reject) => {
        const host = url.hostname.replace(/^\[|\]$/g, '');
        const socket = (0,external_node_tls_.connect)({
            host,
            port: Number(url.port || 443),
            servername: /^[\d.]+$|:/.test(host) ? undefined : host,
            rejectUnauthorized: !opts.insecure,
            timeout: opts.timeoutMs,
        });
        const done = (err, info) => {
            socket.destroy();
            opts.signal?.removeEventListener('abort', onAbort);
            if (err)
                reject(err);
            else
                resolve(info);
        };
        const onAbort = () => done(new Error('cancelled'));
        opts.signal?.addEventListener('abort', onAbort, { once: true });
        socket.once('secureConnect', () => {
            const cert = socket.getPeerCertificate();
            if (!cert || !cert.valid_to)
                return done(new Error('the server sent no certificate'));
            const validTo = new Date(cert.valid_to);
            done(undefined, {
                daysRemaining: Math.floor((validTo.getTime() - Date.now()) / 86_400_000),
                validTo: validTo.toISOString(),
                subject: typeof cert.subject?.CN === 'string' ? cert.subject.CN : undefined,
                issuer: typeof cert.issuer?.CN === 'string' ? cert.issuer.CN : undefined,
            });
        });
        socket.once('timeout', () => done(new Error(`no TLS handshake with ${url.host} within ${opts.timeoutMs}ms`)));
        socket.once('error', (e) => done(e));
    });
}

;// CONCATENATED MODULE: ./packages/core/src/smoke/engine.ts
/**
 * Runs a {@link SmokePlan}: the wait phase, then the checks (concurrently, bounded, each after the checks whose
 * captures it uses), then the sample, all under one overall deadline; then the thresholds and the verdict.
 *
 * Outcomes, as in Argo analysis and hurl: an attempt *passes*, *fails* (the service answered, an assertion did
 * not hold) or *errors* (no usable answer: connection refused, reset, timeout, TLS, DNS, a command that could
 * not run). A check is retried on failures and errors alike (not only on transport errors, unlike curl);
 * its verdict is its last attempt's. The suite fails when failed checks exceed `failureLimit`, the wait phase
 * never passed, or a threshold is crossed; otherwise it is an error when any check errored; else it passes.
 */










const BODY_LIMIT = 10 * 1024 * 1024;
function excerpt(text, max = 300) {
    const flat = text.replace(/\s+/g, ' ').trim();
    return flat.length > max ? `${flat.slice(0, max)}…` : flat;
}
/** Join a path onto baseUrl the way people mean it: `https://x/api` + `/health` → `https://x/api/health`. */
function resolveUrl(url, baseUrl) {
    if (/^https?:\/\//i.test(url) || !baseUrl)
        return url;
    return `${baseUrl.replace(/\/+$/, '')}/${url.replace(/^\/+/, '')}`;
}
const SENSITIVE_HEADER = /authorization|cookie|token|secret|password|api[-_]?key|credential/i;
function lookup(ctx) {
    return (name) => ctx.captures.get(name) ?? ctx.opts.vars(name);
}
function renderRequest(spec, ctx, where) {
    const vars = lookup(ctx);
    const sensitive = ctx.opts.onSensitiveValue;
    const url = new URL(resolveUrl(interpolate(resolveUrl(spec.url, ctx.plan.baseUrl), vars, `${where}.url`), undefined));
    for (const [k, v] of Object.entries(spec.query))
        url.searchParams.append(k, interpolate(v, vars, `${where}.query.${k}`));
    const headers = {};
    for (const [k, v] of Object.entries(spec.headers)) {
        // Every variable value put into a header is masked, and the whole value of a credential-like header.
        const value = interpolate(v, vars, `${where}.headers.${k}`, (_n, val) => sensitive?.(val));
        if (SENSITIVE_HEADER.test(k))
            sensitive?.(value.replace(/^(Bearer|Basic|token=?)\s*/i, ''));
        headers[k.toLowerCase()] = value;
    }
    if (spec.auth?.basic) {
        const user = interpolate(spec.auth.basic.username, vars, `${where}.auth.basic.username`);
        const pass = interpolate(spec.auth.basic.password, vars, `${where}.auth.basic.password`);
        sensitive?.(pass);
        const encoded = Buffer.from(`${user}:${pass}`).toString('base64');
        sensitive?.(encoded);
        headers.authorization = `Basic ${encoded}`;
    }
    if (spec.auth?.bearer) {
        const token = interpolate(spec.auth.bearer, vars, `${where}.auth.bearer`);
        sensitive?.(token);
        headers.authorization = `Bearer ${token}`;
    }
    let body;
    if (spec.json !== undefined) {
        body = JSON.stringify(interpolateDeep(spec.json, vars, `${where}.json`));
        headers['content-type'] ??= 'application/json';
    }
    else if (spec.body !== undefined)
        body = interpolate(spec.body, vars, `${where}.body`);
    return { url, headers, body };
}
function durationBound(v) {
    return typeof v === 'number' ? v : ((0,duration/* parseDuration */.E)(v) ?? undefined);
}
/** Expected values may use variables too (`$.version: ${VERSION}`, `$.id: ${orderId}`). */
function renderExpect(expect, ctx, where) {
    const vars = lookup(ctx);
    const deep = (v, w) => interpolateDeep(v, vars, `${where}.expect.${w}`);
    return {
        ...expect,
        headers: expect.headers.map((h) => ({ name: h.name, predicate: deep(h.predicate, `headers.${h.name}`) })),
        body: expect.body && deep(expect.body, 'body'),
        jsonpath: expect.jsonpath.map((j) => ({ path: j.path, predicate: deep(j.predicate, 'jsonpath') })),
        stdout: expect.stdout && deep(expect.stdout, 'stdout'),
    };
}
async function assertHttp(expect, res, url, insecure, ctx) {
    const reasons = [];
    if (expect.status && !expect.status.matches(res.status))
        reasons.push(`status ${res.status}, expected ${expect.status.text}`);
    for (const h of expect.headers) {
        const raw = res.headers[h.name];
        const value = Array.isArray(raw) ? raw.join(', ') : raw;
        const why = checkPredicate(value, h.predicate);
        if (why)
            reasons.push(`header ${h.name}: ${why}`);
    }
    if (expect.body) {
        const why = checkPredicate(res.text, expect.body);
        if (why)
            reasons.push(`body: ${why}`);
    }
    if (expect.jsonpath.length) {
        let json;
        let parsed = true;
        try {
            json = JSON.parse(res.text);
        }
        catch {
            parsed = false;
        }
        for (const j of expect.jsonpath) {
            if (!parsed) {
                reasons.push(`${j.path}: the body is not JSON (${excerpt(res.text, 80)})`);
                continue;
            }
            const why = checkPredicate(jsonPathValue(json, j.path), j.predicate);
            if (why)
                reasons.push(`${j.path}: ${why}`);
        }
    }
    if (expect.duration) {
        const why = checkPredicate(Math.round(res.durationMs), expect.duration, durationBound);
        if (why)
            reasons.push(`duration: ${why.replace(/got (\d+)$/, 'took $1ms')}`);
    }
    if (expect.certificateDays) {
        if (url.protocol !== 'https:')
            reasons.push('certificate: the URL is not https');
        else {
            const key = `${url.host}|${insecure}`;
            let days = ctx.certCache.get(key);
            if (!days) {
                days = fetchCertificate(url, { insecure, timeoutMs: 10_000, signal: ctx.signal }).then((c) => c.daysRemaining);
                ctx.certCache.set(key, days);
            }
            try {
                const why = checkPredicate(await days, expect.certificateDays);
                if (why)
                    reasons.push(`certificate days remaining: ${why}`);
            }
            catch (e) {
                reasons.push(`certificate: ${e.message}`);
            }
        }
    }
    return reasons;
}
/** The value(s) a JSONPath selects: undefined for no match, the value for one, an array for several. */
function jsonPathValue(json, path) {
    const hits = (0,index_node_esm/* JSONPath */.E)({ path, json: json, wrap: true, eval: false });
    if (hits.length === 0)
        return undefined;
    // A definite path ($.a.b, $.a[0]) yields its value; wildcards and filters yield the list.
    return hits.length === 1 && !/[*?]|\.\.|\[[^\]]*[,:]/.test(path) ? hits[0] : hits;
}
function captureValue(spec, res) {
    if ('header' in spec) {
        const v = res.headers[spec.header.toLowerCase()];
        return Array.isArray(v) ? v[0] : v;
    }
    if ('regex' in spec) {
        const m = new RegExp(spec.regex).exec(res.text);
        return m ? (m[1] ?? m[0]) : undefined;
    }
    try {
        const v = jsonPathValue(JSON.parse(res.text), spec.jsonpath);
        return v === undefined ? undefined : typeof v === 'string' ? v : JSON.stringify(v);
    }
    catch {
        return undefined;
    }
}
async function httpAttempt(spec, expect, check, ctx, record) {
    const { url, headers, body } = renderRequest(spec, ctx, check.where);
    const started = performance.now();
    const base = { url: url.toString(), method: spec.method, captures: {} };
    try {
        const res = await (0,http/* httpRequest */.aj)(url, {
            method: spec.method,
            headers,
            body,
            timeoutMs: spec.timeoutMs,
            retry: { retries: 0 },
            maxRedirects: spec.followRedirects ? 10 : 0,
            insecure: spec.insecure,
            signal: ctx.signal,
            env: ctx.opts.env,
        });
        const buf = await res.buffer();
        const text = buf.subarray(0, BODY_LIMIT).toString('utf8');
        const durationMs = performance.now() - started;
        const reasons = await assertHttp(renderExpect(expect, ctx, check.where), { status: res.status, headers: res.headers, text, durationMs }, url, spec.insecure, ctx);
        for (const [name, cap] of Object.entries(check.captures)) {
            const v = captureValue(cap, { headers: res.headers, text });
            if (v === undefined)
                reasons.push(`capture ${name}: nothing matched`);
            else
                base.captures[name] = v;
        }
        if (record) {
            ctx.samples.durations.push(durationMs);
            ctx.samples.failed.push(expect.status ? !expect.status.matches(res.status) : res.status >= 400);
            ctx.samples.checks.push(reasons.length === 0);
        }
        return {
            ...base,
            outcome: reasons.length ? 'fail' : 'pass',
            status: res.status,
            durationMs,
            reasons,
            output: reasons.length ? excerpt(text) : undefined,
        };
    }
    catch (e) {
        if (e instanceof src_errors/* CancelledError */.cc || ctx.signal.aborted)
            throw e;
        const durationMs = performance.now() - started;
        if (record) {
            ctx.samples.durations.push(durationMs);
            ctx.samples.failed.push(true);
            ctx.samples.checks.push(false);
        }
        const message = e instanceof http/* HttpError */.j$ ? e.message.replace(/^[A-Z]+ \S+: /, '') : e.message;
        return { ...base, outcome: 'error', durationMs, reasons: [message] };
    }
}
async function commandAttempt(check, ctx) {
    const vars = lookup(ctx);
    const argv = check.command.map((a, i) => interpolate(a, vars, `${check.where}.command[${i}]`));
    const env = { ...(ctx.opts.env ?? process.env) };
    for (const [k, v] of Object.entries(check.env))
        env[k] = interpolate(v, vars, `${check.where}.env.${k}`);
    const started = performance.now();
    const timeoutMs = check.commandTimeoutMs;
    try {
        const r = await (0,exec/* exec */.m0)(argv[0], argv.slice(1), {
            cwd: check.cwd ?? ctx.opts.cwd,
            env,
            timeoutMs,
            signal: ctx.signal,
            allowFailure: true,
        });
        const output = (r.stdout + r.stderr).trim().split('\n').slice(-20).join('\n');
        const reasons = [];
        if (r.exitCode !== check.expect.exitCode)
            reasons.push(`exit code ${r.exitCode ?? r.signal}, expected ${check.expect.exitCode}`);
        const stdoutPredicate = renderExpect(check.expect, ctx, check.where).stdout;
        if (stdoutPredicate) {
            const why = checkPredicate(r.stdout, stdoutPredicate);
            if (why)
                reasons.push(`stdout: ${why}`);
        }
        const captures = {};
        for (const [name, cap] of Object.entries(check.captures)) {
            const v = captureValue(cap, { headers: {}, text: r.stdout });
            if (v === undefined)
                reasons.push(`capture ${name}: nothing matched`);
            else
                captures[name] = v;
        }
        return {
            outcome: reasons.length ? 'fail' : 'pass',
            exitCode: r.exitCode,
            durationMs: performance.now() - started,
            reasons,
            captures,
            output,
        };
    }
    catch (e) {
        if (e instanceof src_errors/* CancelledError */.cc || ctx.signal.aborted)
            throw e;
        const durationMs = performance.now() - started;
        const message = e instanceof exec/* ExecError */.cI && e.result.timedOut
            ? `timed out after ${(0,duration/* formatDuration */.a)(timeoutMs ?? 0)}`
            : e.message;
        const output = e instanceof exec/* ExecError */.cI
            ? (e.result.stdout + e.result.stderr).trim().split('\n').slice(-20).join('\n')
            : undefined;
        return { outcome: 'error', durationMs, reasons: [message], captures: {}, output };
    }
}
function attempt(check, ctx) {
    return check.kind === 'command'
        ? commandAttempt(check, ctx)
        : httpAttempt(check.request, check.expect, check, ctx, true);
}
async function runCheck(check, ctx, deadline) {
    const log = ctx.opts.log;
    const startedAt = new Date().toISOString();
    const t0 = performance.now();
    let attempts = 0;
    let consecutiveErrors = 0;
    let last;
    for (;;) {
        attempts++;
        last = await attempt(check, ctx);
        if (last.outcome === 'pass')
            break;
        consecutiveErrors = last.outcome === 'error' ? consecutiveErrors + 1 : 0;
        // No attempt starts after the deadline; the one-line form retries until it, the others `retries` times.
        const more = Date.now() < deadline && (check.retryUntilDeadline || attempts <= check.retries);
        if (!more || consecutiveErrors > ctx.plan.consecutiveErrorLimit)
            break;
        log.info(`  ${check.name}: ${last.reasons.join('; ')} — retrying in ${(0,duration/* formatDuration */.a)(check.retryIntervalMs)} (attempt ${attempts})`);
        const wait = Math.min(check.retryIntervalMs, Math.max(0, deadline - Date.now()));
        await (0,sleep/* sleep */.y)(wait, ctx.signal);
    }
    for (const [k, v] of Object.entries(last.captures))
        ctx.captures.set(k, v);
    const result = {
        name: check.name,
        kind: check.kind,
        verdict: last.outcome,
        attempts,
        status: last.status,
        exitCode: last.exitCode,
        latencyMs: last.durationMs,
        reason: last.reasons.length ? last.reasons.join('; ') : undefined,
        output: last.outcome === 'pass' ? undefined : last.output,
        method: last.method,
        url: last.url,
        startedAt,
        durationMs: performance.now() - t0,
    };
    const mark = result.verdict === 'pass' ? '✓' : '✗';
    log.info(`${mark} ${check.name}: ${result.verdict}${result.status !== undefined ? ` (${result.status}` : result.exitCode !== undefined ? ` (exit ${result.exitCode}` : ' ('}${result.latencyMs !== undefined ? `${result.status !== undefined || result.exitCode !== undefined ? ', ' : ''}${(0,duration/* formatDuration */.a)(result.latencyMs)}` : ''}${attempts > 1 ? `, ${attempts} attempts` : ''})${result.reason ? ` — ${result.reason}` : ''}`);
    return result;
}
async function runWait(plan, ctx, deadline) {
    const w = plan.wait;
    const log = ctx.opts.log;
    const t0 = Date.now();
    const until = Math.min(deadline, t0 + w.initialDelayMs + w.deadlineMs);
    log.info(`Waiting for ${w.request.url} (${w.successThreshold} pass(es) in a row; deadline ${(0,duration/* formatDuration */.a)(w.deadlineMs)})`);
    if (w.initialDelayMs)
        await (0,sleep/* sleep */.y)(Math.min(w.initialDelayMs, Math.max(0, until - Date.now())), ctx.signal);
    let attempts = 0;
    let streak = 0;
    let last;
    for (;;) {
        attempts++;
        last = await httpAttempt(w.request, w.expect, { captures: {}, where: 'wait' }, ctx, false);
        streak = last.outcome === 'pass' ? streak + 1 : 0;
        if (streak >= w.successThreshold) {
            log.info(`✓ ready after ${(0,duration/* formatDuration */.a)(Date.now() - t0)} (${attempts} attempts)`);
            return { passed: true, attempts, durationMs: Date.now() - t0 };
        }
        if (last.outcome !== 'pass')
            log.info(`  not ready: ${last.reasons.join('; ')} (attempt ${attempts})`);
        if (Date.now() >= until)
            break;
        await (0,sleep/* sleep */.y)(Math.min(w.intervalMs, Math.max(0, until - Date.now())), ctx.signal);
    }
    const reason = `not ready after ${(0,duration/* formatDuration */.a)(Date.now() - t0)}: ${last.reasons.join('; ')}`;
    log.info(`✗ ${reason}`);
    return { passed: false, attempts, durationMs: Date.now() - t0, reason };
}
async function runSample(plan, ctx) {
    const s = plan.sample;
    const checks = plan.checks.filter((c) => s.checks.includes(c.name));
    ctx.opts.log.info(`Sampling: ${s.iterations} iteration(s) of ${checks.length} check(s), ${s.concurrency} at a time`);
    const jobs = [];
    for (let i = 0; i < s.iterations; i++)
        jobs.push(...checks);
    let next = 0;
    const worker = async () => {
        while (next < jobs.length && !ctx.signal.aborted) {
            const c = jobs[next++];
            await httpAttempt(c.request, c.expect, { captures: {}, where: c.where }, ctx, true);
        }
    };
    await Promise.all(Array.from({ length: Math.min(s.concurrency, jobs.length) }, worker));
}
function latencyStats(durations) {
    const d = [...durations].sort((a, b) => a - b);
    if (d.length === 0)
        return { count: 0 };
    return {
        count: d.length,
        avg: d.reduce((a, b) => a + b, 0) / d.length,
        min: d[0],
        p50: percentile(d, 50),
        p90: percentile(d, 90),
        p95: percentile(d, 95),
        p99: percentile(d, 99),
        max: d[d.length - 1],
    };
}
/** Run the plan. Never throws for a check's outcome; cancellation ends it early with what finished. */
async function runPlan(plan, opts) {
    const started = Date.now();
    const startedAt = new Date(started).toISOString();
    const deadline = started + opts.deadlineMs;
    // The deadline bounds when attempts start; one in flight at the deadline may finish within its own timeout.
    const grace = Math.max(0, ...plan.checks.map((c) => c.request?.timeoutMs ?? 0), plan.wait?.request.timeoutMs ?? 0);
    const deadlineController = new AbortController();
    const deadlineTimer = setTimeout(() => deadlineController.abort(new Error('deadline')), opts.deadlineMs + grace);
    deadlineTimer.unref();
    const signal = opts.signal
        ? AbortSignal.any([opts.signal, deadlineController.signal])
        : deadlineController.signal;
    const ctx = {
        plan,
        opts,
        captures: new Map(),
        signal,
        samples: { durations: [], failed: [], checks: [] },
        certCache: new Map(),
    };
    const results = new Map();
    let wait;
    let stopped;
    const stopReason = () => (opts.signal?.aborted ? 'cancelled' : 'deadline');
    try {
        if (plan.wait)
            wait = await runWait(plan, ctx, deadline);
        if (!wait || wait.passed) {
            // Schedule: a check starts when a slot is free and every capture it uses is there.
            const pending = [...plan.checks];
            const running = new Map();
            const producers = new Map();
            for (const c of plan.checks)
                for (const name of Object.keys(c.captures))
                    if (!producers.has(name))
                        producers.set(name, c);
            while (pending.length || running.size) {
                for (let i = 0; i < pending.length && running.size < opts.concurrency;) {
                    const c = pending[i];
                    const deps = c.uses.map((u) => producers.get(u)).filter((p) => p !== c);
                    const unfinished = deps.filter((d) => !results.has(d.name));
                    if (unfinished.length) {
                        i++;
                        continue;
                    }
                    pending.splice(i, 1);
                    const missing = c.uses.filter((u) => !ctx.captures.has(u));
                    if (missing.length) {
                        const by = deps.filter((d) => results.get(d.name)?.verdict !== 'pass').map((d) => d.name);
                        results.set(c.name, {
                            name: c.name,
                            kind: c.kind,
                            verdict: 'skipped',
                            attempts: 0,
                            durationMs: 0,
                            reason: `needs \${${missing.join('}, ${')}} from '${by.length ? by.join("', '") : deps.map((d) => d.name).join("', '")}', which did not capture it`,
                        });
                        continue;
                    }
                    running.set(c.name, runCheck(c, ctx, deadline).then((r) => {
                        results.set(c.name, r);
                        running.delete(c.name);
                    }));
                }
                if (running.size === 0)
                    break;
                await Promise.race(running.values());
            }
            if (plan.sample && !signal.aborted)
                await runSample(plan, ctx);
        }
    }
    catch (e) {
        if (!(e instanceof src_errors/* CancelledError */.cc) && !signal.aborted)
            throw e;
        stopped = stopReason();
    }
    finally {
        clearTimeout(deadlineTimer);
    }
    const checks = plan.checks.map((c) => results.get(c.name) ?? {
        name: c.name,
        kind: c.kind,
        verdict: stopped === 'cancelled' ? 'cancelled' : wait && !wait.passed ? 'skipped' : 'error',
        attempts: 0,
        durationMs: 0,
        reason: stopped === 'cancelled'
            ? 'cancelled before it finished'
            : wait && !wait.passed
                ? 'not run: the service never became ready'
                : `not finished within the deadline (${(0,duration/* formatDuration */.a)(opts.deadlineMs)})`,
    });
    const thresholds = evaluateThresholds(plan.thresholds, ctx.samples);
    const count = (v) => checks.filter((c) => c.verdict === v).length;
    const passed = count('pass');
    const failed = count('fail');
    const errors = count('error') + count('cancelled');
    const skipped = count('skipped');
    const failedThresholds = thresholds.filter((t) => !t.passed);
    let verdict;
    let reason;
    if (stopped === 'cancelled') {
        verdict = 'error';
        reason = `cancelled after ${passed + failed} of ${checks.length} check(s) finished`;
    }
    else if (wait && !wait.passed) {
        const unreachable = /refused|reset|resolve|timed out|no answer|TLS/.test(wait.reason ?? '');
        verdict = unreachable ? 'error' : 'fail';
        reason = `the service never became ready: ${wait.reason}`;
    }
    else if (failed > plan.failureLimit || failedThresholds.length) {
        verdict = 'fail';
        const parts = [];
        if (failed > plan.failureLimit)
            parts.push(`${failed} check(s) failed${plan.failureLimit ? ` (limit ${plan.failureLimit})` : ''}`);
        if (failedThresholds.length)
            parts.push(`threshold(s) crossed: ${failedThresholds.map((t) => `${t.metric} ${t.expression}`).join(', ')}`);
        reason = parts.join('; ');
    }
    else if (errors > 0) {
        verdict = 'error';
        reason = `${errors} check(s) could not get an answer${stopped === 'deadline' ? ` before the deadline` : ''}`;
    }
    else {
        verdict = 'pass';
        reason = `${passed} check(s) passed${failed ? `, ${failed} failed within the limit of ${plan.failureLimit}` : ''}`;
    }
    return {
        verdict,
        reason,
        checks,
        wait,
        thresholds,
        latency: latencyStats(ctx.samples.durations),
        requests: ctx.samples.durations.length,
        failedRequests: ctx.samples.failed.filter(Boolean).length,
        passed,
        failed,
        errors,
        skipped,
        durationMs: Date.now() - started,
        startedAt,
        cancelled: stopped === 'cancelled',
        deadlineReached: stopped === 'deadline',
    };
}

// EXTERNAL MODULE: ./packages/core/src/platform/logger.ts
var logger = __webpack_require__(1897);
;// CONCATENATED MODULE: ./packages/core/src/smoke/report.ts
/**
 * What a smoke test leaves behind: a JSON report (machine-readable, the `report` output), a JUnit XML file for
 * GitLab's `artifacts:reports:junit` (one testcase per check, unique names, `<failure>` for a failed
 * assertion, `<error>` for no usable answer, `<skipped>` for a check that could not run), the job summary
 * table with latency percentiles and thresholds, and a compact coloured table for terminals.
 */


function jsonReport(r, meta) {
    return (JSON.stringify({
        tool: 'kiln smoke-test',
        version: meta.kilnVersion,
        source: meta.source,
        verdict: r.verdict,
        reason: r.reason,
        startedAt: r.startedAt,
        durationMs: Math.round(r.durationMs),
        counts: {
            checks: r.checks.length,
            passed: r.passed,
            failed: r.failed,
            errors: r.errors,
            skipped: r.skipped,
        },
        requests: { total: r.requests, failed: r.failedRequests },
        latencyMs: Object.fromEntries(Object.entries(r.latency).map(([k, v]) => [k, k === 'count' ? v : round(v)])),
        wait: r.wait,
        thresholds: r.thresholds.map((t) => ({
            metric: t.metric,
            expression: t.expression,
            actual: t.actual === undefined ? null : round(t.actual),
            passed: t.passed,
        })),
        checks: r.checks.map((c) => ({
            ...c,
            latencyMs: c.latencyMs === undefined ? undefined : round(c.latencyMs),
            durationMs: round(c.durationMs),
        })),
    }, null, 2) + '\n');
}
function round(v) {
    return v === undefined ? undefined : Math.round(v * 10) / 10;
}
/** XML text: escaped, and without the control characters XML 1.0 forbids. */
function xmlEscape(s) {
    return (s
        // eslint-disable-next-line no-control-regex -- removing what XML 1.0 cannot carry
        .replace(/[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]/g, '')
        .replace(/&/g, '&amp;')
        .replace(/</g, '&lt;')
        .replace(/>/g, '&gt;')
        .replace(/"/g, '&quot;')
        .replace(/'/g, '&apos;'));
}
const seconds = (ms) => ((ms ?? 0) / 1000).toFixed(3);
function testcase(c, suite) {
    const attrs = `classname="${xmlEscape(suite)}" name="${xmlEscape(c.name)}" time="${seconds(c.durationMs)}"`;
    const detail = [
        c.method && c.url ? `${c.method} ${c.url}` : undefined,
        c.status !== undefined ? `status: ${c.status}` : undefined,
        c.exitCode !== undefined ? `exit code: ${c.exitCode}` : undefined,
        `attempts: ${c.attempts}`,
        c.reason ? `reason: ${c.reason}` : undefined,
        c.output ? `output:\n${c.output}` : undefined,
    ]
        .filter(Boolean)
        .join('\n');
    const message = xmlEscape(c.reason ?? c.verdict);
    switch (c.verdict) {
        case 'pass':
            return `    <testcase ${attrs}/>`;
        case 'fail':
            return `    <testcase ${attrs}>\n      <failure message="${message}" type="AssertionFailed">${xmlEscape(detail)}</failure>\n    </testcase>`;
        case 'skipped':
            return `    <testcase ${attrs}>\n      <skipped message="${message}"/>\n    </testcase>`;
        default:
            return `    <testcase ${attrs}>\n      <error message="${message}" type="${c.verdict === 'cancelled' ? 'Cancelled' : 'NoAnswer'}">${xmlEscape(detail)}</error>\n    </testcase>`;
    }
}
function junitReport(r, suiteName = 'smoke-test') {
    const tests = r.checks.length + r.thresholds.length;
    const thresholdFailures = r.thresholds.filter((t) => !t.passed).length;
    const failures = r.failed + thresholdFailures;
    const cases = r.checks.map((c) => testcase(c, suiteName));
    for (const t of r.thresholds) {
        const name = `threshold ${t.metric} ${t.expression}`;
        const actual = t.actual === undefined ? 'no data' : String(round(t.actual));
        cases.push(t.passed
            ? `    <testcase classname="${xmlEscape(suiteName)}.thresholds" name="${xmlEscape(name)}" time="0.000"/>`
            : `    <testcase classname="${xmlEscape(suiteName)}.thresholds" name="${xmlEscape(name)}" time="0.000">\n      <failure message="${xmlEscape(`${t.metric} ${t.expression}: actual ${actual}`)}" type="ThresholdCrossed"/>\n    </testcase>`);
    }
    const head = `tests="${tests}" failures="${failures}" errors="${r.errors}" skipped="${r.skipped}" time="${seconds(r.durationMs)}"`;
    return [
        '<?xml version="1.0" encoding="UTF-8"?>',
        `<testsuites name="kiln smoke-test" ${head}>`,
        `  <testsuite name="${xmlEscape(suiteName)}" ${head} timestamp="${r.startedAt}">`,
        ...cases,
        '  </testsuite>',
        '</testsuites>',
        '',
    ].join('\n');
}
const ICON = {
    pass: '✅ pass',
    fail: '❌ fail',
    error: '⚠️ error',
    skipped: '⏭️ skipped',
    cancelled: '⛔ cancelled',
};
function latencyCell(ms) {
    return ms === undefined ? '' : (0,duration/* formatDuration */.a)(ms);
}
function codeOf(c) {
    return c.status !== undefined
        ? String(c.status)
        : c.exitCode !== undefined && c.exitCode !== null
            ? `exit ${c.exitCode}`
            : '';
}
function fillSummary(s, r, source) {
    s.heading(`Smoke test: ${ICON[r.verdict]}`);
    s.paragraph(`${r.reason}. ${r.passed} passed, ${r.failed} failed, ${r.errors} error(s), ${r.skipped} skipped — ` +
        `${r.requests} request(s) in ${(0,duration/* formatDuration */.a)(r.durationMs)} (${source}).`);
    if (r.wait)
        s.paragraph(r.wait.passed
            ? `Wait: ready after ${(0,duration/* formatDuration */.a)(r.wait.durationMs)} (${r.wait.attempts} attempt(s)).`
            : `Wait: ${r.wait.reason}.`);
    s.table(['Check', 'Verdict', 'Status', 'Latency', 'Attempts', 'Reason'], r.checks.map((c) => [
        c.name,
        ICON[c.verdict],
        codeOf(c),
        latencyCell(c.latencyMs),
        c.attempts,
        c.reason ?? '',
    ]));
    if (r.latency.count > 0)
        s.table(['Requests', 'avg', 'p50', 'p90', 'p95', 'p99', 'max'], [
            [
                r.latency.count,
                ...[r.latency.avg, r.latency.p50, r.latency.p90, r.latency.p95, r.latency.p99, r.latency.max].map(latencyCell),
            ],
        ]);
    if (r.thresholds.length)
        s.table(['Threshold', 'Actual', 'Result'], r.thresholds.map((t) => [
            `${t.metric}: ${t.expression}`,
            t.actual === undefined ? 'no data' : String(round(t.actual)),
            t.passed ? '✅ pass' : '❌ crossed',
        ]));
    const failing = r.checks.filter((c) => c.output && c.verdict !== 'pass');
    for (const c of failing)
        s.details(`Output of ${c.name}`, (d) => d.code(c.output));
}
/** The terminal view: one line per check, verdict coloured, then the totals. */
function terminalTable(r, color) {
    const paint = (c, t) => (color ? `${logger/* colors */.Tj[c]}${t}${logger/* colors */.Tj.reset}` : t);
    const tone = {
        pass: 'cyan',
        fail: 'red',
        error: 'yellow',
        skipped: 'dim',
        cancelled: 'yellow',
    };
    const nameW = Math.min(48, Math.max(5, ...r.checks.map((c) => c.name.length)));
    const lines = r.checks.map((c) => {
        const name = c.name.length > nameW ? `${c.name.slice(0, nameW - 1)}…` : c.name.padEnd(nameW);
        const verdict = paint(tone[c.verdict] ?? 'dim', c.verdict.toUpperCase().padEnd(9));
        const extra = [codeOf(c), latencyCell(c.latencyMs), c.attempts > 1 ? `${c.attempts} attempts` : '']
            .filter(Boolean)
            .join(', ');
        return `  ${verdict} ${name}  ${paint('dim', extra)}${c.reason && c.verdict !== 'pass' ? `  ${c.reason}` : ''}`;
    });
    const pct = r.latency.count > 0
        ? `  latency p50 ${latencyCell(r.latency.p50)}, p95 ${latencyCell(r.latency.p95)}, max ${latencyCell(r.latency.max)} over ${r.latency.count} request(s)`
        : '';
    const th = r.thresholds.map((t) => `  ${t.passed ? paint('cyan', 'PASS     ') : paint('red', 'CROSSED  ')} ${t.metric} ${t.expression} (actual ${t.actual === undefined ? 'no data' : round(t.actual)})`);
    const head = paint(tone[r.verdict] ?? 'dim', `${paint('bold', 'smoke-test')} ${r.verdict.toUpperCase()}`);
    return [
        `${head}: ${r.reason} (${(0,duration/* formatDuration */.a)(r.durationMs)})`,
        ...lines,
        ...(pct ? [pct] : []),
        ...th,
    ].join('\n');
}

// EXTERNAL MODULE: ./packages/core/src/version.ts
var version = __webpack_require__(8109);
;// CONCATENATED MODULE: ./actions/smoke-test/src/action.ts
/**
 * smoke-test: the post-deploy verdict. A checks file (or the one-line `url` form) is validated, run under one
 * deadline, and reported as pass / fail / error with a JSON report, a JUnit file and a summary.
 * The declaration below is the single source of the action's inputs and outputs.
 */



const action_spec = (0,spec/* defineAction */.Q)({
    name: 'smoke-test',
    title: 'Kiln smoke-test',
    description: 'Verify a deployment: run HTTP and command checks (status, headers, body, JSONPath, latency, TLS expiry, thresholds) and give a pass/fail/error verdict.',
    branding: { icon: 'check-circle', color: 'orange' },
    inputs: {
        checks: {
            type: 'path',
            description: 'Checks file (YAML or JSON): wait phase, checks, captures, sample, thresholds, verdict rules.',
        },
        url: {
            type: 'list',
            items: 'url',
            description: 'The one-line form: URL(s) that must answer with `expect-status`, retried every `interval` until the deadline. One per line or comma-separated.',
        },
        'expect-status': {
            type: 'string',
            default: '200-299',
            placeholder: 'codes',
            description: 'Expected HTTP status where a check does not say: codes, ranges or classes, e.g. `200`, `200-299`, `2xx`, `200,301`.',
        },
        timeout: { type: 'duration', default: '10s', min: 1, description: 'Default timeout of each request.' },
        deadline: {
            type: 'duration',
            default: '5m',
            min: 0,
            description: 'One deadline for everything: no attempt starts after it (one in flight may finish within its own timeout).',
        },
        interval: {
            type: 'duration',
            default: '5s',
            min: 0,
            description: 'Pause between attempts of the one-line form, and the default `retryInterval` of checks.',
        },
        concurrency: {
            type: 'integer',
            default: '8',
            min: 1,
            max: 256,
            description: 'Checks run at the same time.',
        },
        vars: {
            type: 'map',
            description: 'Variables for `${NAME}` in the checks file, one `NAME=value` per line.',
        },
        'secret-vars': {
            type: 'map',
            secret: true,
            description: 'Like `vars`, for secrets (tokens, passwords): every value is masked in logs, outputs and reports.',
        },
        headers: { type: 'map', description: 'Headers added to every request, one `Name=value` per line.' },
        'basic-auth': {
            type: 'string',
            secret: true,
            placeholder: 'user:password',
            pattern: /^[^:]+:.*$/s,
            patternDescription: 'user:password',
            description: 'HTTP basic credentials for every request, as `user:password` (masked).',
        },
        'bearer-token': { type: 'string', secret: true, description: 'Bearer token for every request (masked).' },
        'follow-redirects': { type: 'boolean', default: 'false', description: 'Follow HTTP redirects.' },
        insecure: {
            type: 'boolean',
            default: 'false',
            description: 'Skip TLS certificate verification (self-signed test environments only).',
        },
        'report-dir': {
            type: 'path',
            mustExist: false,
            default: 'kiln-reports',
            description: 'Where `smoke-test.json` and `smoke-test.junit.xml` are written (created if missing).',
        },
    },
    outputs: {
        verdict: { description: '`pass`, `fail` (a check or threshold failed) or `error` (no usable answer).' },
        passed: { description: 'Checks that passed.' },
        failed: { description: 'Checks that failed an assertion.' },
        errors: {
            description: 'Checks with no usable answer (connection, timeout, TLS, command could not run) or cancelled.',
        },
        skipped: { description: 'Checks not run (wait phase failed, or a capture they need was missing).' },
        attempts: { description: 'HTTP requests and commands run in total, retries and sample included.' },
        'duration-ms': { description: 'Wall time of the whole smoke test, in milliseconds.' },
        report: { description: 'Path of the JSON report.' },
        junit: { description: 'Path of the JUnit XML report (for GitLab `artifacts:reports:junit`).' },
        results: {
            description: 'JSON array, one object per check: name, verdict, status, latencyMs, attempts, reason.',
        },
    },
});
const EXIT = { pass: 0, fail: 1, error: 2 };
const action = (0,run/* defineActionRunner */.o)({
    spec: action_spec,
    async main({ inputs, log, signal, summary, setOutput, platform }) {
        const expectStatus = parseStatusExpectation(inputs['expect-status']);
        if (typeof expectStatus === 'string')
            throw new src_errors/* InputError */.dz('expect-status', `${JSON.stringify(inputs['expect-status'])}: ${expectStatus}.`);
        if (!inputs.checks && inputs.url.length === 0)
            throw new src_errors/* InputError */.dz('checks', 'is required unless url is given; expected a checks file or one or more URLs.');
        if (inputs.checks && inputs.url.length)
            throw new src_errors/* InputError */.dz('url', 'cannot be combined with checks; put the URLs in the checks file instead.');
        if (inputs['basic-auth'] && inputs['bearer-token'])
            throw new src_errors/* InputError */.dz('bearer-token', 'cannot be combined with basic-auth; expected only one of them.');
        for (const v of Object.values(inputs['secret-vars']))
            platform.setSecret(v);
        const headers = { ...inputs.headers };
        if (inputs['basic-auth']) {
            const encoded = Buffer.from(inputs['basic-auth']).toString('base64');
            platform.setSecret(encoded);
            headers.authorization = `Basic ${encoded}`;
        }
        if (inputs['bearer-token'])
            headers.authorization = `Bearer ${inputs['bearer-token']}`;
        if (inputs.insecure)
            log.warning('TLS certificate verification is off (insecure: true).');
        const lookup = (name) => inputs.vars[name] ?? inputs['secret-vars'][name] ?? platform.env[name];
        const defaults = {
            timeoutMs: inputs.timeout,
            expectStatus,
            headers,
            followRedirects: inputs['follow-redirects'],
            insecure: inputs.insecure,
            retryIntervalMs: inputs.interval,
            isDefined: (name) => lookup(name) !== undefined,
        };
        const plan = inputs.checks
            ? loadPlan(inputs.checks, defaults, (0,external_node_path_.relative)(platform.workspace, inputs.checks) || inputs.checks)
            : urlPlan(inputs.url, defaults, inputs.interval);
        if (plan.checks.some((c) => c.request?.insecure) && !inputs.insecure)
            log.warning('Some checks skip TLS certificate verification (insecure: true in the checks file).');
        log.info(`Running ${plan.checks.length} check(s) from ${plan.source}${plan.wait ? ' after a wait phase' : ''}; ` +
            `deadline ${(0,duration/* formatDuration */.a)(inputs.deadline)}, concurrency ${inputs.concurrency}.`);
        const result = await runPlan(plan, {
            concurrency: inputs.concurrency,
            deadlineMs: inputs.deadline,
            vars: lookup,
            onSensitiveValue: (v) => platform.setSecret(v),
            log,
            signal,
            cwd: platform.workspace,
            env: platform.env,
        });
        // Reports first: they are what a person opens when the verdict is not pass.
        const reportPath = (0,external_node_path_.join)(inputs['report-dir'], 'smoke-test.json');
        const junitPath = (0,external_node_path_.join)(inputs['report-dir'], 'smoke-test.junit.xml');
        (0,external_node_fs_.mkdirSync)((0,external_node_path_.dirname)(reportPath), { recursive: true });
        (0,external_node_fs_.writeFileSync)(reportPath, platform.redactor.redact(jsonReport(result, { source: plan.source, kilnVersion: version/* KILN_VERSION */.A })));
        (0,external_node_fs_.writeFileSync)(junitPath, platform.redactor.redact(junitReport(result)));
        setOutput('verdict', result.verdict);
        setOutput('passed', result.passed);
        setOutput('failed', result.failed);
        setOutput('errors', result.errors);
        setOutput('skipped', result.skipped);
        setOutput('attempts', result.requests + result.checks.filter((c) => c.kind === 'command').reduce((n, c) => n + c.attempts, 0));
        setOutput('duration-ms', Math.round(result.durationMs));
        // Paths inside the workspace are given relative to it (what GitLab artifacts and later steps expect).
        const shown = (p) => (0,external_node_path_.relative)(platform.workspace, p).startsWith('..') ? p : (0,external_node_path_.relative)(platform.workspace, p);
        setOutput('report', shown(reportPath));
        setOutput('junit', shown(junitPath));
        setOutput('results', JSON.stringify(result.checks.map((c) => ({
            name: c.name,
            verdict: c.verdict,
            status: c.status ?? c.exitCode ?? null,
            latencyMs: c.latencyMs === undefined ? null : Math.round(c.latencyMs),
            attempts: c.attempts,
            reason: c.reason ?? null,
        }))));
        if (platform.kind === 'terminal') {
            const env = platform.env;
            const color = !env.NO_COLOR && (!!env.FORCE_COLOR || (process.stderr.isTTY ?? false));
            log.info('\n' + terminalTable(result, color));
            if (env.KILN_SUMMARY_FILE)
                fillSummary(summary, result, plan.source);
        }
        else
            fillSummary(summary, result, plan.source);
        const notPassed = result.checks.filter((c) => c.verdict === 'fail' || c.verdict === 'error');
        const detail = notPassed.length
            ? ` — ${notPassed
                .slice(0, 5)
                .map((c) => `${c.name}: ${c.reason ?? c.verdict}`)
                .join('; ')}${notPassed.length > 5 ? `; and ${notPassed.length - 5} more` : ''}`
            : '';
        const line = `Smoke test ${result.verdict}: ${result.reason} (${(0,duration/* formatDuration */.a)(result.durationMs)})${detail}`;
        if (result.verdict === 'pass')
            log.info(line);
        else
            log.error(line);
        return EXIT[result.verdict];
    },
});


/***/ }),

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
