/**
 * OpenAPI v3 as kubectl reads it: `/openapi/v3` (an index of group-version documents by `serverRelativeURL`, with a
 * content hash so clients refresh their cache) and one document per group version whose paths carry the `patch`
 * operations with `x-kubernetes-group-version-kind`, the `fieldValidation` / `dryRun` / `fieldManager` / `force`
 * query parameters and the patch media types. That is what kubectl checks before `apply` (fieldValidation support)
 * and to choose between a strategic merge patch (built-in kinds) and a JSON merge patch (custom resources).
 *
 * The documents do not carry the full schemas: kubectl then computes strategic merge patches from its compiled-in
 * Go types, as it does when a server has no usable schema. `kubectl explain` needs the schemas and is not supported.
 */
import { createHash } from 'node:crypto';
import type { JsonObject } from './meta.js';
import { at, isObject } from './meta.js';
import type { Registry, ResourceType } from './resources.js';
import { gvPrefix, groupVersion } from './resources.js';

export function patchTypes(t: ResourceType): string[] {
  const types = ['application/json-patch+json', 'application/merge-patch+json'];
  if (!t.crd) types.push('application/strategic-merge-patch+json');
  types.push('application/apply-patch+yaml');
  return types;
}

const query = (name: string, description: string, type = 'string'): JsonObject => ({
  name,
  in: 'query',
  description,
  schema: { type, uniqueItems: true },
});

function gvk(t: ResourceType): JsonObject {
  return { group: t.group, version: t.version, kind: t.kind };
}

function opId(verb: string, t: ResourceType, suffix = ''): string {
  const g = (t.group || 'core')
    .split('.')
    .map((p, i) => (i === 0 ? p : p.charAt(0).toUpperCase() + p.slice(1)))
    .join('');
  const cap = (s: string): string => s.charAt(0).toUpperCase() + s.slice(1);
  return `${verb}${cap(g)}${cap(t.version)}${t.namespaced ? 'Namespaced' : ''}${t.kind}${suffix}`;
}

function schemaRef(t: ResourceType): string {
  return `#/components/schemas/${schemaName(t)}`;
}

function schemaName(t: ResourceType): string {
  if (t.crd) {
    const reversed = t.group.split('.').reverse().join('.');
    return `${reversed}.${t.version}.${t.kind}`;
  }
  const pkg = t.group === '' ? 'core' : t.group.split('.')[0];
  return `io.k8s.api.${pkg}.${t.version}.${t.kind}`;
}

function itemOperations(t: ResourceType): JsonObject {
  const ext = { 'x-kubernetes-group-version-kind': gvk(t) };
  const ok = {
    '200': { description: 'OK', content: { 'application/json': { schema: { $ref: schemaRef(t) } } } },
  };
  const content: JsonObject = {};
  for (const type of patchTypes(t))
    content[type] = { schema: { $ref: '#/components/schemas/io.k8s.apimachinery.pkg.apis.meta.v1.Patch' } };
  return {
    get: { operationId: opId('read', t), responses: ok, 'x-kubernetes-action': 'get', ...ext },
    put: {
      operationId: opId('replace', t),
      parameters: [
        query('dryRun', 'When present, indicates that modifications should not be persisted.'),
        query(
          'fieldManager',
          'fieldManager is a name associated with the actor or entity that is making these changes.',
        ),
        query(
          'fieldValidation',
          'fieldValidation instructs the server on how to handle objects in the request containing unknown or duplicate fields.',
        ),
      ],
      requestBody: { content: { '*/*': { schema: { $ref: schemaRef(t) } } }, required: true },
      responses: ok,
      'x-kubernetes-action': 'put',
      ...ext,
    },
    patch: {
      operationId: opId('patch', t),
      parameters: [
        query('dryRun', 'When present, indicates that modifications should not be persisted.'),
        query(
          'fieldManager',
          'fieldManager is a name associated with the actor or entity that is making these changes.',
        ),
        query(
          'fieldValidation',
          'fieldValidation instructs the server on how to handle objects in the request containing unknown or duplicate fields.',
        ),
        query('force', 'Force is going to "force" Apply requests.', 'boolean'),
      ],
      requestBody: { content, required: true },
      responses: ok,
      'x-kubernetes-action': 'patch',
      ...ext,
    },
    delete: { operationId: opId('delete', t), responses: ok, 'x-kubernetes-action': 'delete', ...ext },
    parameters: [
      {
        name: 'name',
        in: 'path',
        description: `name of the ${t.kind}`,
        required: true,
        schema: { type: 'string', uniqueItems: true },
      },
      ...(t.namespaced
        ? [
            {
              name: 'namespace',
              in: 'path',
              description: 'object name and auth scope',
              required: true,
              schema: { type: 'string', uniqueItems: true },
            },
          ]
        : []),
    ],
  };
}

function collectionOperations(t: ResourceType): JsonObject {
  const ext = { 'x-kubernetes-group-version-kind': gvk(t) };
  return {
    get: {
      operationId: opId('list', t),
      parameters: [
        query('labelSelector', 'A selector to restrict the list of returned objects by their labels.'),
        query('fieldSelector', 'A selector to restrict the list of returned objects by their fields.'),
      ],
      responses: { '200': { description: 'OK' } },
      'x-kubernetes-action': 'list',
      ...ext,
    },
    post: {
      operationId: opId('create', t),
      parameters: [query('dryRun', ''), query('fieldManager', ''), query('fieldValidation', '')],
      requestBody: { content: { '*/*': { schema: { $ref: schemaRef(t) } } }, required: true },
      responses: { '201': { description: 'Created' } },
      'x-kubernetes-action': 'post',
      ...ext,
    },
  };
}

/** The OpenAPI v3 document of one group version. */
export function groupVersionDocument(types: ResourceType[], gitVersion: string): JsonObject {
  const paths: JsonObject = {};
  const schemas: JsonObject = {
    'io.k8s.apimachinery.pkg.apis.meta.v1.Patch': {
      description: 'Patch is provided to give a concrete name and type to the Kubernetes PATCH request body.',
      type: 'object',
    },
  };
  for (const t of types) {
    const prefix = gvPrefix(t);
    const base = t.namespaced ? `${prefix}/namespaces/{namespace}/${t.plural}` : `${prefix}/${t.plural}`;
    paths[base] = collectionOperations(t);
    paths[`${base}/{name}`] = itemOperations(t);
    const schema: JsonObject = {
      description: `${t.kind} (schema not published by the simulator)`,
      type: 'object',
      'x-kubernetes-group-version-kind': [gvk(t)],
    };
    if (t.crd) {
      const s = at(t.crd.version, 'schema.openAPIV3Schema');
      if (isObject(s)) Object.assign(schema, s, { 'x-kubernetes-group-version-kind': [gvk(t)] });
      schemas[schemaName(t)] = schema;
    }
  }
  const title = 'Kubernetes';
  return { openapi: '3.0.0', info: { title, version: gitVersion }, paths, components: { schemas } };
}

/** `/openapi/v3`: the index, with hashes that change when a document changes. */
export function openApiIndex(registry: Registry, gitVersion: string): JsonObject {
  const paths: JsonObject = {};
  for (const gv of registry.groupVersions()) {
    const key = gv.group ? `apis/${gv.group}/${gv.version}` : `api/${gv.version}`;
    const doc = JSON.stringify(groupVersionDocument(gv.types, gitVersion));
    const hash = createHash('sha512').update(doc).digest('hex').slice(0, 128).toUpperCase();
    paths[key] = { serverRelativeURL: `/openapi/v3/${key}?hash=${hash}` };
  }
  return { paths };
}

/** The types of the group version a `/openapi/v3/...` path names, or undefined. */
export function documentTypes(registry: Registry, path: string): ResourceType[] | undefined {
  const rest = path.replace(/^\/openapi\/v3\//, '');
  for (const gv of registry.groupVersions()) {
    const key = gv.group ? `apis/${gv.group}/${gv.version}` : `api/${gv.version}`;
    if (key === rest) return gv.types;
  }
  return undefined;
}

export { groupVersion };
