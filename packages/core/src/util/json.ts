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
export class JsonNumber {
  constructor(readonly text: string) {}
  valueOf(): number {
    return Number(this.text);
  }
  toJSON(): number {
    return Number(this.text);
  }
}

export type JsonValue = null | boolean | number | string | JsonNumber | JsonValue[] | JsonObject;
export interface JsonObject {
  [key: string]: JsonValue;
}

/** A syntax error with a 1-based line and column. */
export class JsonSyntaxError extends Error {
  override readonly name = 'JsonSyntaxError';
  constructor(
    readonly reason: string,
    readonly line: number,
    readonly column: number,
  ) {
    super(`${reason} at line ${line}, column ${column}`);
  }
}

export interface ParseJsonOptions {
  /** Called for a key repeated in one object (the last value wins, as in Marathon's parser). */
  onDuplicateKey?: (key: string, line: number, column: number) => void;
}

export function isJsonObject(v: unknown): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof JsonNumber);
}

export function isJsonNumber(v: unknown): v is number | JsonNumber {
  return typeof v === 'number' || v instanceof JsonNumber;
}

/** The numeric value of a JSON number (a {@link JsonNumber} as the nearest double). */
export function numberValue(v: unknown): number | undefined {
  return typeof v === 'number' ? v : v instanceof JsonNumber ? Number(v.text) : undefined;
}

/** Set a key without ever touching the prototype (`__proto__` is an ordinary key in JSON). */
function setKey(obj: JsonObject, key: string, value: JsonValue): void {
  if (key === '__proto__')
    Object.defineProperty(obj, key, { value, enumerable: true, writable: true, configurable: true });
  else obj[key] = value;
}

const NUMBER_RE = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;

/** `[sign, significant digits, exponent of the last digit]`: equal for equal decimal values. */
function decimalKey(text: string): string {
  const m = /^(-?)(\d+)(?:\.(\d+))?(?:[eE]([+-]?\d+))?$/.exec(text);
  if (!m) return text;
  const digits = (m[2] ?? '') + (m[3] ?? '');
  let exp = Number(m[4] ?? 0) - (m[3] ?? '').length;
  const trimmedLeft = digits.replace(/^0+/, '');
  if (trimmedLeft === '') return '0';
  const trimmed = trimmedLeft.replace(/0+$/, '');
  exp += trimmedLeft.length - trimmed.length;
  return `${m[1]}${trimmed}e${exp}`;
}

/** A double when it holds exactly the written decimal value (2048.0 → 2048), else the text. */
function readNumber(text: string): number | JsonNumber {
  const n = Number(text);
  if (!Number.isFinite(n)) return new JsonNumber(text);
  const written = decimalKey(text);
  const shown = decimalKey(String(n).replace(/e\+/, 'e'));
  return written === shown || (written === '0' && n === 0) ? n : new JsonNumber(text);
}

/** Parse JSON text; throws {@link JsonSyntaxError} with line and column. A leading BOM is ignored. */
/** How deep objects and arrays may nest. */
const MAX_DEPTH = 256;

export function parseJson(text: string, opts: ParseJsonOptions = {}): JsonValue {
  let i = text.charCodeAt(0) === 0xfeff ? 1 : 0;

  const position = (at: number): { line: number; column: number } => {
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
  const fail = (reason: string, at = i): never => {
    const { line, column } = position(at);
    throw new JsonSyntaxError(reason, line, column);
  };
  const describe = (at: number): string => {
    if (at >= text.length) return 'end of file';
    const c = text[at] as string;
    return /[\x20-\x7e]/.test(c) ? `'${c}'` : JSON.stringify(c);
  };

  const skip = (): void => {
    for (;;) {
      const c = text[i];
      if (c === ' ' || c === '\t' || c === '\n' || c === '\r') i++;
      else if (c === '/' && (text[i + 1] === '/' || text[i + 1] === '*'))
        fail('comments are not allowed in JSON');
      else return;
    }
  };

  const str = (): string => {
    const start = i;
    i++; // opening quote
    let out = '';
    for (;;) {
      if (i >= text.length) fail('unterminated string (missing closing ")', start);
      const c = text[i] as string;
      if (c === '"') {
        i++;
        return out;
      }
      if (c === '\\') {
        const e = text[i + 1];
        const simple: Record<string, string> = {
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
        } else if (e === 'u') {
          const hex = text.slice(i + 2, i + 6);
          if (!/^[0-9a-fA-F]{4}$/.test(hex)) fail('invalid \\u escape (expected 4 hex digits)', i);
          out += String.fromCharCode(parseInt(hex, 16));
          i += 6;
        } else fail(`invalid escape '\\${e ?? ''}' in string`, i);
        continue;
      }
      if (c < ' ') fail('unescaped control character in string (write \\n, \\t, …)', i);
      out += c;
      i++;
    }
  };

  let depth = 0;
  const nested = <T>(parse: () => T): T => {
    // Deeper than any app definition, and well within the stack (a 100 000-deep document would overflow it).
    if (++depth > MAX_DEPTH) fail(`nested deeper than ${MAX_DEPTH} levels`);
    try {
      return parse();
    } finally {
      depth--;
    }
  };

  const value = (): JsonValue => {
    skip();
    const c = text[i];
    if (c === '{') return nested(object);
    if (c === '[') return nested(array);
    if (c === '"') return str();
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
      if (!m || m[0] === '-') fail('invalid number');
      const lexeme = (m as RegExpExecArray)[0];
      const next = text[i + lexeme.length];
      if (next !== undefined && /[0-9.eE+-]/.test(next)) fail('invalid number', i);
      i += lexeme.length;
      return readNumber(lexeme);
    }
    if (c === "'") fail('strings must use double quotes (")');
    return fail(`unexpected ${describe(i)}; expected a value`);
  };

  const object = (): JsonObject => {
    i++; // {
    const out: JsonObject = {};
    const seen = new Set<string>();
    skip();
    if (text[i] === '}') {
      i++;
      return out;
    }
    for (;;) {
      skip();
      if (text[i] !== '"') {
        if (text[i] === '}') fail("trailing comma before '}'");
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
      if (text[i] !== ':') fail(`unexpected ${describe(i)}; expected ':' after property name "${key}"`);
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

  const array = (): JsonValue[] => {
    i++; // [
    const out: JsonValue[] = [];
    skip();
    if (text[i] === ']') {
      i++;
      return out;
    }
    for (;;) {
      skip();
      if (text[i] === ']') fail("trailing comma before ']'");
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
  if (i >= text.length) fail('the file is empty; expected a JSON object');
  const result = value();
  skip();
  if (i < text.length) fail(`unexpected ${describe(i)} after the end of the JSON value`);
  return result;
}

/** JSON text: `indent` 0 for one line. {@link JsonNumber}s are written as their original text. */
export function stringifyJson(value: JsonValue, indent = 2): string {
  const pad = (depth: number): string => (indent > 0 ? '\n' + ' '.repeat(indent * depth) : '');
  const sep = indent > 0 ? ': ' : ':';
  const write = (v: JsonValue, depth: number): string => {
    if (v === null) return 'null';
    if (v instanceof JsonNumber) return v.text;
    if (typeof v === 'number') return Number.isFinite(v) ? JSON.stringify(v) : 'null';
    if (typeof v === 'string' || typeof v === 'boolean') return JSON.stringify(v);
    if (Array.isArray(v)) {
      if (v.length === 0) return '[]';
      return `[${v.map((x) => pad(depth + 1) + write(x, depth + 1)).join(',')}${pad(depth)}]`;
    }
    const entries = Object.entries(v).filter(([, x]) => x !== undefined);
    if (entries.length === 0) return '{}';
    return `{${entries
      .map(([k, x]) => `${pad(depth + 1)}${JSON.stringify(k)}${sep}${write(x, depth + 1)}`)
      .join(',')}${pad(depth)}}`;
  };
  return write(value, 0);
}

/** A deep copy (keeps {@link JsonNumber}s). */
export function cloneJson<T extends JsonValue>(v: T): T {
  if (Array.isArray(v)) return v.map((x) => cloneJson(x)) as T;
  if (isJsonObject(v)) {
    const out: JsonObject = {};
    for (const [k, x] of Object.entries(v)) setKey(out, k, cloneJson(x));
    return out as T;
  }
  return v;
}

/**
 * Equal in meaning: numbers by decimal value (2048 = 2048.0, a {@link JsonNumber} by its exact text), objects
 * regardless of key order, arrays in order.
 */
export function jsonEqual(a: JsonValue | undefined, b: JsonValue | undefined): boolean {
  if (isJsonNumber(a) && isJsonNumber(b)) {
    const ka = a instanceof JsonNumber ? decimalKey(a.text) : decimalKey(String(a).replace(/e\+/, 'e'));
    const kb = b instanceof JsonNumber ? decimalKey(b.text) : decimalKey(String(b).replace(/e\+/, 'e'));
    return ka === kb;
  }
  if (Array.isArray(a) || Array.isArray(b)) {
    if (!Array.isArray(a) || !Array.isArray(b) || a.length !== b.length) return false;
    return a.every((x, i) => jsonEqual(x, b[i]));
  }
  if (isJsonObject(a) || isJsonObject(b)) {
    if (!isJsonObject(a) || !isJsonObject(b)) return false;
    const ka = Object.keys(a).filter((k) => a[k] !== undefined);
    const kb = Object.keys(b).filter((k) => b[k] !== undefined);
    if (ka.length !== kb.length) return false;
    return ka.every((k) => Object.prototype.hasOwnProperty.call(b, k) && jsonEqual(a[k], b[k]));
  }
  return a === b;
}

/** RFC 6901 pointer segment. */
export function pointerSegment(key: string | number): string {
  return String(key).replace(/~/g, '~0').replace(/\//g, '~1');
}
