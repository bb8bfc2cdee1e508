import { neutralise } from './neutralise.js';

/**
 * A small job-summary builder. It renders to GitHub-flavoured markdown (GITHUB_STEP_SUMMARY, kiln-summary.md)
 * and to plain text for a terminal or a GitLab log, from the same blocks.
 */
export type Cell = string | number | boolean | undefined | null;

type Block =
  | { kind: 'heading'; text: string; level: number }
  | { kind: 'paragraph'; text: string }
  | { kind: 'table'; header: string[]; rows: Cell[][] }
  | { kind: 'list'; items: string[] }
  | { kind: 'code'; text: string; lang?: string }
  | { kind: 'details'; summary: string; body: Summary };

/** GitHub caps one step's summary at 1 MiB. */
export const SUMMARY_LIMIT = 1024 * 1024;

function cellText(c: Cell): string {
  return c === undefined || c === null ? '' : String(c);
}

/** Escape text for inline markdown: no HTML, no table breaks, no stray emphasis from user values. */
export function escapeMarkdown(text: string): string {
  return text
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/([\\`*_[\]|])/g, '\\$1')
    .replace(/\r?\n/g, ' ');
}

export class Summary {
  private readonly blocks: Block[] = [];

  get isEmpty(): boolean {
    return this.blocks.length === 0;
  }

  heading(text: string, level = 2): this {
    this.blocks.push({ kind: 'heading', text, level: Math.min(Math.max(level, 1), 6) });
    return this;
  }
  /** Text is escaped; use {@link code} for literal output. */
  paragraph(text: string): this {
    this.blocks.push({ kind: 'paragraph', text });
    return this;
  }
  table(header: string[], rows: Cell[][]): this {
    this.blocks.push({ kind: 'table', header, rows });
    return this;
  }
  list(items: string[]): this {
    this.blocks.push({ kind: 'list', items });
    return this;
  }
  code(text: string, lang?: string): this {
    this.blocks.push({ kind: 'code', text, lang });
    return this;
  }
  details(summary: string, build: (s: Summary) => void): this {
    const body = new Summary();
    build(body);
    this.blocks.push({ kind: 'details', summary, body });
    return this;
  }

  /**
   * Markdown. `redact` is applied to every text *before* it is escaped: a secret with `_`, `*`, `&`, `<` or `|`
   * in it would otherwise reach the page in its escaped form, which redacting the finished markdown cannot find.
   */
  toMarkdown(redact: (text: string) => string = (t) => t): string {
    return this.blocks.map((b) => blockMarkdown(b, redact)).join('\n') + (this.blocks.length ? '\n' : '');
  }

  toText(redact: (text: string) => string = (t) => t): string {
    return redact(this.blocks.map((b) => blockText(b)).join('\n'));
  }
}

function fence(text: string): string {
  let f = '```';
  while (text.includes(f)) f += '`';
  return f;
}

function blockMarkdown(b: Block, clean: (text: string) => string): string {
  // Redacted first (a secret is found before escaping changes it), neutralised (no control character reaches a
  // file people `cat` or a page), then escaped.
  const redact = (text: string): string => neutralise(clean(text));
  const md = (text: string): string => escapeMarkdown(redact(text));
  switch (b.kind) {
    case 'heading':
      return `${'#'.repeat(b.level)} ${md(b.text)}\n`;
    case 'paragraph':
      return `${md(b.text)}\n`;
    case 'list':
      return b.items.map((i) => `- ${md(i)}`).join('\n') + '\n';
    case 'code': {
      const text = redact(b.text);
      const f = fence(text);
      return `${f}${b.lang ?? ''}\n${text}\n${f}\n`;
    }
    case 'table': {
      const head = `| ${b.header.map(md).join(' | ')} |`;
      const sep = `| ${b.header.map(() => '---').join(' | ')} |`;
      const rows = b.rows.map((r) => `| ${b.header.map((_, i) => md(cellText(r[i]))).join(' | ')} |`);
      return [head, sep, ...rows].join('\n') + '\n';
    }
    case 'details':
      return `<details><summary>${md(b.summary)}</summary>\n\n${b.body.toMarkdown(clean)}\n</details>\n`;
  }
}

function blockText(b: Block): string {
  switch (b.kind) {
    case 'heading':
      return b.level <= 2 ? `${b.text}\n${(b.level === 1 ? '=' : '-').repeat(b.text.length)}` : `${b.text}:`;
    case 'paragraph':
      return b.text;
    case 'list':
      return b.items.map((i) => `  • ${i}`).join('\n');
    case 'code':
      return b.text
        .split('\n')
        .map((l) => `    ${l}`)
        .join('\n');
    case 'table': {
      const rows = [
        b.header,
        ...b.rows.map((r) => b.header.map((_, i) => cellText(r[i]).replace(/\s+/g, ' '))),
      ];
      const widths = b.header.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
      const line = (r: string[]) =>
        r
          .map((c, i) => c.padEnd(widths[i] ?? 0))
          .join('  ')
          .trimEnd();
      return [
        line(rows[0] as string[]),
        widths.map((w) => '-'.repeat(w)).join('  '),
        ...rows.slice(1).map(line),
      ].join('\n');
    }
    case 'details':
      return `${b.summary}\n${b.body.toText()}`;
  }
}
