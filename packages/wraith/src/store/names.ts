/**
 * Names of received files: validation of the sender's relative names, the partial-file name
 * beside the final one, and the "name (1).ext" series used by on_conflict = "rename".
 */
import { WraithError } from '@wraith/core';

export const MAX_NAME_BYTES = 4096; // PATH_MAX
export const MAX_COMPONENT_BYTES = 255; // NAME_MAX

const PARTIAL_SUFFIX = '.wraith-part';
const PARTIAL_RE = /^\..*\.[0-9a-f]{16}\.wraith-part$/s;
// C0 controls, DEL and C1 controls: never legitimate in a name, dangerous on terminals.
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;

function invalid(name: string, why: string): WraithError {
  return new WraithError('E_PATH_INVALID', `received name ${JSON.stringify(name)} refused: ${why}`, { name });
}

/**
 * Checks a sender-supplied relative name ("dir/sub/file.txt") and returns its components.
 * Refused: empty, absolute, "." or ".." components, empty components ("a//b", trailing "/"),
 * control characters, backslashes, more than 4096 bytes or a component over 255 bytes, and
 * names shaped like our own partial files (so a sender cannot plant a file that the TTL sweep
 * would delete).
 */
export function validateRelativeName(name: string): string[] {
  if (typeof name !== 'string' || name.length === 0) throw invalid(String(name), 'the name is empty');
  if (Buffer.byteLength(name, 'utf8') > MAX_NAME_BYTES) throw invalid(name.slice(0, 64), `longer than ${MAX_NAME_BYTES} bytes`);
  if (name.startsWith('/')) throw invalid(name, 'absolute paths are not allowed');
  if (CONTROL.test(name)) throw invalid(name, 'control characters are not allowed');
  if (name.includes('\\')) throw invalid(name, 'backslashes are not allowed');
  if (name.includes('\uFFFD')) throw invalid(name, 'the name is not valid UTF-8');
  const parts = name.split('/');
  for (const p of parts) {
    if (p === '') throw invalid(name, 'empty path component');
    if (p === '.' || p === '..') throw invalid(name, `"${p}" components are not allowed`);
    if (Buffer.byteLength(p, 'utf8') > MAX_COMPONENT_BYTES) throw invalid(name, `a component is longer than ${MAX_COMPONENT_BYTES} bytes`);
  }
  if (isPartialName(parts[parts.length - 1]!)) throw invalid(name, 'the name has the form of a wraith partial file');
  return parts;
}

/** Why the receiver would refuse `name` ("control characters are not allowed"), or null when it takes it. */
export function nameRefusal(name: string): string | null {
  try {
    validateRelativeName(name);
    return null;
  } catch (e) {
    return (e as Error).message.replace(/^received name .* refused: /s, '');
  }
}

export function isPartialName(base: string): boolean {
  return PARTIAL_RE.test(base);
}

/** Cuts a string to at most `max` UTF-8 bytes without splitting a character. */
function truncateUtf8(s: string, max: number): string {
  if (Buffer.byteLength(s, 'utf8') <= max) return s;
  let out = '';
  let bytes = 0;
  for (const ch of s) {
    const n = Buffer.byteLength(ch, 'utf8');
    if (bytes + n > max) break;
    out += ch;
    bytes += n;
  }
  return out;
}

/**
 * `.<base>.<first 16 hex of the root>.wraith-part`, beside the final name. A long base is cut so
 * the result fits NAME_MAX; the root prefix keeps different contents apart.
 */
export function partialName(base: string, rootHex: string): string {
  if (!/^[0-9a-f]{64}$/.test(rootHex)) throw new WraithError('E_INTERNAL', `partialName: root must be 64 hex, got ${rootHex}`);
  const fixed = 1 + 1 + 16 + PARTIAL_SUFFIX.length;
  return `.${truncateUtf8(base, MAX_COMPONENT_BYTES - fixed)}.${rootHex.slice(0, 16)}${PARTIAL_SUFFIX}`;
}

const DOUBLE_EXT = /\.tar\.[A-Za-z0-9]{1,8}$/;

/** "report.pdf" -> "report (n).pdf", "a.tar.gz" -> "a (n).tar.gz", ".bashrc" -> ".bashrc (n)". */
export function conflictName(base: string, n: number): string {
  let stem = base;
  let ext = '';
  const double = DOUBLE_EXT.exec(base);
  if (double !== null && double.index > 0) {
    stem = base.slice(0, double.index);
    ext = base.slice(double.index);
  } else {
    const dot = base.lastIndexOf('.');
    if (dot > 0) {
      stem = base.slice(0, dot);
      ext = base.slice(dot);
    }
  }
  const suffix = ` (${n})`;
  return truncateUtf8(stem, MAX_COMPONENT_BYTES - Buffer.byteLength(suffix + ext, 'utf8')) + suffix + ext;
}
