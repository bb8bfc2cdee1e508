/**
 * Manifest text → documents, read the way kubectl reads them, with `${NAME}` template variables filled in.
 *
 * YAML: kubectl decodes manifests with go-yaml v2 (through sigs.k8s.io/yaml), which follows YAML 1.1, so Kiln parses
 * with the YAML 1.1 schema too: `defaultMode: 0644` is the octal 420 (YAML 1.2 would read 644 and the API server
 * would refuse the mode), `yes`/`no`/`on`/`off` are booleans, `<<` merge keys work. Like go-yaml, a timestamp-like
 * value (`2024-01-01`) and a sexagesimal one (`1:20`) stay strings, and explicit `!!binary`, `!!set`, `!!omap`
 * tags are not interpreted. JSON files are read the same way (JSON is YAML). Stricter than kubectl: a duplicate key
 * is an error (go-yaml keeps the last value without a word — two `image:` keys in one container are a mistake),
 * and an integer too large for a JavaScript number (above 2^53) is an error rather than silently rounded.
 *
 * Limits, as Kiln's other YAML readers: aliases are capped (`maxAliasCount`; a "billion laughs" file would expand
 * to gigabytes), and nesting deeper than `maxDepth` levels (or than the parser's stack) is an error naming the file.
 *
 * Templates are filled in on the parsed document, in string values only (never in keys), not in the text before
 * parsing: a value cannot inject YAML structure. With text substitution a value such as `1.0\n  privileged: true`,
 * `x # comment`, `"` or `{a: b}` would change what the document says; here it is only ever the content of the one
 * scalar it was written in. An unquoted value whose whole text came from the template takes the type YAML gives that
 * text, as if it had been written there — `replicas: ${N}` with N=3 is the number 3, `enabled: ${ON}` with ON=true
 * a boolean — but never a list or a mapping; a quoted one (`"${TAG}"`) or a block scalar stays a string.
 */
import {
  isAlias,
  isMap,
  isScalar,
  isSeq,
  parseAllDocuments,
  Scalar,
  type Document,
  type ParsedNode,
  type Tags,
} from 'yaml';
import { ConfigurationError } from '../errors.js';
import { yamlAt, yamlData, yamlProblem } from '../util/yaml.js';
import { expandVars } from '../deploy/template.js';
import { jsonPointer, manifestWhere } from './manifest-object.js';

export interface ManifestYamlOptions {
  /** The file as messages show it. */
  file: string;
  /** `${NAME}` values. */
  vars: Record<string, string>;
  /** Collects the variables used (for the "not used" warning). */
  used: Set<string>;
  maxAliasCount: number;
  maxDepth: number;
  /** At most this many documents in the file (empty ones count). */
  maxDocuments: number;
}

export interface ManifestDocument {
  /** Counted from 1 in the file. */
  document: number;
  /** The document's data; null for an empty document. */
  data: unknown;
}

/** The tags go-yaml v2 resolves into plain data: no timestamps, sexagesimal numbers, binary, sets or ordered maps. */
const KEPT_TAGS = new Set(
  ['map', 'seq', 'str', 'null', 'bool', 'int', 'float', 'merge'].map((t) => `tag:yaml.org,2002:${t}`),
);
const keepTags = (tags: Tags): Tags =>
  tags.filter((t) => typeof t === 'object' && KEPT_TAGS.has(t.tag) && t.format !== 'TIME');

/** Tags whose value an unquoted template value may take (never a collection). */
const RETYPE_TAGS = new Set(['null', 'bool', 'int', 'float'].map((t) => `tag:yaml.org,2002:${t}`));

const INTEGER_SOURCE = /^[-+]?(?:0b[01_]+|0x[0-9a-fA-F_]+|[0-9_]+)$/;

/** Parse one manifest file's text; throws a ConfigurationError naming the file (and line, document, field). */
export function parseManifestYaml(
  text: string,
  o: ManifestYamlOptions,
): { documents: ManifestDocument[]; warnings: string[] } {
  const warnings: string[] = [];
  let docs: Document.Parsed[];
  try {
    docs = parseAllDocuments(text, {
      version: '1.1',
      customTags: keepTags,
      resolveKnownTags: false,
      uniqueKeys: true,
      prettyErrors: true,
    }) as unknown as Document.Parsed[];
  } catch (e) {
    if (e instanceof RangeError)
      throw new ConfigurationError(`${o.file}: invalid YAML: it is nested too deeply`);
    throw e;
  }
  if (!Array.isArray(docs)) docs = []; // an empty stream
  if (docs.length > o.maxDocuments)
    throw new ConfigurationError(
      `${o.file} has ${docs.length} YAML documents; Kiln reads at most ${o.maxDocuments} in one file`,
    );
  const documents: ManifestDocument[] = [];
  docs.forEach((doc, i) => {
    const n = i + 1;
    const error = doc.errors[0];
    if (error) {
      const p = yamlProblem(error, { duplicate: 'a key appears twice in one mapping' });
      throw new ConfigurationError(`${o.file}${yamlAt(p)}: invalid YAML in document ${n}: ${p.what}`);
    }
    for (const w of doc.warnings) {
      const lp = w.linePos?.[0];
      warnings.push(
        `${o.file}${lp ? `:${lp.line}:${lp.col}` : ''}: ${(w.message.split('\n')[0] ?? '').replace(/ at line \d+, column \d+:?$/, '')} (the value is read as a string)`,
      );
    }
    walkDocument(doc, n, o);
    let data: unknown;
    try {
      data = yamlData(doc, o.maxAliasCount);
    } catch (e) {
      throw new ConfigurationError(`${o.file}: invalid YAML in document ${n}: ${(e as Error).message}`);
    }
    documents.push({ document: n, data: data ?? null });
  });
  return { documents, warnings };
}

/** Depth limit, templates in string values, integers JavaScript cannot hold — over the parsed tree, before toJS. */
function walkDocument(doc: Document.Parsed, n: number, o: ManifestYamlOptions): void {
  const path: (string | number)[] = [];
  const where = (): string => manifestWhere({ file: o.file, document: n, pointer: '' }, jsonPointer(path));
  const walk = (node: ParsedNode | null, depth: number): void => {
    if (node === null || isAlias(node)) return;
    if (depth > o.maxDepth)
      throw new ConfigurationError(
        `${where()} is nested more than ${o.maxDepth} levels deep; Kiln reads at most ${o.maxDepth}`,
      );
    if (isMap(node)) {
      for (const pair of node.items) {
        const key = pair.key as ParsedNode | null;
        path.push(isScalar(key) ? String(key.value) : key === null ? '' : '?');
        walk(pair.value as ParsedNode | null, depth + 1);
        path.pop();
      }
    } else if (isSeq(node)) {
      node.items.forEach((item, i) => {
        path.push(i);
        walk(item as ParsedNode | null, depth + 1);
        path.pop();
      });
    } else if (isScalar(node)) scalar(node);
  };
  const scalar = (node: Scalar.Parsed): void => {
    const value = node.value;
    if (typeof value === 'number') {
      if (Number.isInteger(value) && !Number.isSafeInteger(value) && INTEGER_SOURCE.test(node.source ?? ''))
        throw new ConfigurationError(
          `${where()} is the integer ${node.source}, larger than Kiln can hold exactly (2^53); quote it if it is meant as a string`,
        );
      return;
    }
    if (typeof value !== 'string' || !value.includes('$')) return;
    const substituted = new Set<string>();
    const expanded = expandVars(value, o.vars, where(), substituted);
    for (const name of substituted) o.used.add(name);
    if (expanded === value && substituted.size === 0) return;
    const typed = node.type === 'PLAIN' && substituted.size > 0 ? retype(expanded, doc) : expanded;
    if (typeof typed === 'number' && Number.isInteger(typed) && !Number.isSafeInteger(typed))
      throw new ConfigurationError(
        `${where()} is the integer ${expanded} after its template variables are filled in, larger than Kiln can hold exactly (2^53); quote it if it is meant as a string`,
      );
    node.value = typed;
  };
  walk(doc.contents as ParsedNode | null, 0);
}

/** What YAML reads an unquoted scalar as: null, a boolean or a number when the text is one, else the text. */
function retype(text: string, doc: Document.Parsed): unknown {
  for (const tag of doc.schema.tags) {
    if (tag.default !== true || !RETYPE_TAGS.has(tag.tag) || !('test' in tag) || !tag.test?.test(text))
      continue;
    try {
      const res = (
        tag as { resolve: (s: string, onError: (m: string) => void, o: object) => unknown }
      ).resolve(text, () => undefined, doc.options);
      return isScalar(res) ? res.value : res;
    } catch {
      return text;
    }
  }
  return text;
}
