/**
 * Human units used by the config file and the command line: sizes (bytes), rates (bytes per
 * second) and durations (milliseconds). Parsers return null on malformed input so callers can
 * raise the error that fits (config key or flag); `format*` produce strings the parsers accept.
 */

const SI: Readonly<Record<string, number>> = { '': 1, k: 1e3, m: 1e6, g: 1e9, t: 1e12, p: 1e15 };
const BINARY: Readonly<Record<string, number>> = { k: 2 ** 10, m: 2 ** 20, g: 2 ** 30, t: 2 ** 40, p: 2 ** 50 };

// number, optional prefix (k M G T P, case-insensitive), optional `i` (binary), optional unit.
const SIZE_RE = /^(\d+(?:\.\d+)?)\s*(?:([kmgtp])(i)?)?(b)?$/i;

function scaled(num: string, prefix: string | undefined, binary: boolean): number | null {
  const p = (prefix ?? '').toLowerCase();
  const mult = binary ? BINARY[p] : SI[p];
  if (mult === undefined) return null;
  const v = Number(num) * mult;
  // Fractions are fine only when they land on a whole number of bytes (1.5KiB, not 1.5B).
  if (!Number.isSafeInteger(v)) return null;
  return v;
}

/**
 * A size in bytes: `1048576`, `64MiB`, `64Mi`, `1GB`, `1G`, `512k`. SI prefixes are powers of
 * 1000, `Ki Mi Gi Ti` (with or without a trailing B) powers of 1024. `b` means bytes here.
 */
export function parseSize(input: string | number): number | null {
  if (typeof input === 'number') return Number.isSafeInteger(input) && input >= 0 ? input : null;
  const m = SIZE_RE.exec(input.trim());
  if (!m) return null;
  const [, num, prefix, i] = m;
  if (i !== undefined && prefix === undefined) return null;
  return scaled(num!, prefix, i !== undefined);
}

// `500M`, `500MB/s`, `1.5GiB/s`, `500Mbit`, `500Mbit/s`, `500Mbps`.
const RATE_RE = /^(\d+(?:\.\d+)?)\s*(?:([kmgtp])(i)?)?(b|bit|bits|bps)?(\/s)?$/i;

/** What parseRate takes, for its error messages. */
export const RATE_EXPECTED = 'bytes per second like 500M, 1.5GiB or 800Mbit';

/** A rate in bytes per second. A suffix of `bit`, `bits` or `bps` means bits (divided by 8). */
export function parseRate(input: string | number): number | null {
  if (typeof input === 'number') return Number.isFinite(input) && input > 0 ? input : null;
  const m = RATE_RE.exec(input.trim());
  if (!m) return null;
  const [, num, prefix, i, unit, perSecond] = m;
  if (i !== undefined && prefix === undefined) return null;
  const u = unit?.toLowerCase();
  // "bps" already means per second; "bps/s" is a typo, not a unit.
  if (u === 'bps' && perSecond !== undefined) return null;
  const p = (prefix ?? '').toLowerCase();
  const mult = i !== undefined ? BINARY[p] : SI[p];
  if (mult === undefined) return null;
  let v = Number(num) * mult;
  if (u === 'bit' || u === 'bits' || u === 'bps') v /= 8;
  if (!Number.isFinite(v) || v <= 0) return null;
  return v;
}

const DURATION_UNITS: Readonly<Record<string, number>> = {
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 604_800_000,
};
const DURATION_PART = /(\d+(?:\.\d+)?)\s*(ms|s|m|h|d|w)/gy;

/** A duration in milliseconds: `250ms`, `60s`, `5m`, `2h`, `7d`, or a sum like `1h30m`. */
export function parseDuration(input: string): number | null {
  const s = input.trim();
  if (s === '') return null;
  DURATION_PART.lastIndex = 0;
  let total = 0;
  let pos = 0;
  for (;;) {
    const m = DURATION_PART.exec(s);
    if (!m) break;
    total += Number(m[1]) * DURATION_UNITS[m[2]!]!;
    pos = DURATION_PART.lastIndex;
    while (s[pos] === ' ') pos++;
    DURATION_PART.lastIndex = pos;
  }
  if (pos !== s.length) return null;
  const ms = Math.round(total);
  return Number.isSafeInteger(ms) ? ms : null;
}

/** The shortest exact size string: 67108864 -> "64MiB", 1000000000 -> "1GB", 1000 -> "1kB". */
export function formatSize(bytes: number): string {
  if (bytes === 0) return '0';
  for (const [suffix, mult] of [
    ['PiB', BINARY.p!],
    ['TiB', BINARY.t!],
    ['GiB', BINARY.g!],
    ['MiB', BINARY.m!],
    ['KiB', BINARY.k!],
    ['PB', 1e15],
    ['TB', 1e12],
    ['GB', 1e9],
    ['MB', 1e6],
    ['kB', 1e3],
  ] as const) {
    if (bytes % mult === 0) return `${bytes / mult}${suffix}`;
  }
  return String(bytes);
}

/** The shortest exact duration string: 604800000 -> "7d", 1500 -> "1500ms". */
export function formatDuration(ms: number): string {
  if (ms === 0) return '0s';
  for (const unit of ['d', 'h', 'm', 's', 'ms'] as const) {
    const mult = DURATION_UNITS[unit]!;
    if (ms % mult === 0) return `${ms / mult}${unit}`;
  }
  return `${ms}ms`;
}

/** Approximate, for people: 1536 -> "1.5 KiB". */
export function humanBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
  let v = bytes;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return i === 0 ? `${v} B` : `${v.toFixed(v < 10 ? 2 : v < 100 ? 1 : 0)} ${units[i]}`;
}

/** Approximate, for people, in bits like network tools: 1.25e8 B/s -> "1.00 Gbit/s". */
export function humanRate(bytesPerSecond: number): string {
  const bits = bytesPerSecond * 8;
  const units = ['bit/s', 'kbit/s', 'Mbit/s', 'Gbit/s', 'Tbit/s'];
  let v = bits;
  let i = 0;
  while (v >= 1000 && i < units.length - 1) {
    v /= 1000;
    i++;
  }
  return `${v.toFixed(v < 10 ? 2 : v < 100 ? 1 : 0)} ${units[i]}`;
}

/** Approximate, for people: 3725 -> "1h02m05s". */
export function humanDuration(seconds: number): string {
  if (!Number.isFinite(seconds)) return '?';
  const s = Math.max(0, Math.round(seconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const r = s % 60;
  if (h > 0) return `${h}h${String(m).padStart(2, '0')}m${String(r).padStart(2, '0')}s`;
  if (m > 0) return `${m}m${String(r).padStart(2, '0')}s`;
  return `${r}s`;
}
