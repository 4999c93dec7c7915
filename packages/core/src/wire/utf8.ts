/**
 * UTF-8 for names and reasons. Decoding is strict (fatal on malformed input)
 * and keeps a leading BOM, which the default decoder would strip and so break
 * round trips. Names encode strictly: a lone surrogate is an error, since
 * TextEncoder would silently write U+FFFD. Reasons are diagnostics, so they
 * encode leniently: lone surrogates become U+FFFD and the text is cut at a
 * character boundary to fit the limit, rather than failing a CLOSE or REJECT.
 */
import { WraithError, type ErrorCode } from '../errors.js';
import type { Reader } from './reader.js';
import type { Writer } from './writer.js';

const decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
const encoder = new TextEncoder();
const REPLACEMENT = 0xfffd;

/** UTF-8 byte length of `s`; throws `code` if `s` holds a lone surrogate. */
export function utf8Length(s: string, field: string, code: ErrorCode): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c <= 0xdbff) {
      const d = s.charCodeAt(i + 1);
      if (!(d >= 0xdc00 && d <= 0xdfff)) throw loneSurrogate(field, i, code);
      n += 4;
      i++;
    } else if (c >= 0xdc00 && c <= 0xdfff) throw loneSurrogate(field, i, code);
    else n += 3;
  }
  return n;
}

function loneSurrogate(field: string, index: number, code: ErrorCode): WraithError {
  return new WraithError(code, `${field}: lone surrogate at index ${index} cannot be encoded as UTF-8`, { field, index });
}

/** Decode `n` bytes from `r` as strict UTF-8. */
export function readUtf8(r: Reader, n: number, field: string, code: ErrorCode): string {
  const at = r.offset;
  const bytes = r.bytes(n, field);
  try {
    return decoder.decode(bytes);
  } catch {
    throw new WraithError(code, `${field}: invalid UTF-8 at offset ${at}`, { field, offset: at });
  }
}

/** Write well-formed `s`, whose UTF-8 length the caller got from utf8Length. */
export function writeUtf8(w: Writer, s: string, len: number, field: string): void {
  encoder.encodeInto(s, w.reserve(len, field));
}

/**
 * Lenient encoding of a reason: bytes it takes within `max` (when `w` is null)
 * or writes them (when `w` is given). Both calls walk the same code points.
 */
export function reasonUtf8(s: string, max: number, w: Writer | null): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    let cp = s.charCodeAt(i);
    if (cp >= 0xd800 && cp <= 0xdbff) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) {
        cp = 0x10000 + ((cp - 0xd800) << 10) + (d - 0xdc00);
        i++;
      } else cp = REPLACEMENT;
    } else if (cp >= 0xdc00 && cp <= 0xdfff) cp = REPLACEMENT;
    const len = cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
    if (n + len > max) break;
    n += len;
    if (w !== null) writeCodePoint(w, cp, len);
  }
  return n;
}

function writeCodePoint(w: Writer, cp: number, len: number): void {
  switch (len) {
    case 1:
      w.u8(cp);
      return;
    case 2:
      w.u8(0xc0 | (cp >> 6));
      w.u8(0x80 | (cp & 0x3f));
      return;
    case 3:
      w.u8(0xe0 | (cp >> 12));
      w.u8(0x80 | ((cp >> 6) & 0x3f));
      w.u8(0x80 | (cp & 0x3f));
      return;
    default:
      w.u8(0xf0 | (cp >> 18));
      w.u8(0x80 | ((cp >> 12) & 0x3f));
      w.u8(0x80 | ((cp >> 6) & 0x3f));
      w.u8(0x80 | (cp & 0x3f));
  }
}
