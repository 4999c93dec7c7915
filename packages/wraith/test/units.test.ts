import { describe, expect, it } from 'vitest';
import { formatDuration, formatSize, parseDuration, parseRate, parseSize } from '../src/units.js';

describe('parseSize', () => {
  it.each([
    ['0', 0],
    ['1048576', 1048576],
    ['1GiB', 2 ** 30],
    ['64MiB', 64 * 2 ** 20],
    ['64Mi', 64 * 2 ** 20],
    ['1GB', 1e9],
    ['1G', 1e9],
    ['512k', 512_000],
    ['16KiB', 16384],
    ['1.5KiB', 1536],
    [' 2 MB ', 2e6],
    ['10b', 10],
  ])('%s -> %d', (s, n) => expect(parseSize(s)).toBe(n));

  it.each(['', 'abc', '1.5', '-1', '1XB', '1Ki5', 'GiB', '0.3B', '1 2'])('refuses %j', (s) => expect(parseSize(s)).toBeNull());
  it('accepts whole numbers, refuses fractions and negatives', () => {
    expect(parseSize(4096)).toBe(4096);
    expect(parseSize(1.5)).toBeNull();
    expect(parseSize(-1)).toBeNull();
  });
});

describe('parseRate', () => {
  it.each([
    ['500M', 5e8],
    ['500MB/s', 5e8],
    ['500Mbit', 6.25e7],
    ['500Mbit/s', 6.25e7],
    ['1Gbps', 1.25e8],
    ['1GiB/s', 2 ** 30],
    ['1Gi', 2 ** 30],
    ['1000', 1000],
    ['8bit', 1],
  ])('%s -> %d B/s', (s, n) => expect(parseRate(s)).toBe(n));
  it.each(['', '0', 'fast', '1Gbps/s', 'Mi', '-5M'])('refuses %j', (s) => expect(parseRate(s)).toBeNull());
});

describe('parseDuration', () => {
  it.each([
    ['250ms', 250],
    ['60s', 60_000],
    ['5m', 300_000],
    ['2h', 7_200_000],
    ['7d', 604_800_000],
    ['1w', 604_800_000],
    ['1h30m', 5_400_000],
    ['1.5s', 1500],
    ['0s', 0],
  ])('%s -> %d ms', (s, n) => expect(parseDuration(s)).toBe(n));
  it.each(['', '10', 's', '5 minutes', '5mm', '1y', '-1s'])('refuses %j', (s) => expect(parseDuration(s)).toBeNull());
});

describe('format', () => {
  it('formats sizes and durations so they parse back', () => {
    for (const n of [0, 1, 1000, 1024, 16384, 262144, 64 * 2 ** 20, 1e9, 12345]) expect(parseSize(formatSize(n))).toBe(n);
    for (const n of [0, 1, 250, 1000, 120_000, 604_800_000, 1500]) expect(parseDuration(formatDuration(n))).toBe(n);
    expect(formatSize(64 * 2 ** 20)).toBe('64MiB');
    expect(formatDuration(604_800_000)).toBe('7d');
  });
});
