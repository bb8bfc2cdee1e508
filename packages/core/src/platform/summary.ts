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
  | { kind: 'code'; text: string; lang?: string; wrap?: number }
  | { kind: 'details'; summary: string; body: Summary };

/** GitHub caps one step's summary at 1 MiB. */
export const SUMMARY_LIMIT = 1024 * 1024;

function cellText(c: Cell): string {
  return c === undefined || c === null ? '' : String(c);
}

// eslint-disable-next-line no-control-regex
const ANSI = /\x1b\[[0-9;]*[A-Za-z]/g;

/** Text without ANSI colour/cursor sequences. */
export function stripAnsi(text: string): string {
  return text.replace(ANSI, '');
}

const ZERO_WIDTH = /[\p{Mn}\p{Me}\p{Cf}\u{FE00}-\u{FE0F}]/u;
const WIDE =
  /[\p{Emoji_Presentation}\u{1100}-\u{115F}\u{2E80}-\u{A4CF}\u{AC00}-\u{D7A3}\u{F900}-\u{FAFF}\u{FE30}-\u{FE4F}\u{FF00}-\u{FF60}\u{FFE0}-\u{FFE6}\u{20000}-\u{3FFFD}]/u;
const PICTOGRAPHIC = /\p{Extended_Pictographic}/u;

/**
 * Columns a string takes in a terminal: ANSI sequences take none, combining marks and variation selectors none,
 * emoji (`✅`, and `⚠️` with its emoji selector) and East Asian wide characters two.
 */
export function displayWidth(text: string): number {
  const chars = [...stripAnsi(text)];
  let w = 0;
  for (let i = 0; i < chars.length; i++) {
    const c = chars[i] as string;
    if (ZERO_WIDTH.test(c)) continue;
    w += WIDE.test(c) || (PICTOGRAPHIC.test(c) && chars[i + 1] === '\u{FE0F}') ? 2 : 1;
  }
  return w;
}

/** Cut one word into pieces of at most `width` columns. */
function breakWord(word: string, width: number): string[] {
  const out: string[] = [];
  let piece = '';
  for (const c of word) {
    if (piece && displayWidth(piece + c) > width) {
      out.push(piece);
      piece = '';
    }
    piece += c;
  }
  if (piece) out.push(piece);
  return out;
}

/**
 * A log line fitted to a terminal `width`: wrapped at spaces with a hanging indent, its own indentation kept, and
 * a word never cut (a digest or URL longer than the width stays whole on its own line, copyable). Colour codes do
 * not count towards the width.
 */
export function fitLine(line: string, width: number, hang = 4): string {
  const w = Math.max(20, Math.floor(width));
  const visible = (t: string) => displayWidth(stripAnsi(t));
  if (visible(line) <= w) return line;
  const lead = /^\s*/.exec(line)?.[0] ?? '';
  const pad = lead + ' '.repeat(hang);
  const out: string[] = [];
  let current = lead;
  let empty = true;
  // Words and the runs of spaces between them: the spacing is kept inside a line, dropped where it wraps.
  const tokens = line.slice(lead.length).split(/( +)/);
  for (let i = 0; i < tokens.length; i += 2) {
    const word = tokens[i] ?? '';
    const gap = tokens[i - 1] ?? '';
    if (!empty && visible(current + gap + word) > w) {
      out.push(current);
      current = pad + word;
    } else {
      current = empty ? current + word : current + gap + word;
    }
    empty = false;
  }
  out.push(current);
  return out.join('\n');
}

/**
 * Word-wrap `text` (white space collapsed) into lines of at most `width` columns; a word longer than a line is
 * cut into pieces. Returns at least one (possibly empty) line.
 */
export function wrapText(text: string, width: number): string[] {
  const w = Math.max(1, Math.floor(width));
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(/\s+/).filter(Boolean)) {
    const pieces = displayWidth(word) > w ? breakWord(word, w) : [word];
    for (const p of pieces) {
      if (line && displayWidth(line) + 1 + displayWidth(p) > w) {
        lines.push(line);
        line = p;
      } else line = line ? `${line} ${p}` : p;
    }
  }
  lines.push(line);
  return lines;
}

/**
 * `text` in at most `max` characters: a longer one keeps its start and end around `…`
 * (`registry.example.com/team/…/app:1.0`), so a reader still recognises it; the full value goes elsewhere.
 */
export function shortenMiddle(text: string, max: number): string {
  const chars = [...text];
  if (chars.length <= max) return text;
  const head = Math.ceil((max - 1) / 2);
  const tail = max - 1 - head;
  return `${chars.slice(0, head).join('')}…${tail > 0 ? chars.slice(-tail).join('') : ''}`;
}

/**
 * Lines longer than `width` columns broken (no `width`: as they are), at the last space that fits when there is one,
 * so a word (a URL, an escape shown as `\x1b]0;…`) stays whole unless it is itself longer than a line.
 */
function breakLines(text: string, width: number | undefined): string {
  if (width === undefined) return text;
  const w = Math.max(1, width);
  return text
    .split('\n')
    .flatMap((line) => {
      const out: string[] = [];
      let rest = line;
      while (displayWidth(rest) > w) {
        const chars = [...rest];
        let used = 0;
        let n = 0;
        while (n < chars.length && used + displayWidth(chars[n] as string) <= w)
          used += displayWidth(chars[n++] as string);
        const head = chars.slice(0, Math.max(1, n)).join('');
        const space = head.lastIndexOf(' ');
        const at = space > 0 ? space + 1 : head.length;
        out.push(rest.slice(0, at).trimEnd());
        rest = rest.slice(at);
      }
      out.push(rest);
      return out;
    })
    .join('\n');
}

/** `text` padded with spaces to `width` columns. */
function padTo(text: string, width: number): string {
  return text + ' '.repeat(Math.max(0, width - displayWidth(text)));
}

/** Escape text for inline markdown: no HTML, no table breaks, no stray emphasis from user values. */
export function escapeMarkdown(text: string): string {
  return (
    text
      // Only an `&` that would start a character reference needs escaping; a bare one (a URL's query) stays as is,
      // so an autolinked URL keeps its `&`.
      .replace(/&(?=#?[A-Za-z0-9]+;)/g, '&amp;')
      .replace(/</g, '&lt;')
      .replace(/>/g, '&gt;')
      .replace(/([\\`*_[\]|])/g, '\\$1')
      .replace(/\r?\n/g, ' ')
  );
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
  /**
   * Literal text. With `wrap`, lines longer than that many columns are broken (in a terminal, at its width too):
   * for an excerpt read by a person (a response body), never for what is meant to be copied.
   */
  code(text: string, lang?: string, opts: { wrap?: number } = {}): this {
    this.blocks.push({ kind: 'code', text, lang, wrap: opts.wrap });
    return this;
  }
  /** Another summary's blocks, after this one's (an action that runs another's engine puts its own headline first). */
  append(other: Summary): this {
    this.blocks.push(...other.blocks);
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

  /**
   * Plain text for a log or a terminal. With `width`, paragraphs, lists, headings and tables fit in that many
   * columns: text wraps, a table too wide wraps its widest columns, and one with too many columns for the width
   * is shown one row at a time (`Header: value`). Code stays as written (it is meant to be copied).
   */
  toText(redact: (text: string) => string = (t) => t, width?: number): string {
    return redact(this.blocks.map((b) => blockText(b, width)).join('\n\n'));
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
      const text = breakLines(redact(b.text), b.wrap);
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

function blockText(b: Block, width?: number): string {
  const wrap = (text: string, indent = 0): string[] =>
    width === undefined ? [text] : wrapText(text, width - indent);
  switch (b.kind) {
    case 'heading': {
      if (b.level > 2) return wrap(`${b.text}:`).join('\n');
      const lines = wrap(b.text);
      const under = Math.max(...lines.map(displayWidth));
      return `${lines.join('\n')}\n${(b.level === 1 ? '=' : '-').repeat(under)}`;
    }
    case 'paragraph':
      return wrap(b.text).join('\n');
    case 'list':
      return b.items.map((i) => `  • ${wrap(i, 4).join('\n    ')}`).join('\n');
    case 'code':
      // Marked for wrapping: broken at that width. Otherwise, in a terminal, wrapped at spaces only, so a word
      // (an image, a digest) is never cut.
      return breakLines(b.text, b.wrap === undefined ? undefined : Math.min(b.wrap, (width ?? Infinity) - 4))
        .split('\n')
        .map((l) => (b.wrap === undefined && width !== undefined ? fitLine(`    ${l}`, width) : `    ${l}`))
        .join('\n');
    case 'table':
      return tableText(
        b.header,
        b.rows.map((r) => b.header.map((_, i) => cellText(r[i]).replace(/\s+/g, ' '))),
        width,
      );
    case 'details':
      return `${wrap(b.summary).join('\n')}\n${b.body.toText(undefined, width)}`;
  }
}

const GAP = 2;
/** A column is never squeezed below this many columns (or its natural width, if smaller). */
const MIN_COLUMN = 8;

/** Columns padded to their widest cell; too wide for `width`: the widest columns wrap, or one row at a time. */
function tableText(header: string[], body: string[][], width?: number): string {
  const rows = [header, ...body];
  const natural = header.map((_, i) => Math.max(...rows.map((r) => displayWidth(r[i] ?? ''))));
  const widths = [...natural];
  const gaps = GAP * (widths.length - 1);
  const total = (): number => widths.reduce((a, b) => a + b, 0) + gaps;
  const sum = (ws: number[]): number => ws.reduce((a, b) => a + b, 0) + gaps;
  /** Take columns from the widest column that is still above its floor, until the table fits. */
  const squeeze = (floors: number[]): void => {
    while (width !== undefined && total() > width) {
      let widest = -1;
      for (let i = 0; i < widths.length; i++)
        if (
          (widths[i] as number) > (floors[i] as number) &&
          (widest < 0 || (widths[i] as number) > (widths[widest] as number))
        )
          widest = i;
      if (widest < 0) return;
      widths[widest] = (widths[widest] as number) - 1;
    }
  };
  if (width !== undefined && total() > width) {
    // First wrap between words only (a column keeps its longest word whole), then break words too.
    const words = header.map((_, i) =>
      Math.max(...rows.flatMap((r) => (r[i] ?? '').split(' ').map(displayWidth))),
    );
    const soft = natural.map((n, i) => Math.min(n, Math.max(MIN_COLUMN, words[i] as number)));
    const hard = natural.map((n) => Math.min(n, MIN_COLUMN));
    if (sum(hard) > width) return recordText(header, body, width);
    squeeze(soft);
    squeeze(hard);
  }
  const line = (r: string[]): string => {
    const cells = r.map((c, i) => (width === undefined ? [c] : wrapText(c, widths[i] as number)));
    const height = Math.max(...cells.map((c) => c.length));
    const out: string[] = [];
    for (let k = 0; k < height; k++)
      out.push(
        cells
          .map((c, i) => padTo(c[k] ?? '', widths[i] as number))
          .join(' '.repeat(GAP))
          .trimEnd(),
      );
    return out.join('\n');
  };
  return [line(header), widths.map((w) => '-'.repeat(w)).join(' '.repeat(GAP)), ...body.map(line)].join('\n');
}

/** A table shown one row at a time: `Header: value`, wrapped, a blank line between rows. */
function recordText(header: string[], body: string[][], width: number): string {
  return body
    .map((r) =>
      header
        .map((h, i) => {
          const [first, ...rest] = wrapText(`${h}: ${r[i] ?? ''}`, width - 4);
          return [`  ${first}`, ...rest.map((l) => `    ${l}`)].join('\n');
        })
        .join('\n'),
    )
    .join('\n\n');
}
