/**
 * Kubernetes manifests for deploy-k8s: read them (files, directories, globs; multi-document YAML; `List`s
 * flattened; `${NAME}` templates from the `vars` input), put the images in (exact substitution, pinned by digest:
 * ./manifest-images.ts), give objects their namespaces (./manifest-namespaces.ts), and mark workloads with the
 * release that deployed them. Every problem is one line naming the file, the document (counted from 1) and the
 * field as a JSON pointer — `k8s/app.yaml document 2: /metadata/name is missing` — before anything is sent.
 *
 * The steps, in order: {@link loadManifests} → {@link substituteImages} → {@link resolveNamespaces} →
 * {@link annotateRelease}. The last three change the loaded objects in place.
 */
import { ConfigurationError, InputError } from '../errors.js';
import { KILN_LABELS, releaseLabels } from '../deploy/labels.js';
import { unusedVarsWarning } from '../deploy/template.js';
import type { CiContext } from '../platform/types.js';
import { FileError, readTextFile } from '../util/files.js';
import { formatSize } from '../util/bytes.js';
import type { JsonObject } from '../util/json.js';
import { resolveManifestFiles } from './manifest-files.js';
import { hasImageFields } from './manifest-images.js';
import {
  describeValue,
  isPlainObject,
  manifestWhere,
  objectName,
  q,
  type Manifest,
} from './manifest-object.js';
import { parseManifestYaml } from './manifest-yaml.js';

export type { Manifest } from './manifest-object.js';
export { manifestWhere, objectName, apiGroup } from './manifest-object.js';
export { MANIFEST_EXTENSIONS, resolveManifestFiles, type ManifestFile } from './manifest-files.js';
export {
  substituteImages,
  hasImageFields,
  podSpecPath,
  type SubstituteImagesOptions,
  type ImageSubstitution,
  type ImageChange,
  type ImageUse,
} from './manifest-images.js';
export {
  resolveNamespaces,
  builtinIsNamespaced,
  namespaceProblem,
  type ResolveNamespacesOptions,
  type NamespaceResolution,
} from './manifest-namespaces.js';

// ---------------------------------------------------------------------------------------------------------------
// Loading

export interface ManifestLimits {
  /** Bytes per file. */
  fileBytes: number;
  /** Bytes of all files together. */
  totalBytes: number;
  /** Files. */
  files: number;
  /** Objects (and YAML documents per file). */
  objects: number;
  /** YAML aliases (`maxAliasCount`, as Kiln's other YAML readers). */
  aliases: number;
  /** Nesting levels. */
  depth: number;
}

export const DEFAULT_MANIFEST_LIMITS: Readonly<ManifestLimits> = {
  fileBytes: 8 * 1024 * 1024,
  totalBytes: 32 * 1024 * 1024,
  files: 500,
  objects: 5000,
  aliases: 100,
  depth: 100,
};

export interface LoadManifestsOptions {
  /** Relative entries are resolved against it, and files are shown relative to it. */
  cwd: string;
  /** `${NAME}` values (the `vars` input). */
  vars?: Record<string, string>;
  /** Vars used elsewhere in the same run (the `verify` checks file): never reported unused. */
  varsUsedElsewhere?: ReadonlySet<string>;
  limits?: Partial<ManifestLimits>;
  /** The input messages name (default 'manifests'). */
  inputName?: string;
}

export interface LoadedManifests {
  /** Every object, in file order, then document order, then `List` item order. */
  manifests: Manifest[];
  /** The files read, as shown in messages, in order. */
  files: string[];
  /** Bytes read. */
  bytes: number;
  warnings: string[];
}

/**
 * Read the files the entries name (each a file, a directory or a glob: ./manifest-files.ts) and their objects.
 * Throws an InputError for an entry that names nothing or a file that cannot be read, and one ConfigurationError
 * line for what is wrong inside the files (several problems joined with `;`).
 */
export function loadManifests(specs: readonly string[], o: LoadManifestsOptions): LoadedManifests {
  const input = o.inputName ?? 'manifests';
  const limits: ManifestLimits = { ...DEFAULT_MANIFEST_LIMITS, ...(o.limits ?? {}) };
  const vars = o.vars ?? {};
  const used = new Set<string>();
  const files = resolveManifestFiles(specs, { cwd: o.cwd, maxFiles: limits.files, inputName: input });
  const out: LoadedManifests = { manifests: [], files: [], bytes: 0, warnings: [] };
  const problems: string[] = [];
  for (const file of files) {
    let text: string;
    try {
      text = readTextFile(file.path, limits.fileBytes);
    } catch (e) {
      if (!(e instanceof FileError)) throw e;
      throw new InputError(
        input,
        `${q(file.shown)} ${e.message}; expected a YAML or JSON file of Kubernetes objects`,
      );
    }
    out.bytes += Buffer.byteLength(text, 'utf8');
    if (out.bytes > limits.totalBytes)
      throw new InputError(
        input,
        `the files are more than the ${formatSize(limits.totalBytes)} Kiln reads in all (at ${q(file.shown)}); deploy fewer files at once`,
      );
    out.files.push(file.shown);
    const parsed = parseManifestYaml(text, {
      file: file.shown,
      vars,
      used,
      maxAliasCount: limits.aliases,
      maxDepth: limits.depth,
      maxDocuments: limits.objects,
    });
    out.warnings.push(...parsed.warnings);
    for (const doc of parsed.documents) {
      if (doc.data === null) continue; // an empty document (only `---` or comments)
      collectObjects(
        doc.data,
        { file: file.shown, document: doc.document, pointer: '' },
        out.manifests,
        problems,
      );
      if (out.manifests.length > limits.objects)
        throw new InputError(
          input,
          `has more than ${limits.objects} objects; Kiln deploys at most ${limits.objects} at once`,
        );
    }
  }
  if (problems.length)
    throw new ConfigurationError(
      `${problems.slice(0, 10).join('; ')}${problems.length > 10 ? `; and ${problems.length - 10} more` : ''}`,
    );
  if (out.manifests.length === 0)
    throw new InputError(
      input,
      `${listFiles(out.files)} ${out.files.length === 1 ? 'has' : 'have'} no Kubernetes object (only empty documents)`,
    );
  for (const n of o.varsUsedElsewhere ?? []) used.add(n);
  const unused = unusedVarsWarning(vars, used, 'the manifests');
  if (unused) out.warnings.push(unused);
  return out;
}

function listFiles(files: readonly string[]): string {
  return files.length <= 3
    ? files.map(q).join(', ')
    : `${files.slice(0, 3).map(q).join(', ')} and ${files.length - 3} more files`;
}

const API_VERSION = /^(?:[a-z0-9](?:[-a-z0-9.]*[a-z0-9])?\/)?[a-z0-9][-a-z0-9]*$/;
const KIND = /^[A-Za-z][A-Za-z0-9]*$/;

/** The object(s) of one document: a `List` (kind `List`, or `…List` with `items`) is flattened. */
function collectObjects(
  data: unknown,
  at: Pick<Manifest, 'file' | 'document' | 'pointer'>,
  out: Manifest[],
  problems: string[],
): void {
  const where = (field: string): string => manifestWhere(at, field);
  if (!isPlainObject(data)) {
    problems.push(
      `${manifestWhere(at)}: expected a Kubernetes object (a mapping with apiVersion, kind and metadata.name), found ${describeValue(data)}`,
    );
    return;
  }
  const kind = data['kind'];
  const items = data['items'];
  if (typeof kind === 'string' && (kind === 'List' || (kind.endsWith('List') && Array.isArray(items)))) {
    if (!Array.isArray(items)) {
      problems.push(
        `${where('/items')}: a List needs items (a list of objects), found ${describeValue(items ?? null)}`,
      );
      return;
    }
    items.forEach((item, i) =>
      collectObjects(item, { ...at, pointer: `${at.pointer}/items/${i}` }, out, problems),
    );
    return;
  }
  const before = problems.length;
  const apiVersion = data['apiVersion'];
  if (apiVersion === undefined) problems.push(`${where('/apiVersion')} is missing (e.g. 'apps/v1')`);
  else if (typeof apiVersion !== 'string' || !API_VERSION.test(apiVersion))
    problems.push(
      `${where('/apiVersion')} must be 'version' or 'group/version' (e.g. 'apps/v1'), found ${describeValue(apiVersion)}`,
    );
  if (kind === undefined) problems.push(`${where('/kind')} is missing (e.g. 'Deployment')`);
  else if (typeof kind !== 'string' || !KIND.test(kind))
    problems.push(`${where('/kind')} must be a kind name such as 'Deployment', found ${describeValue(kind)}`);
  const metadata = data['metadata'];
  let name: unknown;
  if (metadata === undefined || metadata === null)
    problems.push(`${where('/metadata/name')} is missing (there is no metadata)`);
  else if (!isPlainObject(metadata))
    problems.push(`${where('/metadata')} must be a mapping, found ${describeValue(metadata)}`);
  else {
    name = metadata['name'];
    if (name === undefined || name === null || name === '')
      problems.push(
        `${where('/metadata/name')} is missing${metadata['generateName'] !== undefined ? ' (generateName is not enough: Kiln applies objects by name, so a rerun updates the same object rather than creating another)' : ''}`,
      );
    else if (typeof name !== 'string')
      problems.push(`${where('/metadata/name')} must be a string, found ${describeValue(name)}`);
    const ns = metadata['namespace'];
    if (ns !== undefined && ns !== null && typeof ns !== 'string')
      problems.push(`${where('/metadata/namespace')} must be a string, found ${describeValue(ns)}`);
    for (const field of ['labels', 'annotations'] as const) {
      const map = metadata[field];
      if (map === undefined || map === null) continue;
      if (!isPlainObject(map)) {
        problems.push(`${where(`/metadata/${field}`)} must be a mapping, found ${describeValue(map)}`);
        continue;
      }
      for (const [k, v] of Object.entries(map))
        if (typeof v !== 'string')
          problems.push(
            `${where(`/metadata/${field}/${k.replace(/~/g, '~0').replace(/\//g, '~1')}`)} is ${describeValue(v)}, not a string; ${field === 'labels' ? 'label' : 'annotation'} values are strings: quote the value in the file (YAML reads an unquoted 1.0, true or null as a number, a boolean or null)`,
          );
    }
  }
  if (problems.length > before) return;
  out.push({
    object: data,
    file: at.file,
    document: at.document,
    pointer: at.pointer,
    apiVersion: apiVersion as string,
    kind: kind as string,
    name: name as string,
  });
}

// ---------------------------------------------------------------------------------------------------------------
// Release annotations

/**
 * Kiln's release labels (deploy/labels.ts) as Kubernetes annotations: annotations rather than labels, because a
 * label value is at most 63 characters of `[A-Za-z0-9._-]` and a run URL is neither.
 */
export const KILN_ANNOTATIONS = {
  releaseId: 'kiln.dev/release-id',
  commit: 'kiln.dev/commit',
  runUrl: 'kiln.dev/run-url',
} as const;

/** Every annotation key Kiln owns starts with this; comparisons ignore them, as they ignore KILN_ labels. */
export const KILN_ANNOTATION_PREFIX = 'kiln.dev/';

export function isKilnAnnotation(key: string): boolean {
  return key.startsWith(KILN_ANNOTATION_PREFIX);
}

/** This run's release annotations: release id, commit, run URL (each when known). */
export function releaseAnnotations(
  ci: Pick<CiContext, 'sha' | 'runUrl'>,
  releaseId?: string,
): Record<string, string> {
  const keys: Record<string, string> = {
    [KILN_LABELS.releaseId]: KILN_ANNOTATIONS.releaseId,
    [KILN_LABELS.commit]: KILN_ANNOTATIONS.commit,
    [KILN_LABELS.runUrl]: KILN_ANNOTATIONS.runUrl,
  };
  const out: Record<string, string> = {};
  for (const [label, value] of Object.entries(releaseLabels(ci, releaseId))) {
    const key = keys[label];
    if (key !== undefined) out[key] = value;
  }
  return out;
}

/**
 * Adds the annotations to the metadata of every workload — an object Kiln finds images in (the kinds with a pod
 * spec, and objects the image paths name fields of) — in place, and returns the objects annotated (`Deployment/web`).
 *
 * Only the workload's own metadata, never its pod template: a change to the template's annotations is a change to
 * the template, so Kubernetes would roll every pod again on a rerun that differs only in its run URL. On the
 * workload they record which release and run applied it, and the rollout happens only when the image or the spec
 * changes (the pods are identified by their image digest).
 */
export function annotateRelease(
  manifests: readonly Manifest[],
  annotations: Record<string, string>,
  o: { imagePaths?: readonly string[] } = {},
): string[] {
  const annotated: string[] = [];
  if (Object.keys(annotations).length === 0) return annotated;
  for (const m of manifests) {
    if (!hasImageFields(m, o.imagePaths ?? [])) continue;
    let metadata = m.object['metadata'];
    if (!isPlainObject(metadata)) metadata = m.object['metadata'] = {};
    const current = metadata['annotations'];
    const merged: JsonObject = isPlainObject(current) ? current : {};
    for (const [k, v] of Object.entries(annotations)) merged[k] = v;
    metadata['annotations'] = merged;
    annotated.push(objectName(m));
  }
  return annotated;
}
