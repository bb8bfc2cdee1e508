/**
 * What Kiln's YAML readers (smoke-test checks files, Kubernetes manifests, kubeconfigs) share once the `yaml`
 * package has parsed a document: the first error as a position and a short phrase, and the data with aliases capped
 * (a "billion laughs" file would expand to gigabytes) and too deep a nesting turned into a phrase. Each reader puts
 * these into its own one-line message (a file and line, a document number, a kubeconfig's source). Types only are
 * imported, so loading this costs nothing before a reader has loaded the parser.
 */
import type { Document, YAMLError } from 'yaml';

/** How many aliases a document may expand before Kiln refuses it. */
export const MAX_ALIASES = 100;

export interface YamlProblem {
  line?: number;
  col?: number;
  /** A short phrase: `duplicate key`, `it is nested too deeply`, the parser's first line without its position. */
  what: string;
}

/** The parser's error as a position and a phrase (`duplicate` names a repeated key, as the reader words it). */
export function yamlProblem(error: YAMLError, o: { duplicate?: string } = {}): YamlProblem {
  const lp = error.linePos?.[0];
  const what =
    error.code === 'DUPLICATE_KEY'
      ? (o.duplicate ?? 'duplicate key')
      : error.code === 'RESOURCE_EXHAUSTION'
        ? 'it is nested too deeply'
        : (error.message.split('\n')[0] ?? '').replace(/ at line \d+, column \d+:?$/, '');
  return { ...(lp ? { line: lp.line, col: lp.col } : {}), what };
}

/** `:3:7` for a problem with a position, '' without. */
export function yamlAt(p: YamlProblem): string {
  return p.line ? `:${p.line}:${p.col ?? 1}` : '';
}

/**
 * The document's data, or the phrase saying why it cannot be had (thrown as an Error whose message is the phrase):
 * more than `maxAliasCount` alias expansions, or a nesting too deep for the stack.
 */
export function yamlData(doc: Document.Parsed | Document, maxAliasCount = MAX_ALIASES): unknown {
  try {
    return doc.toJS({ maxAliasCount }) as unknown;
  } catch (e) {
    throw new Error(
      e instanceof RangeError
        ? 'it is nested too deeply'
        : /alias/i.test((e as Error).message)
          ? `it expands too many aliases (more than ${maxAliasCount})`
          : (e as Error).message,
    );
  }
}
