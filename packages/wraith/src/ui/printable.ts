/**
 * Text for a terminal: C0 and C1 control characters (ESC, CR, newline, ...) shown as \xNN. File
 * names and a peer's REJECT or CANCEL reason reach the screen; none may move the cursor, clear
 * it or forge a line.
 */
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/g;

export function printable(s: string): string {
  return s.replace(CONTROL, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}
