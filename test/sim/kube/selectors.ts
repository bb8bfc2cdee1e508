/**
 * Label selectors (the query-string grammar of k8s.io/apimachinery/pkg/labels and the `LabelSelector` struct) and
 * field selectors (`metadata.name=x`, `status.phase!=Running`), with the fields each kind supports.
 */
import type { Json, JsonObject } from './meta.js';
import { ApiError, at, badRequest, isObject, objs } from './meta.js';

export type LabelOp = 'in' | 'notin' | 'exists' | '!' | '=' | '!=';

export interface Requirement {
  key: string;
  op: LabelOp;
  values: string[];
}

/** Parses `app=web,tier in (a,b),!canary,env!=prod`. Throws a 400 on a malformed selector. */
export function parseLabelSelector(text: string): Requirement[] {
  const reqs: Requirement[] = [];
  let i = 0;
  const s = text;
  const skipSpace = (): void => {
    while (i < s.length && s[i] === ' ') i++;
  };
  const readKey = (): string => {
    skipSpace();
    const start = i;
    while (i < s.length && /[A-Za-z0-9_./-]/.test(s[i] ?? '')) i++;
    return s.slice(start, i);
  };
  const fail = (): never => {
    throw badRequest(`unable to parse requirement: found '${s.slice(i, i + 1)}', expected: identifier`);
  };
  skipSpace();
  if (i >= s.length) return reqs;
  for (;;) {
    skipSpace();
    let negate = false;
    if (s[i] === '!') {
      negate = true;
      i++;
    }
    const key = readKey();
    if (!key) fail();
    skipSpace();
    if (negate) {
      reqs.push({ key, op: '!', values: [] });
    } else if (i >= s.length || s[i] === ',') {
      reqs.push({ key, op: 'exists', values: [] });
    } else if (s.startsWith('!=', i)) {
      i += 2;
      reqs.push({ key, op: '!=', values: [readValue()] });
    } else if (s.startsWith('==', i)) {
      i += 2;
      reqs.push({ key, op: '=', values: [readValue()] });
    } else if (s[i] === '=') {
      i += 1;
      reqs.push({ key, op: '=', values: [readValue()] });
    } else if (/^in\s*\(/.test(s.slice(i)) || /^notin\s*\(/.test(s.slice(i))) {
      const op: LabelOp = s.startsWith('notin', i) ? 'notin' : 'in';
      i += op.length;
      skipSpace();
      i++; // (
      const close = s.indexOf(')', i);
      if (close < 0) throw badRequest(`unable to parse requirement: found '', expected: ')'`);
      const values = s
        .slice(i, close)
        .split(',')
        .map((v) => v.trim())
        .filter((v) => v !== '');
      i = close + 1;
      reqs.push({ key, op, values });
    } else {
      fail();
    }
    skipSpace();
    if (i >= s.length) break;
    if (s[i] !== ',') fail();
    i++;
  }
  return reqs;

  function readValue(): string {
    skipSpace();
    const start = i;
    while (i < s.length && /[A-Za-z0-9_.-]/.test(s[i] ?? '')) i++;
    return s.slice(start, i);
  }
}

export function matchesLabels(reqs: Requirement[], labels: Record<string, string>): boolean {
  return reqs.every((r) => {
    const has = Object.prototype.hasOwnProperty.call(labels, r.key);
    const v = labels[r.key];
    switch (r.op) {
      case 'exists':
        return has;
      case '!':
        return !has;
      case '=':
      case 'in':
        return has && r.values.includes(v ?? '');
      case '!=':
      case 'notin':
        return !has || !r.values.includes(v ?? '');
    }
  });
}

/** A `LabelSelector` struct (matchLabels + matchExpressions) as requirements. Empty selector = everything. */
export function selectorRequirements(selector: Json | undefined): Requirement[] {
  const reqs: Requirement[] = [];
  if (!isObject(selector)) return reqs;
  const ml = selector['matchLabels'];
  if (isObject(ml)) {
    for (const [k, v] of Object.entries(ml)) reqs.push({ key: k, op: '=', values: [String(v)] });
  }
  for (const e of objs(selector['matchExpressions'])) {
    const key = String(e['key'] ?? '');
    const values = Array.isArray(e['values']) ? e['values'].map(String) : [];
    switch (e['operator']) {
      case 'In':
        reqs.push({ key, op: 'in', values });
        break;
      case 'NotIn':
        reqs.push({ key, op: 'notin', values });
        break;
      case 'Exists':
        reqs.push({ key, op: 'exists', values: [] });
        break;
      case 'DoesNotExist':
        reqs.push({ key, op: '!', values: [] });
        break;
    }
  }
  return reqs;
}

/** metav1.FormatLabelSelector: `app=web,tier in (a,b)`. */
export function formatSelector(selector: Json | undefined): string {
  const parts: string[] = [];
  for (const r of selectorRequirements(selector)) {
    switch (r.op) {
      case '=':
        parts.push(`${r.key}=${r.values[0] ?? ''}`);
        break;
      case '!=':
        parts.push(`${r.key}!=${r.values[0] ?? ''}`);
        break;
      case 'in':
      case 'notin':
        parts.push(`${r.key} ${r.op} (${r.values.join(',')})`);
        break;
      case 'exists':
        parts.push(r.key);
        break;
      case '!':
        parts.push(`!${r.key}`);
        break;
    }
  }
  return parts.length ? parts.join(',') : '<none>';
}

// ----- field selectors ----------------------------------------------------------------------------------------

export interface FieldRequirement {
  field: string;
  op: '=' | '!=';
  value: string;
}

export function parseFieldSelector(text: string): FieldRequirement[] {
  const out: FieldRequirement[] = [];
  for (const part of text.split(',')) {
    const p = part.trim();
    if (!p) continue;
    const m = /^([^!=]+)(==|!=|=)(.*)$/.exec(p);
    if (!m || !m[1]) throw badRequest(`invalid selector: '${text}'; can't understand '${p}'`);
    out.push({ field: m[1].trim(), op: m[2] === '!=' ? '!=' : '=', value: (m[3] ?? '').trim() });
  }
  return out;
}

/** Fields each kind can be selected by, beyond metadata.name and metadata.namespace (the registries' GetAttrs). */
const SELECTABLE: Record<string, string[]> = {
  Pod: [
    'spec.nodeName',
    'spec.restartPolicy',
    'spec.schedulerName',
    'spec.serviceAccountName',
    'spec.hostNetwork',
    'status.phase',
    'status.podIP',
    'status.nominatedNodeName',
  ],
  Event: [
    'involvedObject.kind',
    'involvedObject.namespace',
    'involvedObject.name',
    'involvedObject.uid',
    'involvedObject.apiVersion',
    'involvedObject.resourceVersion',
    'involvedObject.fieldPath',
    'reason',
    'reportingComponent',
    'source',
    'type',
  ],
  Secret: ['type'],
  Namespace: ['status.phase'],
  Node: ['spec.unschedulable'],
  ReplicaSet: ['status.replicas'],
  Job: ['status.successful'],
};

/** The value a field selector compares for `field` of `o`; throws 400 for a field the kind does not support. */
export function fieldValue(kind: string, o: JsonObject, field: string, extra: string[] = []): string {
  if (field === 'metadata.name' || field === 'metadata.namespace') return String(at(o, field) ?? '');
  if (!(SELECTABLE[kind] ?? []).includes(field) && !extra.includes(field)) {
    throw badRequest(`field label not supported: ${field}`);
  }
  if (kind === 'Event' && field === 'source') return String(at(o, 'source.component') ?? '');
  if (kind === 'Job' && field === 'status.successful') return String(at(o, 'status.succeeded') ?? 0);
  const v = at(o, field);
  if (v === undefined || v === null) return kind === 'Pod' && field === 'spec.hostNetwork' ? 'false' : '';
  return typeof v === 'string' ? v : JSON.stringify(v);
}

export function checkFieldSelector(kind: string, reqs: FieldRequirement[], extra: string[] = []): void {
  const probe: JsonObject = { metadata: {} };
  for (const r of reqs) fieldValue(kind, probe, r.field, extra);
}

export function matchesFields(
  kind: string,
  reqs: FieldRequirement[],
  o: JsonObject,
  extra: string[] = [],
): boolean {
  return reqs.every((r) => {
    const v = fieldValue(kind, o, r.field, extra);
    return r.op === '=' ? v === r.value : v !== r.value;
  });
}

export function isApiError(e: unknown): e is ApiError {
  return e instanceof ApiError;
}
