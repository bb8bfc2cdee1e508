/**
 * `npm run screenshots`: a picture of every kind of job summary, as GitHub shows it, in docs/screenshots/<kind>.png.
 *
 * The summaries are rendered from realistic results (test/fixtures/summaries.ts, which the width test shares),
 * converted the way GitHub does (GitHub Flavored Markdown, by `marked` with gfm), put in a page styled like the job
 * summary pane (900 px wide, GitHub's font stack, table borders and stripes, `<details>` closed), and photographed
 * with headless Chromium (Debian's `chromium`, or the binary named by CHROMIUM): once to measure the page's
 * height, once to take the picture at that height.
 *
 *   npm run screenshots                                   # every kind, into docs/screenshots/
 *   npx tsx scripts/screenshots.ts [--out DIR] [kind ...]   # some kinds (hostile variants too: smoke-many, …)
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { marked } from 'marked';
import {
  renderSummary,
  SUMMARY_KINDS,
  type HostileKind,
  type SummaryKind,
} from '../test/fixtures/summaries.js';

type Kind = SummaryKind | HostileKind;

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
let outDir = join(root, 'docs', 'screenshots');
const chromium = process.env.CHROMIUM ?? 'chromium';
const WIDTH = 900;

/** GitHub's markdown styles (primer's markdown-body), as far as a job summary uses them. */
const CSS = `
html, body { margin: 0; background: #ffffff; }
body { width: ${WIDTH}px; }
.pane { border: 1px solid #d1d9e0; border-radius: 6px; overflow: hidden; }
.pane-head { padding: 12px 16px; border-bottom: 1px solid #d1d9e0; background: #f6f8fa; color: #1f2328;
  font: 600 14px/1.5 -apple-system, BlinkMacSystemFont, "Segoe UI", "Noto Sans", Helvetica, Arial, sans-serif; }
.markdown-body { padding: 16px 16px 0; color: #1f2328; background: #ffffff; font-size: 14px; line-height: 1.5;
  font-family: -apple-system, BlinkMacSystemFont, "Segoe UI", "Noto Sans", Helvetica, Arial, sans-serif,
    "Apple Color Emoji", "Segoe UI Emoji", "Noto Color Emoji";
  word-wrap: break-word; }
.markdown-body > * + * { margin-top: 0; }
.markdown-body h1, .markdown-body h2, .markdown-body h3 { margin: 24px 0 16px; font-weight: 600; line-height: 1.25; }
.markdown-body > h1:first-child, .markdown-body > h2:first-child, .markdown-body > h3:first-child { margin-top: 0; }
.markdown-body h2 { font-size: 1.5em; padding-bottom: .3em; border-bottom: 1px solid #d1d9e0b3; }
.markdown-body h3 { font-size: 1.25em; }
.markdown-body p, .markdown-body ul, .markdown-body table, .markdown-body pre, .markdown-body details {
  margin-top: 0; margin-bottom: 16px; }
.markdown-body ul { padding-left: 2em; }
.markdown-body li + li { margin-top: .25em; }
.markdown-body table { border-spacing: 0; border-collapse: collapse; display: block; width: max-content;
  max-width: 100%; overflow: auto; font-variant: tabular-nums; }
.markdown-body th { font-weight: 600; }
.markdown-body th, .markdown-body td { padding: 6px 13px; border: 1px solid #d1d9e0; }
.markdown-body tr { background: #ffffff; border-top: 1px solid #d1d9e0b3; }
.markdown-body tr:nth-child(2n) { background: #f6f8fa; }
.markdown-body code, .markdown-body pre { font-family: ui-monospace, SFMono-Regular, "SF Mono", Menlo, Consolas,
  "Liberation Mono", monospace; font-size: 85%; }
.markdown-body pre { padding: 16px; overflow: auto; line-height: 1.45; background: #f6f8fa; border-radius: 6px; }
.markdown-body details summary { cursor: pointer; display: list-item; }
.markdown-body a { color: #0969da; text-decoration: underline; text-underline-offset: .2rem; }
`;

/** The page around a summary; the script records the height the content needs (read from --dump-dom). */
function page(kind: Kind, html: string): string {
  return `<!doctype html>
<html><head><meta charset="utf-8"><title>${kind}</title><style>${CSS}</style></head>
<body><div class="pane"><div class="pane-head">${kind.split('-')[0]} summary</div>
<div class="markdown-body">${html}</div></div>
<script>
  window.addEventListener('load', () => {
    const pane = document.querySelector('.pane').getBoundingClientRect();
    document.body.setAttribute('data-height', String(Math.ceil(pane.bottom + window.scrollY) + 1));
  });
</script></body></html>`;
}

function runChromium(args: string[]): string {
  const profile = mkdtempSync(join(tmpdir(), 'kiln-chromium-'));
  try {
    const r = spawnSync(
      chromium,
      [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--hide-scrollbars',
        '--force-device-scale-factor=1',
        `--user-data-dir=${profile}`,
        ...args,
      ],
      { encoding: 'utf8', timeout: 120_000, maxBuffer: 64 * 1024 * 1024 },
    );
    if (r.error) throw new Error(`cannot run ${chromium}: ${r.error.message} (apt-get install -y chromium)`);
    if (r.status !== 0) throw new Error(`${chromium} exited with ${r.status}: ${r.stderr.slice(-2000)}`);
    return r.stdout;
  } finally {
    rmSync(profile, { recursive: true, force: true });
  }
}

const args = process.argv.slice(2);
const outAt = args.indexOf('--out');
if (outAt >= 0) {
  outDir = resolve(args[outAt + 1] ?? '.');
  args.splice(outAt, 2);
}
const HOSTILE: HostileKind[] = ['smoke-many', 'push-many', 'deploy-marathon-many'];
const kinds = (args.length > 0 ? args : Object.keys(SUMMARY_KINDS)) as Kind[];
for (const kind of kinds)
  if (!(kind in SUMMARY_KINDS) && !HOSTILE.includes(kind as HostileKind))
    throw new Error(
      `unknown kind '${kind}'; expected one of ${[...Object.keys(SUMMARY_KINDS), ...HOSTILE].join(', ')}`,
    );
mkdirSync(outDir, { recursive: true });
const work = mkdtempSync(join(tmpdir(), 'kiln-screenshots-'));
try {
  for (const kind of kinds) {
    const html = marked.parse(renderSummary(kind).toMarkdown(), { gfm: true, async: false });
    const file = join(work, `${kind}.html`);
    writeFileSync(file, page(kind, html));
    const dom = runChromium([
      '--dump-dom',
      '--virtual-time-budget=2000',
      `--window-size=${WIDTH},800`,
      `file://${file}`,
    ]);
    const height = Number(/data-height="(\d+)"/.exec(dom)?.[1] ?? 0);
    if (!height) throw new Error(`${kind}: could not measure the page`);
    const png = join(outDir, `${kind}.png`);
    runChromium([`--screenshot=${png}`, `--window-size=${WIDTH},${height}`, `file://${file}`]);
    const what = kind in SUMMARY_KINDS ? SUMMARY_KINDS[kind as SummaryKind] : 'hostile variant';
    process.stdout.write(`${relative(root, png)}  ${WIDTH}×${height}  ${what}\n`);
  }
} finally {
  rmSync(work, { recursive: true, force: true });
}
