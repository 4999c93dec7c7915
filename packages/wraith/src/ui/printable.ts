/**
 * Text for a terminal: C0 and C1 control characters (ESC, CR, newline, ...) shown as \xNN, and
 * the invisible characters that reorder or break what is shown (bidi overrides and isolates,
 * direction marks, line and paragraph separators) as \u{XXXX}. File names and a peer's REJECT or
 * CANCEL reason reach the screen; none may move the cursor, clear it, forge a line or make one
 * name read as another ("invoice\u202Efdp.exe").
 */
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/g;
const INVISIBLE = /[\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;

export function printable(s: string): string {
  return s
    .replace(CONTROL, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`)
    .replace(INVISIBLE, (c) => `\\u{${c.charCodeAt(0).toString(16)}}`);
}
