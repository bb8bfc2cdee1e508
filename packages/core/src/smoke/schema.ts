/** JSON Schema (draft-07) of a smoke-test checks file. The README's reference section follows it. */
const duration = {
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

const status = {
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
  timeout: duration,
  followRedirects: { type: 'boolean' },
  insecure: { type: 'boolean' },
};

const expect = {
  type: 'object',
  additionalProperties: false,
  properties: {
    status,
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
    maxProperties: 2,
    properties: {
      jsonpath: { type: 'string' },
      header: { type: 'string' },
      regex: { type: 'string' },
      // Masked in every log and report from then on. Only the checks file decides: a server cannot.
      secret: { type: 'boolean' },
    },
    oneOf: [{ required: ['jsonpath'] }, { required: ['header'] }, { required: ['regex'] }],
  },
};

const retries = { type: 'integer', minimum: 0, maximum: 100 };

export const checksFileSchema = {
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
        timeout: duration,
        headers: stringMap,
        followRedirects: { type: 'boolean' },
        insecure: { type: 'boolean' },
        retries,
        retryInterval: duration,
      },
    },
    wait: {
      type: 'object',
      additionalProperties: false,
      required: ['url'],
      properties: {
        ...request,
        expect,
        initialDelay: duration,
        interval: duration,
        deadline: duration,
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
          retryInterval: duration,
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
} as const;
