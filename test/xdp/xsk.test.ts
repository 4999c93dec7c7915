/**
 * The native AF_XDP socket on its own: argument checks before any syscall,
 * UMEM on huge pages or the documented fallback, and calls out of order.
 * Sockets here are created but never bound, so no interface is involved.
 */
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { loadNativeXdp } from '@wraith/transport-xdp';
import { describeIf, itIf, needRoot } from '../support/prereq.js';

const native = loadNativeXdp();
const base = { ringSize: 64, frames: 128, frameSize: 2048 as const, hugePages: false, numaNode: -1 };

function hugePagesFree(): number {
  return Number(/^HugePages_Free:\s*(\d+)/m.exec(readFileSync('/proc/meminfo', 'utf8'))?.[1] ?? 0);
}

describeIf(needRoot() ?? (native.xdp ? null : `native addon: ${native.reason}`), 'XskSocket (unbound)', () => {
  const x = native.xdp!;

  it('checks its options before creating anything', () => {
    expect(() => new x.XskSocket({ ...base, ringSize: 100 })).toThrow(/ringSize = 100 must be a power of two/);
    expect(() => new x.XskSocket({ ...base, frameSize: 3072 as 2048 })).toThrow(/frameSize/);
    expect(() => new x.XskSocket({ ...base, frames: 3 })).toThrow(/frames = 3 is not an integer in \[128/);
    expect(() => new x.XskSocket({ ...base, numaNode: 99 })).toThrow(/numaNode/);
  });

  it('splits the UMEM between RX and TX and refuses work before bind()', () => {
    const s = new x.XskSocket({ ...base, frames: 1000 });
    try {
      expect(s.fd).toBeGreaterThan(2);
      expect(s.info).toMatchObject({ rxFrames: 64, txFrames: 64, umemBytes: 1000 * 2048, zeroCopy: false });
      const z = new Uint32Array(1);
      expect(() => s.tx(new Uint8Array(64), 64, z, new Uint8Array(8), z, z, 1, true)).toThrow(/tx\(\) before bind\(\)/);
      expect(() => s.startPoll(new Uint8Array(4096), 2048, new Uint32Array(2), 2, () => {})).toThrow(/before bind/);
      expect(s.rx(new Uint8Array(4096), 2048, new Uint32Array(2), 2)).toBe(0);
      expect(() => s.rx(new Uint8Array(100), 2048, new Uint32Array(2), 2)).toThrow(/max \* stride/);
    } finally {
      expect(s.close()).toBe(false); // no poll handle: torn down at once
    }
    expect(s.close()).toBe(false); // idempotent
    expect(() => s.kick()).toThrow(/closed/);
  });

  it('puts the UMEM on huge pages when some are free, else falls back and says why', () => {
    const free = hugePagesFree();
    const s = new x.XskSocket({ ...base, hugePages: true });
    try {
      if (free > 0) {
        expect(s.info.hugePages).toBe(true);
      } else {
        expect(s.info.hugePages).toBe(false);
        expect(s.info.note).toMatch(/huge pages unavailable \(mmap MAP_HUGETLB: .*; set vm\.nr_hugepages\)/);
      }
    } finally {
      s.close();
    }
  });
});

describe('native AF_XDP binding', () => {
  itIf(native.xdp ? null : 'the native addon with AF_XDP support', 'reports whether AF_XDP sockets can be created here', () => {
    const err = native.xdp!.afXdpErrno();
    expect(typeof err).toBe('number');
    if (process.getuid?.() === 0) expect(err).toBe(0);
  });
});
