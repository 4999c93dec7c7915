// [receive] peer_dirs: where each sender's names go.
import { describe, expect, it } from 'vitest';
import type { ResolvedConfig } from '../src/config/schema.js';
import { PeerDirs } from '../src/node/peer-dirs.js';

const A = 'a'.repeat(64);
const B = 'b'.repeat(64);
const C = 'c'.repeat(64);

const config = (peerDirs: boolean, peers: Record<string, string>): ResolvedConfig =>
  ({ receive: { peer_dirs: peerDirs }, peers: Object.fromEntries(Object.entries(peers).map(([n, id]) => [n, { id, addr: '127.0.0.1:40000' }])) }) as unknown as ResolvedConfig;

describe('PeerDirs', () => {
  it('off: names stay as offered', () => {
    expect(new PeerDirs(config(false, { alpha: A })).place(A, 'x/y')).toBe('x/y');
  });

  it("on: below the sender's [peers.NAME] name, else its peer id", () => {
    const d = new PeerDirs(config(true, { alpha: A }));
    expect(d.place(A, 'db.dump')).toBe('alpha/db.dump');
    expect(d.place(B, 'db.dump')).toBe(`${B}/db.dump`);
  });

  it('follows a reloaded config; of two names for one id the first in order wins, at every start', () => {
    const d = new PeerDirs(config(true, { zulu: A, alpha: A }));
    expect(d.place(A, 'f')).toBe('alpha/f');
    d.update(config(true, { bravo: B }));
    expect([d.place(A, 'f'), d.place(B, 'f')]).toEqual([`${A}/f`, 'bravo/f']);
  });

  it('a name that is not a directory name ("." or ".."), or that is another peer\'s id, is not used: the id is', () => {
    const d = new PeerDirs(config(true, { '.': A, [C]: B, [A.toUpperCase()]: C }));
    expect(d.place(A, 'f')).toBe(`${A}/f`);
    expect(d.place(B, 'f')).toBe(`${B}/f`);
    expect(d.place(C, 'f')).toBe(`${C}/f`);
    // Its own id as its name is the same directory either way.
    expect(new PeerDirs(config(true, { [A]: A })).place(A, 'f')).toBe(`${A}/f`);
    expect(new PeerDirs(config(true, { '..': A, ok: A })).place(A, 'f')).toBe('ok/f');
  });
});
