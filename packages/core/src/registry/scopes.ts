/**
 * Token scopes (distribution `docs/spec/auth/scope.md`): `type[(class)]:name:action[,action…]`, e.g.
 * `repository:team/app:pull,push`. The name may contain colons, so the actions are what follows the last one.
 *
 * Kiln asks for every scope an operation needs in ONE token request (`scope=…&scope=…`): a promote needs
 * `repository:<dst>:pull,push` and `repository:<src>:pull` (to read, and to mount from, the source). Push scopes
 * are listed first, because some token servers only honour the first scope. Actions are written in a stable
 * order (pull, push, then the rest), so equal sets give equal strings and equal cache keys.
 */

export interface Scope {
  /** 'repository', 'registry', optionally with a class: 'repository(plugin)'. */
  type: string;
  name: string;
  actions: string[];
}

const ACTION_ORDER = ['pull', 'push', 'delete'];

function sortActions(actions: Iterable<string>): string[] {
  const unique = [...new Set(actions)].filter(Boolean);
  const rank = (a: string) => {
    const i = ACTION_ORDER.indexOf(a);
    return i < 0 ? ACTION_ORDER.length : i;
  };
  return unique.sort((a, b) => rank(a) - rank(b) || (a < b ? -1 : a > b ? 1 : 0));
}

/** Parses one scope string; undefined when it is not `type:name:actions`. */
export function parseScope(scope: string): Scope | undefined {
  const first = scope.indexOf(':');
  const last = scope.lastIndexOf(':');
  if (first <= 0 || last === first) return undefined;
  const name = scope.slice(first + 1, last);
  if (!name) return undefined;
  return { type: scope.slice(0, first), name, actions: sortActions(scope.slice(last + 1).split(',')) };
}

export function formatScope(scope: Scope): string {
  return `${scope.type}:${scope.name}:${sortActions(scope.actions).join(',')}`;
}

/** `repository:<name>:<actions>`. */
export function repositoryScope(name: string, ...actions: string[]): Scope {
  return { type: 'repository', name, actions: sortActions(actions) };
}

/** Scope strings from a challenge's `scope` parameter (space-separated). */
export function parseScopeList(value: string | undefined): Scope[] {
  if (!value) return [];
  return value
    .split(/\s+/)
    .map(parseScope)
    .filter((s): s is Scope => s !== undefined);
}

/** A set of scopes, merged per resource (type + name), remembering the order resources were added. */
export class ScopeSet {
  private readonly entries = new Map<string, Scope>();

  constructor(scopes: Iterable<Scope | string> = []) {
    for (const s of scopes) this.add(s);
  }

  /** Adds a scope; returns true when the set grew (a new resource or a new action). */
  add(scope: Scope | string): boolean {
    const s = typeof scope === 'string' ? parseScope(scope) : scope;
    if (!s) return false;
    const key = `${s.type}\u0000${s.name}`;
    const existing = this.entries.get(key);
    if (!existing) {
      this.entries.set(key, { type: s.type, name: s.name, actions: sortActions(s.actions) });
      return true;
    }
    const merged = sortActions([...existing.actions, ...s.actions]);
    if (merged.length === existing.actions.length) return false;
    existing.actions = merged;
    return true;
  }

  addAll(scopes: Iterable<Scope | string>): boolean {
    let grew = false;
    for (const s of scopes) grew = this.add(s) || grew;
    return grew;
  }

  /** True when every action of every scope in `scopes` is in this set (`*` covers everything). */
  covers(scopes: Iterable<Scope>): boolean {
    for (const s of scopes) {
      const mine = this.entries.get(`${s.type}\u0000${s.name}`);
      if (!mine) return false;
      if (mine.actions.includes('*')) continue;
      if (!s.actions.every((a) => mine.actions.includes(a))) return false;
    }
    return true;
  }

  get size(): number {
    return this.entries.size;
  }

  scopes(): Scope[] {
    return [...this.entries.values()].map((s) => ({ ...s, actions: [...s.actions] }));
  }

  /** Scope strings for a token request: those with `push` (or `*`) first, otherwise in insertion order. */
  toStrings(): string[] {
    const all = [...this.entries.values()];
    const writes = all.filter((s) => s.actions.includes('push') || s.actions.includes('*'));
    const reads = all.filter((s) => !writes.includes(s));
    return [...writes, ...reads].map(formatScope);
  }

  /** A stable key of the set's content (order-independent). */
  key(): string {
    return [...this.entries.values()].map(formatScope).sort().join(' ');
  }

  clone(): ScopeSet {
    return new ScopeSet(this.scopes());
  }
}
