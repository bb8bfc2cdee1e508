/**
 * Secret redaction. Every secret registered (inputs declared `secret`, tokens obtained at run time, and the
 * forms they travel in: base64 of `user:password`, URL-encoded) is replaced by `***` in everything Kiln prints
 * or writes. On GitHub the runner masks as well (`::add-mask::`); on GitLab and in a terminal this is the only
 * mask, so {@link installOutputRedaction} also filters what reaches stdout/stderr by any route.
 */
export const MASK = '***';

export class Redactor {
  private readonly secrets = new Set<string>();
  private pattern: RegExp | undefined;

  /** Register a secret and its common encodings. Values shorter than 3 characters are not masked (noise). */
  add(secret: string | undefined): string[] {
    if (!secret) return [];
    const forms = new Set<string>();
    for (const line of secret.split(/\r?\n/)) {
      const v = line.trim();
      if (v.length < 3) continue;
      forms.add(v);
      forms.add(Buffer.from(v).toString('base64'));
      const enc = encodeURIComponent(v);
      if (enc !== v) forms.add(enc);
      // JSON-escaped form (quotes and backslashes in passwords show up this way in bodies and logs).
      const json = JSON.stringify(v).slice(1, -1);
      if (json !== v) forms.add(json);
    }
    const added: string[] = [];
    for (const f of forms) {
      if (f.length >= 3 && !this.secrets.has(f)) {
        this.secrets.add(f);
        added.push(f);
      }
    }
    if (added.length) this.pattern = undefined;
    return added;
  }

  get size(): number {
    return this.secrets.size;
  }

  redact(text: string): string {
    if (this.secrets.size === 0 || text === '') return text;
    if (!this.pattern) {
      // Longest first so a secret that contains another is masked whole.
      const parts = [...this.secrets].sort((a, b) => b.length - a.length).map(escapeRegExp);
      this.pattern = new RegExp(parts.join('|'), 'g');
    }
    return text.replace(this.pattern, MASK);
  }
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

type Write = typeof process.stdout.write;

/** The original writers, for the few lines that must pass unredacted (GitHub's `::add-mask::`). */
export const rawWrite = {
  stdout: process.stdout.write.bind(process.stdout) as Write,
  stderr: process.stderr.write.bind(process.stderr) as Write,
};

let installed: Redactor | undefined;

/**
 * Route everything written to stdout and stderr through the redactor: Kiln's own logs, child-process output
 * and error messages alike. Idempotent; returns a function that removes the filter.
 */
export function installOutputRedaction(redactor: Redactor): () => void {
  if (installed) return () => undefined;
  installed = redactor;
  const wrap = (stream: NodeJS.WriteStream, original: Write): void => {
    stream.write = function (chunk: unknown, ...rest: unknown[]): boolean {
      if (redactor.size > 0) {
        const text =
          typeof chunk === 'string' ? chunk : Buffer.isBuffer(chunk) ? chunk.toString('utf8') : undefined;
        if (text !== undefined) chunk = redactor.redact(text);
      }
      return (original as (...a: unknown[]) => boolean)(chunk, ...rest);
    } as Write;
  };
  wrap(process.stdout, rawWrite.stdout);
  wrap(process.stderr, rawWrite.stderr);
  return () => {
    process.stdout.write = rawWrite.stdout;
    process.stderr.write = rawWrite.stderr;
    installed = undefined;
  };
}
