/**
 * What Kiln prints carries strings from outside: a Marathon's messages and labels, a registry's platform strings
 * and errors, a smoke target's bodies. None of them may steer the runner or the terminal. This is the one place
 * that makes a message safe to print; every platform's logger passes every message through it:
 * - a line that starts (after white space) with `::` would be a GitHub workflow command (`::add-mask::`,
 *   `::stop-commands::`, `::set-output`, …) and `##[` anywhere in a line is the old form the runner still honours:
 *   both get an invisible WORD JOINER (U+2060) that the runner does not parse through;
 * - control characters (ESC of ANSI/OSC sequences, a lone carriage return that rewrites the line, BEL, C1
 *   controls) and bidirectional overrides are shown as `\xNN` / `\u{NNNN}` instead of being obeyed;
 * - a line longer than {@link MAX_LINE} characters is cut, saying how much was left out.
 */
export const MAX_LINE = 8192;

const JOINER = '\u2060';
// C0 controls but \t and \n, DEL, C1 controls; bidi embeddings/overrides/isolates.
// eslint-disable-next-line no-control-regex
const CONTROL = /[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]/g;

function visible(c: string): string {
  const code = c.codePointAt(0) as number;
  return code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u{${code.toString(16)}}`;
}

function capLine(line: string): string {
  if (line.length <= MAX_LINE) return line;
  return `${line.slice(0, MAX_LINE)}… (${line.length - MAX_LINE} more characters not shown)`;
}

/** A message made safe to print (see the file comment). Kiln's own decoration (colours, groups) comes after. */
export function neutralise(message: string): string {
  return message
    .replace(/\r\n/g, '\n')
    .replace(CONTROL, visible)
    .replace(/##\[/g, `##${JOINER}[`)
    .replace(/^([ \t]*):(?=:)/gm, `$1:${JOINER}`)
    .split('\n')
    .map(capLine)
    .join('\n');
}
