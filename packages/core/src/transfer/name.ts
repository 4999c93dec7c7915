/**
 * Validation of received relative names (OFFER name field). A name is joined
 * under the destination directory, so anything that could escape it or confuse
 * a filesystem is refused with E_PATH_INVALID naming the problem.
 */
import { WraithError } from '../errors.js';

/** Linux PATH_MAX. */
export const MAX_NAME_BYTES = 4096;
/** Linux NAME_MAX. */
export const MAX_COMPONENT_BYTES = 255;

function invalid(name: string, problem: string): WraithError {
  return new WraithError('E_PATH_INVALID', `invalid name ${JSON.stringify(name)}: ${problem}`, { name, problem });
}

/** UTF-8 length of a well-formed string, or -1 if it holds an unpaired surrogate. */
function utf8Length(s: string, from: number, to: number): number {
  let n = 0;
  for (let i = from; i < to; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c <= 0xdbff) {
      const d = i + 1 < to ? s.charCodeAt(i + 1) : 0;
      if (d < 0xdc00 || d > 0xdfff) return -1;
      n += 4;
      i++;
    } else if (c >= 0xdc00 && c <= 0xdfff) return -1;
    else n += 3;
  }
  return n;
}

/** Throws E_PATH_INVALID unless `name` is a safe relative '/'-separated path. */
export function validateName(name: string): void {
  if (typeof name !== 'string') throw invalid(String(name), 'not a string');
  if (name.length === 0) throw invalid(name, 'empty');
  if (name.startsWith('/')) throw invalid(name, 'absolute (leading "/")');
  for (let i = 0; i < name.length; i++) {
    const c = name.charCodeAt(i);
    // C0, DEL and C1 (U+0080..U+009F: CSI among them, which some terminals obey).
    if (c < 0x20 || (c >= 0x7f && c <= 0x9f)) {
      throw invalid(name, `control character 0x${c.toString(16).padStart(2, '0')} at index ${i}`);
    }
    if (c === 0x5c) throw invalid(name, `backslash at index ${i}`);
  }
  const total = utf8Length(name, 0, name.length);
  if (total < 0) throw invalid(name, 'not valid Unicode (unpaired surrogate)');
  if (total > MAX_NAME_BYTES) throw invalid(name, `${total} bytes of UTF-8, more than ${MAX_NAME_BYTES}`);
  let start = 0;
  while (start <= name.length) {
    let end = name.indexOf('/', start);
    if (end < 0) end = name.length;
    const part = name.slice(start, end);
    if (part.length === 0) throw invalid(name, `empty component at index ${start} ("//" or trailing "/")`);
    if (part === '.' || part === '..') throw invalid(name, `"${part}" component`);
    const bytes = utf8Length(name, start, end);
    if (bytes > MAX_COMPONENT_BYTES) {
      throw invalid(name, `component at index ${start} is ${bytes} bytes, more than ${MAX_COMPONENT_BYTES}`);
    }
    start = end + 1;
  }
}
