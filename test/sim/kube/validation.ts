/**
 * Validation (pkg/apis/<group>/validation) for the checks clients run into: names, labels, required fields,
 * selectors that must match templates, immutable fields, restart policies, CRD names. Errors are field errors;
 * the caller turns them into a 422 `Invalid` Status.
 */
import type { FieldError, Json, JsonObject } from './meta.js';
import {
  at,
  deepEqual,
  dns1123LabelErrors,
  dns1123SubdomainErrors,
  fieldErr,
  isObject,
  labelErrors,
  objs,
  str,
} from './meta.js';
import { matchesLabels, selectorRequirements } from './selectors.js';

/** Kinds whose names must be DNS-1123 labels (the rest: subdomains). */
const LABEL_NAMED = new Set(['Namespace', 'Service']);

export function validateMetadata(kind: string, o: JsonObject, namespaced: boolean): FieldError[] {
  const errs: FieldError[] = [];
  const m = isObject(o['metadata']) ? o['metadata'] : {};
  const name = m['name'];
  if (typeof name !== 'string' || name === '') {
    errs.push(fieldErr.required('metadata.name', 'name or generateName is required'));
  } else {
    const problems = LABEL_NAMED.has(kind) ? dns1123LabelErrors(name) : dns1123SubdomainErrors(name);
    for (const p of problems) errs.push(fieldErr.invalid('metadata.name', name, p));
  }
  if (namespaced && !m['namespace']) errs.push(fieldErr.required('metadata.namespace'));
  errs.push(...labelErrors(m['labels'], 'metadata.labels'));
  const annotations = m['annotations'];
  if (isObject(annotations)) {
    let total = 0;
    for (const [k, v] of Object.entries(annotations)) {
      total += k.length + (typeof v === 'string' ? v.length : 0);
      if (typeof v !== 'string')
        errs.push(fieldErr.invalid('metadata.annotations', v, 'annotation values must be strings'));
    }
    if (total > 262144) {
      errs.push({
        type: 'FieldValueTooLong',
        field: 'metadata.annotations',
        message: 'Too long: must have at most 262144 bytes',
      });
    }
  }
  return errs;
}

function validateContainers(list: Json | undefined, field: string, required: boolean): FieldError[] {
  const errs: FieldError[] = [];
  const containers = objs(list);
  if (required && containers.length === 0) errs.push(fieldErr.required(field));
  const seen = new Set<string>();
  containers.forEach((c, i) => {
    const f = `${field}[${i}]`;
    const name = c['name'];
    if (typeof name !== 'string' || name === '') errs.push(fieldErr.required(`${f}.name`));
    else {
      for (const p of dns1123LabelErrors(name)) errs.push(fieldErr.invalid(`${f}.name`, name, p));
      if (seen.has(name)) errs.push(fieldErr.duplicate(`${f}.name`, name));
      seen.add(name);
    }
    if (typeof c['image'] !== 'string' || c['image'].trim() === '')
      errs.push(fieldErr.required(`${f}.image`));
    const policy = c['imagePullPolicy'];
    if (policy !== undefined && !['Always', 'IfNotPresent', 'Never'].includes(String(policy))) {
      errs.push(fieldErr.notSupported(`${f}.imagePullPolicy`, policy, ['Always', 'IfNotPresent', 'Never']));
    }
    objs(c['ports']).forEach((p, j) => {
      const port = p['containerPort'];
      if (typeof port !== 'number' || port < 1 || port > 65535) {
        errs.push(
          fieldErr.invalid(`${f}.ports[${j}].containerPort`, port, 'must be between 1 and 65535, inclusive'),
        );
      }
    });
    objs(c['env']).forEach((e, j) => {
      if (typeof e['name'] !== 'string' || e['name'] === '')
        errs.push(fieldErr.required(`${f}.env[${j}].name`));
    });
  });
  return errs;
}

export function validatePodSpec(
  spec: Json | undefined,
  field: string,
  restartPolicies?: string[],
): FieldError[] {
  if (!isObject(spec)) return [fieldErr.required(field)];
  const errs = [
    ...validateContainers(spec['containers'], `${field}.containers`, true),
    ...validateContainers(spec['initContainers'], `${field}.initContainers`, false),
  ];
  const rp = spec['restartPolicy'];
  const allowed = restartPolicies ?? ['Always', 'OnFailure', 'Never'];
  if (rp !== undefined && !allowed.includes(String(rp))) {
    errs.push(fieldErr.notSupported(`${field}.restartPolicy`, rp, allowed));
  }
  const volumes = new Set<string>();
  objs(spec['volumes']).forEach((v, i) => {
    const name = str(v['name']);
    if (!name) errs.push(fieldErr.required(`${field}.volumes[${i}].name`));
    else if (volumes.has(name)) errs.push(fieldErr.duplicate(`${field}.volumes[${i}].name`, name));
    else volumes.add(name);
  });
  objs(spec['containers']).forEach((c, i) => {
    objs(c['volumeMounts']).forEach((m, j) => {
      const name = str(m['name']);
      if (name && !volumes.has(name)) {
        errs.push({
          type: 'FieldValueNotFound',
          field: `${field}.containers[${i}].volumeMounts[${j}].name`,
          message: `Not found: ${JSON.stringify(name)}`,
        });
      }
    });
  });
  return errs;
}

/** A workload's selector: required, non-empty, and matching the template's labels. */
function validateSelector(spec: JsonObject, errs: FieldError[]): void {
  const selector = spec['selector'];
  if (!isObject(selector)) {
    errs.push(fieldErr.required('spec.selector'));
    return;
  }
  const reqs = selectorRequirements(selector);
  if (reqs.length === 0) {
    errs.push(fieldErr.invalid('spec.selector', selector, 'empty selector is invalid for deployment'));
    return;
  }
  const labels = at(spec, 'template.metadata.labels');
  const lab: Record<string, string> = {};
  if (isObject(labels)) for (const [k, v] of Object.entries(labels)) lab[k] = String(v);
  if (!matchesLabels(reqs, lab)) {
    errs.push(
      fieldErr.invalid(
        'spec.template.metadata.labels',
        isObject(labels) ? labels : {},
        '`selector` does not match template `labels`',
      ),
    );
  }
}

function nonNegative(spec: JsonObject, key: string, errs: FieldError[], prefix = 'spec'): void {
  const v = spec[key];
  if (v === undefined || v === null) return;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0) {
    errs.push(fieldErr.invalid(`${prefix}.${key}`, v, 'must be greater than or equal to 0'));
  }
}

function intOrPercent(v: Json | undefined, field: string, errs: FieldError[]): void {
  if (v === undefined) return;
  if (typeof v === 'number' ? v < 0 : !/^\d+%$/.test(String(v))) {
    errs.push(
      fieldErr.invalid(
        field,
        v,
        "a valid percent string must be a numeric string followed by an ending '%' (e.g. '1%',  or '93%', regex used for validation is '[0-9]+%')",
      ),
    );
  }
}

function immutable(field: string, now: Json | undefined, before: Json | undefined, errs: FieldError[]): void {
  if (before !== undefined && !deepEqual(now, before))
    errs.push(fieldErr.invalid(field, now, 'field is immutable'));
}

/** Kind-specific validation; `old` is the stored object on update. */
export function validateObject(kind: string, o: JsonObject, old: JsonObject | undefined): FieldError[] {
  const errs: FieldError[] = [];
  const spec = isObject(o['spec']) ? o['spec'] : undefined;
  const oldSpec = old && isObject(old['spec']) ? old['spec'] : undefined;
  switch (kind) {
    case 'Pod':
      errs.push(...validatePodSpec(spec, 'spec'));
      if (old && spec && oldSpec) errs.push(...podUpdateErrors(spec, oldSpec));
      break;
    case 'Deployment':
    case 'ReplicaSet':
    case 'StatefulSet':
    case 'DaemonSet': {
      if (!spec) {
        errs.push(fieldErr.required('spec'));
        break;
      }
      validateSelector(spec, errs);
      errs.push(
        ...validatePodSpec(
          spec['template'] === undefined ? undefined : at(spec, 'template.spec'),
          'spec.template.spec',
          ['Always'],
        ),
      );
      nonNegative(spec, 'replicas', errs);
      nonNegative(spec, 'minReadySeconds', errs);
      nonNegative(spec, 'revisionHistoryLimit', errs);
      if (kind === 'Deployment') {
        const strategy = isObject(spec['strategy']) ? spec['strategy'] : {};
        const type = strategy['type'];
        if (type !== undefined && type !== 'RollingUpdate' && type !== 'Recreate') {
          errs.push(fieldErr.notSupported('spec.strategy.type', type, ['Recreate', 'RollingUpdate']));
        }
        if (type === 'Recreate' && strategy['rollingUpdate'] !== undefined) {
          errs.push(
            fieldErr.forbidden(
              'spec.strategy.rollingUpdate',
              "may not be specified when strategy `type` is 'Recreate'",
            ),
          );
        }
        const ru = isObject(strategy['rollingUpdate']) ? strategy['rollingUpdate'] : undefined;
        if (ru) {
          intOrPercent(ru['maxSurge'], 'spec.strategy.rollingUpdate.maxSurge', errs);
          intOrPercent(ru['maxUnavailable'], 'spec.strategy.rollingUpdate.maxUnavailable', errs);
          const zero = (v: Json | undefined): boolean => v === 0 || v === '0%';
          if (zero(ru['maxSurge']) && zero(ru['maxUnavailable'])) {
            errs.push(
              fieldErr.invalid(
                'spec.strategy.rollingUpdate.maxUnavailable',
                ru['maxUnavailable'],
                'may not be 0 when `maxSurge` is 0',
              ),
            );
          }
        }
        const pds = spec['progressDeadlineSeconds'];
        const mrs = spec['minReadySeconds'];
        if (typeof pds === 'number' && typeof mrs === 'number' && pds <= mrs) {
          errs.push(
            fieldErr.invalid('spec.progressDeadlineSeconds', pds, 'must be greater than minReadySeconds'),
          );
        }
      }
      if (oldSpec) immutable('spec.selector', spec['selector'], oldSpec['selector'], errs);
      if (kind === 'StatefulSet' && oldSpec) {
        for (const key of Object.keys({ ...spec, ...oldSpec })) {
          if (
            [
              'replicas',
              'template',
              'updateStrategy',
              'persistentVolumeClaimRetentionPolicy',
              'minReadySeconds',
              'ordinals',
              'revisionHistoryLimit',
            ].includes(key)
          )
            continue;
          if (!deepEqual(spec[key], oldSpec[key])) {
            errs.push(
              fieldErr.forbidden(
                'spec',
                "updates to statefulset spec for fields other than 'replicas', 'ordinals', 'template', 'updateStrategy', 'revisionHistoryLimit', 'persistentVolumeClaimRetentionPolicy' and 'minReadySeconds' are forbidden",
              ),
            );
            break;
          }
        }
      }
      break;
    }
    case 'Job': {
      if (!spec) {
        errs.push(fieldErr.required('spec'));
        break;
      }
      errs.push(...validatePodSpec(at(spec, 'template.spec'), 'spec.template.spec', ['OnFailure', 'Never']));
      const rp = at(spec, 'template.spec.restartPolicy');
      if (rp === 'Always' || rp === undefined) {
        // Defaulting made it Always: a Job must say OnFailure or Never.
        if (!errs.some((e) => e.field === 'spec.template.spec.restartPolicy')) {
          errs.push(
            fieldErr.notSupported('spec.template.spec.restartPolicy', rp ?? 'Always', ['OnFailure', 'Never']),
          );
        }
      }
      nonNegative(spec, 'completions', errs);
      nonNegative(spec, 'parallelism', errs);
      nonNegative(spec, 'backoffLimit', errs);
      if (oldSpec) {
        immutable('spec.completions', spec['completions'], oldSpec['completions'], errs);
        immutable('spec.selector', spec['selector'], oldSpec['selector'], errs);
        if (!deepEqual(spec['template'], oldSpec['template'])) {
          errs.push(fieldErr.invalid('spec.template', spec['template'] ?? null, 'field is immutable'));
        }
      }
      break;
    }
    case 'CronJob': {
      if (!spec) {
        errs.push(fieldErr.required('spec'));
        break;
      }
      const schedule = spec['schedule'];
      if (typeof schedule !== 'string' || schedule === '') errs.push(fieldErr.required('spec.schedule'));
      else if (schedule.trim().split(/\s+/).length !== 5 && !schedule.startsWith('@')) {
        errs.push(
          fieldErr.invalid(
            'spec.schedule',
            schedule,
            `unparseable schedule: expected exactly 5 fields, found ${schedule.trim().split(/\s+/).length}: ${schedule}`,
          ),
        );
      }
      errs.push(
        ...validatePodSpec(
          at(spec, 'jobTemplate.spec.template.spec'),
          'spec.jobTemplate.spec.template.spec',
          ['OnFailure', 'Never'],
        ),
      );
      break;
    }
    case 'Service': {
      if (!spec) break;
      const type = spec['type'];
      const types = ['ClusterIP', 'ExternalName', 'LoadBalancer', 'NodePort'];
      if (type !== undefined && !types.includes(String(type)))
        errs.push(fieldErr.notSupported('spec.type', type, types));
      if (type !== 'ExternalName' && objs(spec['ports']).length === 0 && spec['clusterIP'] !== 'None') {
        errs.push(fieldErr.required('spec.ports'));
      }
      objs(spec['ports']).forEach((p, i) => {
        const port = p['port'];
        if (typeof port !== 'number' || port < 1 || port > 65535) {
          errs.push(
            fieldErr.invalid(`spec.ports[${i}].port`, port, 'must be between 1 and 65535, inclusive'),
          );
        }
        if (objs(spec['ports']).length > 1 && !p['name'])
          errs.push(fieldErr.required(`spec.ports[${i}].name`));
      });
      if (oldSpec && oldSpec['clusterIP'] && spec['clusterIP'] !== undefined) {
        immutable('spec.clusterIPs[0]', spec['clusterIP'], oldSpec['clusterIP'], errs);
      }
      break;
    }
    case 'ConfigMap':
    case 'Secret': {
      for (const key of ['data', 'binaryData', 'stringData']) {
        const d = o[key];
        if (!isObject(d)) continue;
        for (const k of Object.keys(d)) {
          if (!/^[-._a-zA-Z0-9]+$/.test(k)) {
            errs.push(
              fieldErr.invalid(
                `${key}[${k}]`,
                k,
                "a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')",
              ),
            );
          }
        }
      }
      if (kind === 'Secret') {
        const d = o['data'];
        if (isObject(d)) {
          for (const [k, v] of Object.entries(d)) {
            if (typeof v !== 'string' || !/^[A-Za-z0-9+/]*={0,2}$/.test(v)) {
              errs.push(fieldErr.invalid(`data[${k}]`, '<secret contents redacted>', 'illegal base64 data'));
            }
          }
        }
        if (old && o['type'] !== old['type'])
          errs.push(fieldErr.invalid('type', o['type'], 'field is immutable'));
      }
      if (old && old['immutable'] === true) {
        for (const key of ['data', 'binaryData']) {
          if (!deepEqual(o[key], old[key]))
            errs.push(fieldErr.forbidden(key, 'field is immutable when `immutable` is set'));
        }
      }
      break;
    }
    case 'CustomResourceDefinition':
      errs.push(...validateCrd(o, old));
      break;
  }
  return errs;
}

/** Pod updates may only change images and a few scheduling fields (ValidatePodUpdate). */
function podUpdateErrors(spec: JsonObject, oldSpec: JsonObject): FieldError[] {
  const strip = (s: JsonObject): JsonObject => {
    const copy = structuredClone(s);
    for (const key of ['containers', 'initContainers']) {
      for (const c of objs(copy[key])) delete c['image'];
    }
    delete copy['activeDeadlineSeconds'];
    delete copy['tolerations'];
    delete copy['terminationGracePeriodSeconds'];
    delete copy['schedulingGates'];
    return copy;
  };
  const a = strip(spec);
  const b = strip(oldSpec);
  // The binding (pods/binding) sets spec.nodeName once.
  if (oldSpec['nodeName'] === undefined) delete a['nodeName'];
  if (deepEqual(a, b)) return [];
  return [
    fieldErr.forbidden(
      'spec',
      'pod updates may not change fields other than `spec.containers[*].image`,`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,`spec.tolerations` (only additions to existing tolerations),`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)',
    ),
  ];
}

function validateCrd(o: JsonObject, old: JsonObject | undefined): FieldError[] {
  const errs: FieldError[] = [];
  const spec = isObject(o['spec']) ? o['spec'] : {};
  const group = str(spec['group']) ?? '';
  const names = isObject(spec['names']) ? spec['names'] : {};
  const plural = str(names['plural']) ?? '';
  const name = str(at(o, 'metadata.name')) ?? '';
  if (!group) errs.push(fieldErr.required('spec.group'));
  else if (!group.includes('.'))
    errs.push(fieldErr.invalid('spec.group', group, 'should be a domain with at least one dot'));
  if (!plural) errs.push(fieldErr.required('spec.names.plural'));
  if (!names['kind']) errs.push(fieldErr.required('spec.names.kind'));
  if (!names['listKind']) errs.push(fieldErr.required('spec.names.listKind'));
  if (plural && group && name !== `${plural}.${group}`) {
    errs.push(fieldErr.invalid('metadata.name', name, `must be spec.names.plural+"."+spec.group`));
  }
  const scope = spec['scope'];
  if (scope !== 'Namespaced' && scope !== 'Cluster')
    errs.push(fieldErr.notSupported('spec.scope', scope, ['Cluster', 'Namespaced']));
  const versions = objs(spec['versions']);
  if (versions.length === 0)
    errs.push(
      fieldErr.invalid('spec.versions', [], 'must have exactly one version marked as storage version'),
    );
  const storage = versions.filter((v) => v['storage'] === true).length;
  if (versions.length > 0 && storage !== 1) {
    errs.push(
      fieldErr.invalid('spec.versions', storage, 'must have exactly one version marked as storage version'),
    );
  }
  versions.forEach((v, i) => {
    if (!v['name']) errs.push(fieldErr.required(`spec.versions[${i}].name`));
    if (v['served'] === undefined) errs.push(fieldErr.required(`spec.versions[${i}].served`));
    if (v['storage'] === undefined) errs.push(fieldErr.required(`spec.versions[${i}].storage`));
    const schema = at(v, 'schema.openAPIV3Schema');
    if (!isObject(schema))
      errs.push(fieldErr.required(`spec.versions[${i}].schema.openAPIV3Schema`, 'schemas are required'));
    else if (schema['type'] !== 'object')
      errs.push(
        fieldErr.invalid(
          `spec.versions[${i}].schema.openAPIV3Schema.type`,
          schema['type'] ?? '',
          'must be object at the root',
        ),
      );
  });
  if (old) {
    immutable('spec.group', spec['group'], at(old, 'spec.group'), errs);
    immutable('spec.scope', spec['scope'], at(old, 'spec.scope'), errs);
  }
  return errs;
}
