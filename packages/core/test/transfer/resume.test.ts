import { describe, expect, it } from 'vitest';
import {
  ChunkSet,
  makeResumeState,
  parseResumeState,
  resumeMatches,
  type FileManifest,
} from '../../src/transfer/index.js';

const root = Uint8Array.from({ length: 32 }, (_, i) => i * 7);
const m: FileManifest = { name: 'x/y', kind: 'file', size: 10 * 16384 + 1, chunkSize: 16384, mode: 0o600, mtimeMs: 5, root };
const peer = 'ab'.repeat(32);

describe('resume state', () => {
  it('round-trips through JSON', () => {
    const held = ChunkSet.fromRanges(11, [[0, 3], [5, 1], [10, 1]]);
    const st = makeResumeState(peer, m, held);
    const back = parseResumeState(JSON.parse(JSON.stringify(st)));
    expect(back).toEqual(st);
    expect(back.root).toBe(Buffer.from(root).toString('hex'));
    expect(resumeMatches(back, peer, m)).toBe(true);
    expect(resumeMatches(back, 'cd'.repeat(32), m)).toBe(false);
    expect(resumeMatches(back, peer, { ...m, root: new Uint8Array(32) })).toBe(false);
    expect(resumeMatches(back, peer, { ...m, size: m.size + 1 })).toBe(false);
    expect(resumeMatches(back, peer, { ...m, chunkSize: 32768 })).toBe(false);
  });

  it('normalises touching ranges', () => {
    const st = makeResumeState(peer, m, new ChunkSet(11));
    expect(parseResumeState({ ...st, held: [[0, 2], [2, 2]] }).held).toEqual([[0, 4]]);
  });

  it('refuses an invalid peer id when saving', () => {
    expect(() => makeResumeState('AB'.repeat(32), m, new ChunkSet(11))).toThrow(expect.objectContaining({ code: 'E_PEER_ID_INVALID' }));
  });

  const good = makeResumeState(peer, m, ChunkSet.fromRanges(11, [[1, 2]]));
  const bad: Array<[string, unknown]> = [
    ['null', null],
    ['an array', []],
    ['a string', 'x'],
    ['version 2', { ...good, version: 2 }],
    ['no version', { ...good, version: undefined }],
    ['upper-case peer id', { ...good, peerId: 'AB'.repeat(32) }],
    ['short peer id', { ...good, peerId: 'ab' }],
    ['root not hex', { ...good, root: 'zz'.repeat(32) }],
    ['root too long', { ...good, root: 'ab'.repeat(33) }],
    ['escaping name', { ...good, name: '../../etc/passwd' }],
    ['name not a string', { ...good, name: 5 }],
    ['negative size', { ...good, size: -1 }],
    ['fractional size', { ...good, size: 0.5 }],
    ['string size', { ...good, size: '10' }],
    ['bad chunk size', { ...good, chunkSize: 1000 }],
    ['chunk size as string', { ...good, chunkSize: '16384' }],
    ['held not an array', { ...good, held: {} }],
    ['held range past the end', { ...good, held: [[10, 2]] }],
    ['held overlapping', { ...good, held: [[0, 3], [2, 1]] }],
    ['held empty range', { ...good, held: [[0, 0]] }],
    ['held not pairs', { ...good, held: [0, 1] }],
  ];
  it.each(bad)('rejects %s with E_RESUME_STATE', (_what, json) => {
    expect(() => parseResumeState(json)).toThrow(expect.objectContaining({ code: 'E_RESUME_STATE' }));
  });
});
