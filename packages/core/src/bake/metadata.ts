/**
 * Image tags and OCI labels from git metadata, with docker/metadata-action's rules written out (issue #11, item 2).
 *
 * - {@link gitContext} reads the CI's variables into one shape for GitHub, GitLab and a terminal
 *   (metadata-context.ts);
 * - {@link parseTagRules} / {@link parseFlavor} read the `tags` and `flavor` inputs, checking every rule when it
 *   is read (metadata-rules.ts has the grammar);
 * - {@link computeTags} applies the rules to a context; {@link ociLabels} fills the `org.opencontainers.image.*`
 *   labels; {@link imageMetadata} does all three and gives the JSON object the action outputs.
 *
 * How tags are computed (metadata-action's `Meta.getVersion`):
 * 1. Rules are sorted by priority, highest first; rules of equal priority keep the order they were written in.
 * 2. Each enabled rule that applies to the context gives at most one tag: its value with the rule's prefix and
 *    suffix (or else the flavor's), sanitised. A rule that gives nothing (a branch rule on a tag, an empty value)
 *    is skipped.
 * 3. The first tag is the `version` (the `org.opencontainers.image.version` label); duplicates are dropped.
 * 4. `latest` is decided by the first rule that gave a tag: with `latest=auto` it is added when that rule is
 *    `type=semver` on a release version, or `type=ref,event=tag` / `type=match` on a git tag (or value) that is a
 *    release version — `v1.2.3`, not `v2.0.0-rc.1` nor a tag that is not a version. (metadata-action adds it for
 *    any git tag with these two; Kiln keeps `latest` for releases.) `latest=true` always adds it, `latest=false`
 *    never; `type=raw,value=latest` adds it too, as a tag like any other.
 *
 * Sanitising: every run of characters other than letters, digits, `.`, `_` and `-` becomes one `-`
 * (`feature/login` → `feature-login`), leading `.` and `-` are dropped, and the tag is cut at 128 characters: a
 * tag is always valid for a registry ({@link isValidTag}).
 */
import { isValidTag, MAX_TAG_LENGTH } from '../image/reference.js';
import type { GitContext } from './metadata-context.js';
import { parseFlavor, parseTagRules, type Flavor, type TagRule } from './metadata-rules.js';
import {
  isReleaseVersion,
  isSingleExpression,
  parseSemVer,
  renderTemplate,
  type Template,
  type TemplateScope,
} from './metadata-template.js';

export * from './metadata-context.js';
export {
  DEFAULT_PRIORITIES,
  DEFAULT_TAG_RULES,
  GLOBAL_EXPRESSIONS,
  parseFlavor,
  parseTagRules,
  type Flavor,
  type RefEvent,
  type RuleType,
  type TagRule,
} from './metadata-rules.js';
export { formatDate, isReleaseVersion, parseSemVer, type SemVer } from './metadata-template.js';

/** The flavor when none is given: `latest=auto`, no prefix, no suffix. */
export const DEFAULT_FLAVOR: Flavor = Object.freeze({
  latest: 'auto',
  prefixLatest: false,
  suffixLatest: false,
});

/** Length of `sha-<short>` and of {{sha}} (metadata-action's default). */
export const SHORT_SHA_LENGTH = 7;

export interface TagsResult {
  /** Tag names (no repository), highest priority first, `latest` last when added. */
  tags: string[];
  /** The first tag ('' when no rule gave one): what metadata-action calls the version. */
  version: string;
  latest: boolean;
  /** Rules that could not apply (a semver rule on a tag that is not a version, …): for the action to log. */
  warnings: string[];
}

/** Applies parsed rules to a context (the module comment says how). `now` is the time {{date}} renders. */
export function computeTags(
  ctx: GitContext,
  rules: readonly TagRule[],
  flavor: Flavor = DEFAULT_FLAVOR,
  options: { now?: Date } = {},
): TagsResult {
  const warnings: string[] = [];
  const scope: TemplateScope = {
    values: {
      branch: ctx.branch ?? '',
      tag: ctx.tag ?? '',
      sha: ctx.sha ? shortSha(ctx.sha) : '',
      base_ref: ctx.refType === 'pr' || ctx.refType === 'tag' ? (ctx.baseBranch ?? '') : '',
      is_default_branch: String(ctx.isDefaultBranch),
      is_not_default_branch: String(!ctx.isDefaultBranch),
    },
    now: options.now ?? new Date(),
    commitDate: ctx.commitDate !== undefined ? new Date(ctx.commitDate) : undefined,
  };
  const render = (t: Template | undefined): string => (t === undefined ? '' : renderTemplate(t, scope));

  const tags: string[] = [];
  let latest: boolean | undefined;
  // Array.prototype.sort is stable: equal priorities keep their written order.
  const sorted = [...rules].sort((a, b) => b.priority - a.priority);
  for (const rule of sorted) {
    if (!isEnabled(rule, ctx)) continue;
    const got = ruleValue(rule, ctx, render, warnings);
    if (got === undefined || got.value === '') continue;
    const prefix = rule.prefix !== undefined ? render(rule.prefix) : render(flavor.prefix);
    const suffix = rule.suffix !== undefined ? render(rule.suffix) : render(flavor.suffix);
    const written = `${prefix}${got.value}${suffix}`;
    const whole = sanitizeUncut(written);
    const tag = whole.slice(0, MAX_TAG_LENGTH);
    if (tag === '' || !isValidTag(tag)) {
      warnings.push(`${where(rule)} gave '${written}', which is no tag once sanitised; skipped`);
      continue;
    }
    if (whole.length > MAX_TAG_LENGTH) {
      warnings.push(`${where(rule)}: the tag is cut at ${MAX_TAG_LENGTH} characters: '${tag}'`);
    }
    if (!tags.includes(tag)) tags.push(tag);
    latest ??= flavor.latest === 'auto' ? got.latest : flavor.latest === 'true';
  }
  const version = tags[0] ?? '';
  if (latest === true) {
    const name = sanitizeTag(
      `${flavor.prefixLatest ? render(flavor.prefix) : ''}latest${flavor.suffixLatest ? render(flavor.suffix) : ''}`,
    );
    if (name !== '' && !tags.includes(name)) tags.push(name);
  }
  return { tags, version, latest: latest === true, warnings };
}

function where(rule: TagRule): string {
  return `tags line ${rule.line} '${rule.text}'`;
}

function isEnabled(rule: TagRule, ctx: GitContext): boolean {
  switch (rule.enable) {
    case 'is_default_branch':
      return ctx.isDefaultBranch;
    case 'is_not_default_branch':
      return !ctx.isDefaultBranch;
    default:
      return rule.enable;
  }
}

/** What one rule gives for the context before prefix/suffix, and whether it calls for `latest` under auto. */
function ruleValue(
  rule: TagRule,
  ctx: GitContext,
  render: (t: Template | undefined) => string,
  warnings: string[],
): { value: string; latest: boolean } | undefined {
  switch (rule.type) {
    case 'schedule':
      return ctx.event === 'schedule' ? { value: render(rule.pattern), latest: false } : undefined;
    case 'semver': {
      if (ctx.refType !== 'tag' && rule.value === undefined) return undefined;
      let raw = rule.value !== undefined ? render(rule.value) : (ctx.tag ?? '');
      if (rule.match !== undefined) {
        const m = rule.match.exec(raw);
        if (!m || m[1] === undefined) {
          warnings.push(
            `${where(rule)}: match=${rule.match.source} does not match '${raw}'; the whole value is used`,
          );
        } else {
          raw = m[1];
        }
      }
      raw = raw.replace(/\//g, '-');
      const v = parseSemVer(raw);
      if (v === undefined) {
        warnings.push(
          `${where(rule)}: '${raw}' is not a semantic version (https://semver.org); no tag from this rule`,
        );
        return undefined;
      }
      const values = {
        raw: v.raw,
        version: v.version,
        major: String(v.major),
        minor: String(v.minor),
        patch: String(v.patch),
      };
      if (v.prerelease.length > 0) {
        // A prerelease only ever gets its full version: 2.0.0-rc.1 must not move '2' or '2.0'.
        return { value: isSingleExpression(rule.pattern, 'raw') ? v.raw : v.version, latest: false };
      }
      return { value: renderTemplate(rule.pattern, { values }), latest: true };
    }
    case 'match': {
      if (ctx.refType !== 'tag' && rule.value === undefined) return undefined;
      const raw = rule.value !== undefined ? render(rule.value) : (ctx.tag ?? '');
      const m = rule.pattern.exec(raw);
      if (!m) {
        warnings.push(
          `${where(rule)}: pattern ${rule.pattern.source} does not match '${raw}'; no tag from this rule`,
        );
        return undefined;
      }
      const value = m[rule.group];
      if (value === undefined) {
        warnings.push(`${where(rule)}: group ${rule.group} did not take part in the match on '${raw}'`);
        return undefined;
      }
      return { value, latest: isReleaseVersion(raw) };
    }
    case 'edge': {
      if (ctx.refType !== 'branch') return undefined;
      const target = rule.branch ?? ctx.defaultBranch;
      if (target === undefined) {
        warnings.push(`${where(rule)}: the default branch is not known; give type=edge,branch=<name>`);
        return undefined;
      }
      return ctx.branch === target ? { value: 'edge', latest: false } : undefined;
    }
    case 'ref':
      switch (rule.event) {
        case 'branch':
          return ctx.refType === 'branch' ? { value: ctx.branch ?? '', latest: false } : undefined;
        case 'tag':
          return ctx.refType === 'tag'
            ? { value: ctx.tag ?? '', latest: isReleaseVersion(ctx.tag ?? '') }
            : undefined;
        case 'pr':
          return ctx.refType === 'pr' && ctx.prNumber !== undefined
            ? { value: String(ctx.prNumber), latest: false }
            : undefined;
      }
      return undefined;
    case 'raw':
      return { value: render(rule.value), latest: false };
    case 'sha':
      if (!ctx.sha) return undefined;
      return { value: rule.format === 'long' ? ctx.sha : shortSha(ctx.sha), latest: false };
  }
}

/** The first {@link SHORT_SHA_LENGTH} characters of a commit sha. */
export function shortSha(sha: string): string {
  return sha.slice(0, SHORT_SHA_LENGTH);
}

/**
 * A string made into a valid tag (module comment): invalid runs → `-`, no leading `.`/`-`, at most 128 characters.
 * '' when nothing is left.
 */
export function sanitizeTag(s: string): string {
  return sanitizeUncut(s).slice(0, MAX_TAG_LENGTH);
}

function sanitizeUncut(s: string): string {
  return s.replace(/[^a-zA-Z0-9._-]+/g, '-').replace(/^[.-]+/, '');
}

// ---------------------------------------------------------------------------------------------------------------
// Labels and the metadata object

export const OCI_LABEL_PREFIX = 'org.opencontainers.image.';

/**
 * The standard OCI labels (image-spec annotations.md) from the context, sorted by key, without the ones whose
 * value is unknown: source and url (the repository's address), revision (the full commit sha), created
 * ({@link GitContext.createdAt}), version (the first tag), title (the repository name), licenses and description
 * (the inputs, else what the platform says).
 */
export function ociLabels(ctx: GitContext, version: string): Record<string, string> {
  const p = OCI_LABEL_PREFIX;
  return sortedLabels({
    [`${p}created`]: ctx.createdAt,
    [`${p}description`]: ctx.description,
    [`${p}licenses`]: ctx.licenses,
    [`${p}revision`]: ctx.sha,
    [`${p}source`]: ctx.repoUrl,
    [`${p}title`]: ctx.repoName,
    [`${p}url`]: ctx.repoUrl,
    [`${p}version`]: version,
  });
}

function sortedLabels(labels: Record<string, string | undefined>): Record<string, string> {
  const entries = Object.entries(labels).filter(
    (e): e is [string, string] => e[1] !== undefined && e[1] !== '',
  );
  return Object.fromEntries(entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

export interface MetadataOptions {
  /** The `tags` input (empty: {@link DEFAULT_TAG_RULES}). */
  tags?: string | readonly string[];
  /** The `flavor` input. */
  flavor?: string | readonly string[];
  /** Labels to add or replace (an empty value removes a label). */
  labels?: Readonly<Record<string, string>>;
  /** The time {{date}} renders (default: now). */
  now?: Date;
}

/** What the action outputs as `json`: tags, labels, version and a summary of the context. */
export interface MetadataJson {
  tags: string[];
  version: string;
  latest: boolean;
  labels: Record<string, string>;
  context: Pick<
    GitContext,
    | 'platform'
    | 'event'
    | 'ref'
    | 'refType'
    | 'branch'
    | 'tag'
    | 'prNumber'
    | 'sha'
    | 'commitSha'
    | 'defaultBranch'
    | 'isDefaultBranch'
    | 'repoUrl'
    | 'createdAt'
    | 'createdFrom'
  >;
}

export interface ImageMetadata extends TagsResult {
  labels: Record<string, string>;
  /** The JSON object for the action's output (no warnings: those are logged). */
  json: MetadataJson;
}

/**
 * Tags, labels and the JSON object for a context and the `tags`/`flavor` inputs. Throws an InputError naming
 * `tags` or `flavor` and the line for a malformed rule.
 */
export function imageMetadata(ctx: GitContext, options: MetadataOptions = {}): ImageMetadata {
  const rules = parseTagRules(options.tags ?? '');
  const flavor = options.flavor !== undefined ? parseFlavor(options.flavor) : DEFAULT_FLAVOR;
  const result = computeTags(ctx, rules, flavor, { now: options.now });
  const labels = sortedLabels({ ...ociLabels(ctx, result.version), ...options.labels });
  const context: MetadataJson['context'] = {
    platform: ctx.platform,
    event: ctx.event,
    ref: ctx.ref,
    refType: ctx.refType,
    branch: ctx.branch,
    tag: ctx.tag,
    prNumber: ctx.prNumber,
    sha: ctx.sha,
    commitSha: ctx.commitSha,
    defaultBranch: ctx.defaultBranch,
    isDefaultBranch: ctx.isDefaultBranch,
    repoUrl: ctx.repoUrl,
    createdAt: ctx.createdAt,
    createdFrom: ctx.createdFrom,
  };
  for (const k of Object.keys(context) as (keyof typeof context)[]) {
    if (context[k] === undefined) delete context[k];
  }
  return {
    ...result,
    labels,
    warnings: [...ctx.warnings, ...result.warnings],
    json: { tags: result.tags, version: result.version, latest: result.latest, labels, context },
  };
}
