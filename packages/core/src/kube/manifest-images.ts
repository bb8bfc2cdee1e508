/**
 * Exact image substitution in Kubernetes manifests (the `images` input), with Kiln's image-reference grammar.
 *
 * An entry is `image` or `name=image`. It replaces every image in the manifests whose **repository** — registry and
 * path, normalised the way docker does — is the entry's (or `name`'s): `registry.local:5000/team/app:1.0` has the
 * repository `registry.local:5000/team/app` (the `:5000` is a port, not a tag), `app` is `docker.io/library/app`,
 * and `app` never matches `app-worker`. Whatever tag or digest the manifest had is replaced by the entry's image,
 * pinned by digest through the deploy family's rule ({@link pinImage}): `name@sha256:…`, a tag alone only with
 * allow-mutable-tag. This fixes what users of Azure/k8s-deploy hit: its substitution split the image at the first
 * colon (a registry port broke it), replaced only the tag, matched image-name prefixes, and silently did nothing
 * when no image matched — here an entry that matches nothing is an error that lists the repositories the manifests
 * do have.
 *
 * Where images are: every container, init container and ephemeral container of the pod spec of a Pod,
 * PodTemplate, ReplicationController, Deployment, ReplicaSet, StatefulSet, DaemonSet, Job and CronJob
 * (`spec.jobTemplate.spec.template`). For other kinds (custom resources: Argo Rollouts, Knative services, an
 * operator's `spec.image`) the `image-paths` option names the fields: a dotted path with `[*]` for every item of a
 * list and `[n]` for one, optionally limited to a kind (`Kind:` or `Kind.group:` before it):
 *
 *     spec.image
 *     Rollout:spec.template.spec.containers[*].image
 *     Rollout.argoproj.io:spec.template.spec.initContainers[*].image
 *     MyApp:spec.sidecars[*].image
 *
 * A path without a kind applies to every object it resolves in. Keys containing dots (annotations) cannot be named.
 *
 * Images in the manifests that no entry replaces: kept when pinned by a digest; otherwise refused, as
 * deploy-marathon refuses an unpinned image in its file, unless allow-mutable-tag — then they are deployed as
 * written with a warning and, like Marathon's forcePullImage, `imagePullPolicy: Always` on their containers so
 * every node pulls the tag again (a container that says `Never` keeps it, with a warning: the node's copy is used).
 */
import { ConfigurationError } from '../errors.js';
import { pinImage } from '../deploy/image.js';
import { parseImageReference, repositoryName, tryParseImageReference } from '../image/reference.js';
import type { JsonObject, JsonValue } from '../util/json.js';
import {
  apiGroup,
  describeValue,
  isPlainObject,
  jsonPointer,
  listOf,
  manifestWhere,
  objectName,
  q,
  type Manifest,
} from './manifest-object.js';

export interface SubstituteImagesOptions {
  allowMutableTag: boolean;
  /** How messages name where the entries come from (default `Input 'images'`). */
  location?: string;
  /** Fields that hold images in kinds Kiln does not know (see the module comment). */
  imagePaths?: readonly string[];
  /** How messages name where the image paths come from (default `Input 'image-paths'`). */
  imagePathsLocation?: string;
}

/** One image field in the manifests, after substitution. */
export interface ImageUse {
  file: string;
  document: number;
  /** `Deployment/web`. */
  object: string;
  namespace?: string;
  /** `container 'app'`, `init container 'migrate'`, `ephemeral container 'debug'`, or for image-paths the field. */
  container: string;
  /** JSON pointer of the field inside its document. */
  field: string;
  /** The image that will run. */
  image: string;
  pinned: boolean;
  /** The entry of `images` that replaced it, when one did. */
  entry?: string;
}

/** A field whose image Kiln changed. */
export interface ImageChange extends ImageUse {
  before: string;
  /** Same as `image`. */
  after: string;
}

export interface ImageSubstitution {
  /** Every field whose image changed: file, document, object, container, before → after. */
  changes: ImageChange[];
  /** Every image field in the manifests, changed or not. */
  images: ImageUse[];
  /** Lines worth logging: the changes, imagePullPolicy set. */
  notes: string[];
  warnings: string[];
}

interface ImageEntry {
  entry: string;
  /** The repository it replaces. */
  repository: string;
  /** What runs: `name@sha256:…`, or the tag as written (allow-mutable-tag). */
  image: string;
  pinned: boolean;
  used: number;
}

type Step = { key: string } | { index: number } | { all: true };

interface ImagePath {
  entry: string;
  kind?: string;
  group?: string;
  steps: Step[];
  matched: number;
}

interface ImageField {
  holder: JsonObject | JsonValue[];
  key: string | number;
  /** Path inside the object. */
  segments: (string | number)[];
  container: string;
  /** A container of a pod spec (its imagePullPolicy applies). */
  isContainer: boolean;
}

const CONTAINER_LISTS: readonly [string, string][] = [
  ['initContainers', 'init container'],
  ['containers', 'container'],
  ['ephemeralContainers', 'ephemeral container'],
];

const TEMPLATE_SPEC = ['spec', 'template', 'spec'];

/** Where the pod spec is in the kinds Kiln knows, by `group/kind` ('' is the core group). */
const POD_SPECS: ReadonlyMap<string, readonly string[]> = new Map([
  ['/Pod', ['spec']],
  ['/PodTemplate', ['template', 'spec']],
  ['/ReplicationController', TEMPLATE_SPEC],
  ['apps/Deployment', TEMPLATE_SPEC],
  ['apps/ReplicaSet', TEMPLATE_SPEC],
  ['apps/StatefulSet', TEMPLATE_SPEC],
  ['apps/DaemonSet', TEMPLATE_SPEC],
  ['extensions/Deployment', TEMPLATE_SPEC],
  ['extensions/ReplicaSet', TEMPLATE_SPEC],
  ['extensions/DaemonSet', TEMPLATE_SPEC],
  ['batch/Job', TEMPLATE_SPEC],
  ['batch/CronJob', ['spec', 'jobTemplate', 'spec', 'template', 'spec']],
]);

/** The path of the pod spec in a kind Kiln knows (Deployment: spec.template.spec), else undefined. */
export function podSpecPath(apiVersion: string, kind: string): readonly string[] | undefined {
  return POD_SPECS.get(`${apiGroup(apiVersion)}/${kind}`);
}

/** Replace images in place; throws one ConfigurationError line for every kind of problem. */
export function substituteImages(
  manifests: readonly Manifest[],
  images: readonly string[],
  o: SubstituteImagesOptions,
): ImageSubstitution {
  const loc = o.location ?? "Input 'images'";
  const entries = parseImageEntries(images, loc, o.allowMutableTag);
  const paths = parseImagePaths(o.imagePaths ?? [], o.imagePathsLocation ?? "Input 'image-paths'");
  const byRepository = new Map(entries.map((e) => [e.repository, e]));
  const result: ImageSubstitution = { changes: [], images: [], notes: [], warnings: [] };
  const present = new Set<string>();
  const problems: string[] = [];
  const unpinned: { use: ImageUse; where: string }[] = [];
  const mutable = new Map<string, { wheres: string[]; containers: boolean }>();
  const pullPolicyNever: string[] = [];
  const noPullPolicy: string[] = [];

  for (const m of manifests) {
    for (const f of findImageFields(m, paths)) {
      const where = manifestWhere(m, jsonPointer(f.segments));
      const what = `${objectName(m)} ${f.container}`;
      const before = (f.holder as Record<string | number, JsonValue>)[f.key];
      if (typeof before !== 'string' || before.trim() === '') {
        problems.push(`${where} (${what}): expected an image reference, found ${describeValue(before)}`);
        continue;
      }
      let ref;
      try {
        ref = parseImageReference(before);
      } catch (e) {
        problems.push(`${where} (${what}): ${(e as Error).message}`);
        continue;
      }
      const repository = repositoryName(ref);
      present.add(repository);
      const entry = byRepository.get(repository);
      const namespace = namespaceOf(m);
      const use: ImageUse = {
        file: m.file,
        document: m.document,
        object: objectName(m),
        ...(namespace !== undefined ? { namespace } : {}),
        container: f.container,
        field: `${m.pointer}${jsonPointer(f.segments)}`,
        image: before,
        pinned: ref.digest !== undefined,
      };
      if (entry) {
        entry.used++;
        use.image = entry.image;
        use.pinned = entry.pinned;
        use.entry = entry.entry;
        if (entry.image !== before) {
          (f.holder as Record<string | number, JsonValue>)[f.key] = entry.image;
          result.changes.push({ ...use, before, after: entry.image });
          result.notes.push(`${m.file} document ${m.document}: ${what}: ${before} → ${entry.image}`);
        }
      } else if (!use.pinned) unpinned.push({ use, where: `${m.file} document ${m.document}, ${what}` });
      result.images.push(use);
      if (!use.pinned && o.allowMutableTag) {
        const seen = mutable.get(use.image) ?? { wheres: [], containers: false };
        mutable.set(use.image, {
          wheres: [...seen.wheres, what],
          containers: seen.containers || f.isContainer,
        });
        if (!f.isContainer) noPullPolicy.push(what);
        else {
          const container = f.holder as JsonObject;
          const policy = container['imagePullPolicy'];
          if (policy === 'Never') pullPolicyNever.push(`${what} (${q(use.image)})`);
          else if (policy !== 'Always') {
            container['imagePullPolicy'] = 'Always';
            result.notes.push(
              `${m.file} document ${m.document}: ${what}: imagePullPolicy ${typeof policy === 'string' ? `${policy} → Always` : 'set to Always'} (the mutable tag ${q(use.image)})`,
            );
          }
        }
      }
    }
  }
  if (problems.length) throw new ConfigurationError(joinProblems(problems));

  const unmatched = entries.filter((e) => e.used === 0);
  if (unmatched.length) throw new ConfigurationError(unmatchedMessage(unmatched, present, manifests, loc));

  if (unpinned.length && !o.allowMutableTag) {
    const list = unpinned.map((u) => `${q(u.use.image)} (${u.where})`);
    throw new ConfigurationError(
      `${unpinned.length === 1 ? 'an image in the manifests is' : `${unpinned.length} images in the manifests are`} not pinned by a digest and no images entry replaces ${unpinned.length === 1 ? 'it' : 'them'}: ${listOf(list, 5)}. ` +
        `Kiln deploys images by digest so what runs is never ambiguous: pin ${unpinned.length === 1 ? 'it' : 'them'} in the file (name@sha256:<hex>), give an images entry with a digest (e.g. a push step's output), or set allow-mutable-tag: true to deploy a moving tag (imagePullPolicy becomes Always).`,
    );
  }
  for (const [image, { wheres, containers }] of mutable)
    result.warnings.push(
      `deploying the mutable tag ${q(image)} (allow-mutable-tag: true) in ${listOf(wheres, 5)}: ${containers ? 'imagePullPolicy is set to Always so every node pulls it again; ' : ''}what runs can change under the same tag.`,
    );
  if (noPullPolicy.length)
    result.warnings.push(
      `Kiln cannot set a pull policy for ${listOf(noPullPolicy, 5)} (not a container of a pod spec): whether nodes pull the mutable tag again is up to ${noPullPolicy.length === 1 ? 'that object' : 'those objects'}.`,
    );
  if (pullPolicyNever.length)
    result.warnings.push(
      `imagePullPolicy: Never kept for ${listOf(pullPolicyNever, 5)}: the node's copy of the mutable tag is used, whatever the registry has now.`,
    );
  for (const p of paths)
    if (p.matched === 0)
      result.warnings.push(
        `image-paths ${q(p.entry)} found no field in the manifests (check the kind and the path).`,
      );
  return result;
}

/** Whether Kiln finds images in this object (a kind with a pod spec, or a field an image path names). */
export function hasImageFields(m: Manifest, imagePaths: readonly string[] = []): boolean {
  return findImageFields(m, parseImagePaths(imagePaths, "Input 'image-paths'")).length > 0;
}

function namespaceOf(m: Manifest): string | undefined {
  const metadata = m.object['metadata'];
  const ns = isPlainObject(metadata) ? metadata['namespace'] : undefined;
  return typeof ns === 'string' && ns !== '' ? ns : undefined;
}

function joinProblems(problems: readonly string[]): string {
  const shown = problems.slice(0, 5);
  return `${shown.join('; ')}${problems.length > shown.length ? `; and ${problems.length - shown.length} more` : ''}`;
}

// ---------------------------------------------------------------------------------------------------------------
// The entries

/** `name=image` or `image` → what replaces which repository. Throws for a bad entry, an unpinned one, a repeat. */
function parseImageEntries(images: readonly string[], loc: string, allowMutableTag: boolean): ImageEntry[] {
  const entries: ImageEntry[] = [];
  for (const raw of images) {
    const entry = raw.trim();
    if (entry === '') continue;
    // '=' separates a name only before any '@' (a digest's encoded part may contain '=').
    const eq = entry.indexOf('=');
    const at = entry.indexOf('@');
    const split = eq >= 0 && (at < 0 || eq < at);
    const nameText = split ? entry.slice(0, eq).trim() : undefined;
    const written = split ? entry.slice(eq + 1).trim() : entry;
    if (written === '')
      throw new ConfigurationError(
        `${loc}: entry ${q(entry)} has no image after '='; expected 'image' or 'name=image', e.g. 'ghcr.io/org/app=ghcr.io/org/app@sha256:<hex>'`,
      );
    const pin = pinImage({
      written,
      fromInput: false,
      location: `${loc}: entry`,
      allowMutableTag,
      forcePullName: 'imagePullPolicy',
    });
    let repository = repositoryName(pin.ref);
    if (nameText !== undefined) {
      let name;
      try {
        name = parseImageReference(nameText);
      } catch (e) {
        throw new ConfigurationError(
          `${loc}: entry ${q(entry)}: the name before '=' is not a repository: ${(e as Error).message}`,
        );
      }
      if (name.tag !== undefined || name.digest !== undefined)
        throw new ConfigurationError(
          `${loc}: entry ${q(entry)}: the name before '=' is the repository to replace, without a tag or digest (every tag and digest of it is replaced); write ${q(`${repositoryName(name)}=${written}`)}`,
        );
      repository = repositoryName(name);
    }
    const twice = entries.find((e) => e.repository === repository);
    if (twice)
      throw new ConfigurationError(
        `${loc}: entries ${q(twice.entry)} and ${q(entry)} both replace ${repository}; give one entry per repository`,
      );
    entries.push({ entry, repository, image: pin.image, pinned: pin.pinned, used: 0 });
  }
  return entries;
}

/** Why an entry matched nothing, with what the manifests do have and the likely fix. */
function unmatchedMessage(
  unmatched: readonly ImageEntry[],
  present: ReadonlySet<string>,
  manifests: readonly Manifest[],
  loc: string,
): string {
  const available = [...present].sort();
  const parts = unmatched.map((e) => {
    const hints: string[] = [];
    const last = e.repository.slice(e.repository.lastIndexOf('/') + 1);
    const near = available.filter((r) => r.slice(r.lastIndexOf('/') + 1) === last);
    if (near.length) hints.push(`did you mean ${listOf(near, 3)}?`);
    const hidden = hiddenImages(manifests, e.repository);
    if (hidden)
      hints.push(
        `${hidden.object} has it at ${hidden.path}, a kind whose images Kiln reads only through image-paths (e.g. ${q(`${hidden.kind}:${hidden.pattern}`)})`,
      );
    return `${q(e.entry)} matched no image in the manifests (it replaces ${e.repository}${hints.length ? `; ${hints.join('; ')}` : ''})`;
  });
  const have = available.length
    ? `the images there are ${listOf(available, 12)}`
    : 'the manifests have no image Kiln reads (containers of Pods, Deployments, StatefulSets, DaemonSets, Jobs, CronJobs…, and the fields image-paths names)';
  return `${loc}: ${parts.join('; ')}; ${have}. An entry replaces the images of its registry and repository, whatever their tag or digest (write 'name=image' to put an image in place of another repository).`;
}

/** An `image` field of this repository in an object Kiln does not read images from (for the hint). */
function hiddenImages(
  manifests: readonly Manifest[],
  repository: string,
): { object: string; kind: string; path: string; pattern: string } | undefined {
  for (const m of manifests) {
    if (podSpecPath(m.apiVersion, m.kind)) continue;
    const segments: (string | number)[] = [];
    let found: (string | number)[] | undefined;
    const walk = (v: unknown, depth: number): void => {
      if (found || depth > 40) return;
      if (Array.isArray(v))
        v.forEach((x, i) => {
          segments.push(i);
          walk(x, depth + 1);
          segments.pop();
        });
      else if (isPlainObject(v))
        for (const [k, x] of Object.entries(v)) {
          segments.push(k);
          if (k === 'image' && typeof x === 'string') {
            const ref = tryParseImageReference(x);
            if (ref && repositoryName(ref) === repository) found = [...segments];
          } else walk(x, depth + 1);
          segments.pop();
        }
    };
    walk(m.object, 0);
    if (found)
      return {
        object: objectName(m),
        kind: m.kind,
        path: dotted(found, false),
        pattern: dotted(found, true),
      };
  }
  return undefined;
}

/** ['spec', 'containers', 0, 'image'] → 'spec.containers[0].image' (or '[*]' for every index). */
function dotted(segments: readonly (string | number)[], wildcard: boolean): string {
  let out = '';
  for (const s of segments)
    out += typeof s === 'number' ? (wildcard ? '[*]' : `[${s}]`) : `${out === '' ? '' : '.'}${s}`;
  return out;
}

// ---------------------------------------------------------------------------------------------------------------
// Image paths

const PATH_SEGMENT = /^([A-Za-z_$][A-Za-z0-9_$-]*)((?:\[(?:\*|[0-9]+)\])*)$/;
const KIND_PREFIX = /^([A-Za-z][A-Za-z0-9]*)(?:\.([a-z0-9][a-z0-9.-]*))?:(.*)$/;

function parseImagePaths(entries: readonly string[], loc: string): ImagePath[] {
  const out: ImagePath[] = [];
  for (const raw of entries) {
    const entry = raw.trim();
    if (entry === '') continue;
    const bad = (why: string): ConfigurationError =>
      new ConfigurationError(
        `${loc}: ${q(entry)} ${why}; expected a dotted path with [*] for every item of a list, e.g. 'spec.template.spec.containers[*].image', optionally after a kind ('MyKind:spec.image')`,
      );
    const kindMatch = KIND_PREFIX.exec(entry);
    const kind = kindMatch?.[1];
    const group = kindMatch?.[2];
    let path = (kindMatch ? (kindMatch[3] as string) : entry).trim();
    if (path.startsWith('$.')) path = path.slice(2);
    else if (path.startsWith('.')) path = path.slice(1);
    if (path === '') throw bad('has no path');
    const steps: Step[] = [];
    for (const segment of path.split('.')) {
      const m = PATH_SEGMENT.exec(segment);
      if (!m) throw bad(`has the segment ${q(segment)}, which is not a field name with optional [*] or [n]`);
      steps.push({ key: m[1] as string });
      for (const b of (m[2] as string).match(/\[[^\]]*\]/g) ?? []) {
        const inner = b.slice(1, -1);
        steps.push(inner === '*' ? { all: true } : { index: Number(inner) });
      }
    }
    out.push({
      entry,
      ...(kind !== undefined ? { kind } : {}),
      ...(group !== undefined ? { group } : {}),
      steps,
      matched: 0,
    });
  }
  return out;
}

/** The image fields of one object: its pod spec's containers, then what the image paths name (each field once). */
function findImageFields(m: Manifest, paths: readonly ImagePath[]): ImageField[] {
  const fields: ImageField[] = [];
  const seen = new Set<string>();
  const add = (f: ImageField): boolean => {
    const key = jsonPointer(f.segments);
    if (seen.has(key)) return false;
    seen.add(key);
    fields.push(f);
    return true;
  };
  const specPath = podSpecPath(m.apiVersion, m.kind);
  if (specPath) {
    let spec: unknown = m.object;
    for (const k of specPath) spec = isPlainObject(spec) ? spec[k] : undefined;
    if (isPlainObject(spec))
      for (const [list, label] of CONTAINER_LISTS) {
        const containers = spec[list];
        if (!Array.isArray(containers)) continue;
        containers.forEach((c, i) => {
          if (!isPlainObject(c) || !('image' in c)) return;
          const name = typeof c['name'] === 'string' ? q(c['name']) : `#${i}`;
          add({
            holder: c,
            key: 'image',
            segments: [...specPath, list, i, 'image'],
            container: `${label} ${name}`,
            isContainer: true,
          });
        });
      }
  }
  const group = apiGroup(m.apiVersion);
  for (const p of paths) {
    if (p.kind !== undefined && p.kind !== m.kind) continue;
    if (p.group !== undefined && p.group !== group) continue;
    for (const f of evaluatePath(m.object, p.steps)) if (add(f)) p.matched++;
  }
  return fields;
}

function evaluatePath(object: JsonObject, steps: readonly Step[]): ImageField[] {
  let current: { value: unknown; segments: (string | number)[] }[] = [{ value: object, segments: [] }];
  const children = (value: unknown, step: Step): { key: string | number; value: unknown }[] => {
    if ('key' in step)
      return isPlainObject(value) && Object.prototype.hasOwnProperty.call(value, step.key)
        ? [{ key: step.key, value: value[step.key] }]
        : [];
    if (!Array.isArray(value)) return [];
    if ('index' in step)
      return step.index < value.length ? [{ key: step.index, value: value[step.index] }] : [];
    return value.map((v, i) => ({ key: i, value: v }));
  };
  steps.slice(0, -1).forEach((step) => {
    current = current.flatMap((c) =>
      children(c.value, step).map((x) => ({ value: x.value, segments: [...c.segments, x.key] })),
    );
  });
  const last = steps[steps.length - 1] as Step;
  return current.flatMap((c) =>
    children(c.value, last).map((x) => {
      const segments = [...c.segments, x.key];
      const holder = c.value as JsonObject | JsonValue[];
      const list = segments[segments.length - 3];
      const isContainer =
        x.key === 'image' &&
        typeof segments[segments.length - 2] === 'number' &&
        CONTAINER_LISTS.some(([l]) => l === list);
      const name =
        isPlainObject(holder) && x.key === 'image' && typeof holder['name'] === 'string'
          ? holder['name']
          : undefined;
      const label = isContainer
        ? `${CONTAINER_LISTS.find(([l]) => l === list)?.[1] ?? 'container'} ${name !== undefined ? q(name) : `#${String(segments[segments.length - 2])}`}`
        : name !== undefined
          ? `${q(name)} (${dotted(segments, false)})`
          : dotted(segments, false);
      return { holder, key: x.key, segments, container: label, isContainer };
    }),
  );
}
