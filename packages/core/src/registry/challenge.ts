/**
 * `WWW-Authenticate` parsing (RFC 9110 §11.6.1): one header may carry several challenges, each a scheme
 * followed by comma-separated `name=value` parameters whose values may be quoted strings containing commas,
 * spaces and escaped quotes, e.g.
 *
 *     Bearer realm="https://auth.example.com/token",service="registry.example.com",
 *            scope="repository:a:pull,push repository:b:pull",error="insufficient_scope"
 *
 * Splitting on commas (as several small clients do) breaks on the `scope` above; this is a small scanner
 * instead. A token followed by `=` is a parameter of the current challenge, any other token starts a new one.
 * Unquoted values are read up to the next comma or space, leniently (realms are often unquoted URLs).
 */

export interface AuthChallenge {
  /** Lower-cased: 'bearer', 'basic'. */
  scheme: string;
  /** Parameter names lower-cased; values unquoted and unescaped. */
  params: Record<string, string>;
}

const TCHAR = /[!#$%&'*+\-.^_`|~0-9A-Za-z]/;

/** All challenges of one or more `WWW-Authenticate` values (joined with ', ' when repeated). */
export function parseWwwAuthenticate(header: string | undefined): AuthChallenge[] {
  const out: AuthChallenge[] = [];
  if (!header) return out;
  const s = header;
  const n = s.length;
  let i = 0;
  let current: AuthChallenge | undefined;
  const skip = (re: RegExp) => {
    while (i < n && re.test(s[i]!)) i++;
  };
  while (i < n) {
    skip(/[\s,]/);
    if (i >= n) break;
    const start = i;
    while (i < n && TCHAR.test(s[i]!)) i++;
    if (i === start) {
      i++; // a stray character: skip it
      continue;
    }
    const token = s.slice(start, i);
    const afterToken = i;
    skip(/[ \t]/);
    if (s[i] === '=' && current) {
      i++;
      skip(/[ \t]/);
      let value = '';
      if (s[i] === '"') {
        i++;
        while (i < n && s[i] !== '"') {
          if (s[i] === '\\' && i + 1 < n) i++;
          value += s[i];
          i++;
        }
        i++; // closing quote
      } else {
        const valueStart = i;
        while (i < n && s[i] !== ',' && !/\s/.test(s[i]!)) i++;
        value = s.slice(valueStart, i);
      }
      current.params[token.toLowerCase()] = value;
    } else if (s[i] === '=') {
      // A parameter before any scheme: malformed, skip its value.
      i++;
      while (i < n && s[i] !== ',') i++;
    } else {
      current = { scheme: token.toLowerCase(), params: {} };
      out.push(current);
      i = afterToken;
    }
  }
  return out;
}

/** The challenge Kiln answers: Bearer when offered, else Basic, else undefined. */
export function pickChallenge(challenges: AuthChallenge[]): AuthChallenge | undefined {
  return challenges.find((c) => c.scheme === 'bearer') ?? challenges.find((c) => c.scheme === 'basic');
}
