import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SeededRng } from '../../src/rng.js';
import { nobleBackend } from '../../src/noble.js';
import { nodeBackend } from '../../src/crypto/backend-node.js';
import { writeNonce } from '../../src/crypto/noise/cipher-state.js';
import { ProtectBatch, jsPacketProtection, type PacketKey } from '../../src/crypto/packet-protection.js';
import { BACKENDS, expectCode, hex } from './helpers.js';

const HDR = 13;
const KEY = new Uint8Array(32).map((_, i) => i * 3 + 1);

interface Layout {
  buf: Uint8Array;
  offsets: number[];
  lens: number[];
  pns: number[];
}

/** Packets with 13-byte headers at irregular offsets, each with room for its tag. */
function layout(sizes: number[], firstPn: number, seed: number): Layout {
  const rng = new SeededRng(seed);
  const offsets: number[] = [];
  let off = rng.nextInt(7);
  for (const s of sizes) {
    offsets.push(off);
    off += HDR + s + 16 + rng.nextInt(5);
  }
  const buf = new Uint8Array(off);
  rng.fill(buf);
  return { buf, offsets, lens: sizes.slice(), pns: sizes.map((_, i) => firstPn + i * 3) };
}

function load(b: ProtectBatch, l: Layout, sealed: boolean): void {
  b.buf = l.buf;
  b.count = l.lens.length;
  l.lens.forEach((len, i) => {
    b.offsets[i] = l.offsets[i]!;
    b.headerLens[i] = HDR;
    b.payloadLens[i] = len + (sealed ? 16 : 0);
    b.pns[i] = l.pns[i]!;
    b.status[i] = 7; // must be overwritten by open
  });
}

const sizesArb = fc.array(fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 64 }), fc.integer({ min: 1100, max: 1420 })), {
  minLength: 1,
  maxLength: 24,
});
const pnArb = fc.oneof(fc.integer({ min: 0, max: 1000 }), fc.integer({ min: 2 ** 32 - 10, max: 2 ** 32 + 10 }), fc.constant(2 ** 53 - 100));

describe('ProtectBatch / jsPacketProtection', () => {
  it('seal then open round-trips mixed sizes; node and noble give identical bytes; matches the one-shot AEAD', () => {
    const node = jsPacketProtection(nodeBackend).newKey(KEY);
    const noble = jsPacketProtection(nobleBackend).newKey(KEY);
    const b = new ProtectBatch(32);
    fc.assert(
      fc.property(sizesArb, pnArb, fc.integer(), (sizes, firstPn, seed) => {
        const ln = layout(sizes, firstPn, seed);
        const lb = layout(sizes, firstPn, seed);
        const plain = ln.buf.slice();
        load(b, ln, false);
        node.seal(b);
        expect(Array.from(b.payloadLens.subarray(0, b.count))).toEqual(sizes.map((s) => s + 16));
        load(b, lb, false);
        noble.seal(b);
        expect(hex(lb.buf)).toBe(hex(ln.buf));
        const nonce = new Uint8Array(12);
        sizes.forEach((s, i) => {
          const o = ln.offsets[i]!;
          writeNonce(nonce, ln.pns[i]!);
          const ref = nodeBackend.aeadSeal(KEY, nonce, plain.subarray(o, o + HDR), plain.subarray(o + HDR, o + HDR + s));
          expect(hex(ln.buf.subarray(o + HDR, o + HDR + s + 16))).toBe(hex(ref));
        });
        for (const [key, l] of [[node, ln], [noble, lb]] as const) {
          load(b, l, true);
          key.open(b);
          expect(Array.from(b.status.subarray(0, b.count))).toEqual(sizes.map(() => 1));
          expect(Array.from(b.payloadLens.subarray(0, b.count))).toEqual(sizes);
          sizes.forEach((s, i) => {
            const o = l.offsets[i]!;
            expect(hex(l.buf.subarray(o, o + HDR + s))).toBe(hex(plain.subarray(o, o + HDR + s)));
          });
        }
      }),
      { seed: 21, numRuns: 40 },
    );
  });

  for (const backend of BACKENDS) {
    it(`${backend.name}: tampering any byte of header, ciphertext or tag fails only that packet`, () => {
      const key = jsPacketProtection(backend).newKey(KEY);
      const b = new ProtectBatch(16);
      fc.assert(
        fc.property(sizesArb.filter((s) => s.length <= 16), fc.integer(), fc.nat(), fc.integer({ min: 1, max: 255 }), (sizes, seed, pick, xor) => {
          const l = layout(sizes, 5, seed);
          load(b, l, false);
          key.seal(b);
          const victim = pick % sizes.length;
          const span = HDR + sizes[victim]! + 16;
          const at = l.offsets[victim]! + ((pick >>> 5) % span);
          l.buf[at] = l.buf[at]! ^ xor;
          const tampered = l.buf.slice();
          load(b, l, true);
          key.open(b);
          sizes.forEach((s, i) => {
            expect(b.status[i], `packet ${i} (victim ${victim})`).toBe(i === victim ? 0 : 1);
            expect(b.payloadLens[i]).toBe(i === victim ? s + 16 : s);
          });
          // The failed packet is left exactly as received: no partially decrypted bytes.
          const o = l.offsets[victim]!;
          expect(hex(l.buf.subarray(o, o + span))).toBe(hex(tampered.subarray(o, o + span)));
        }),
        { seed: 22, numRuns: backend.name === 'noble' ? 40 : 150 },
      );
    });

    it(`${backend.name}: wrong packet number, wrong key or malformed entries fail without throwing`, () => {
      const pp = jsPacketProtection(backend);
      const key = pp.newKey(KEY);
      expect(pp.name).toBe(`js-${backend.name}`);
      const b = new ProtectBatch(8);
      const l = layout([10, 20, 30, 40, 50, 60], 100, 3);
      load(b, l, false);
      key.seal(b);
      load(b, l, true);
      b.pns[0] = 101; // wrong packet number
      b.payloadLens[1] = 15; // shorter than a tag
      b.payloadLens[2] = l.buf.length; // runs past the buffer
      b.pns[3] = -1; // not a packet number
      b.pns[4] = 0.5;
      key.open(b);
      expect(Array.from(b.status.subarray(0, 6))).toEqual([0, 0, 0, 0, 0, 1]);
      const other = pp.newKey(new Uint8Array(32));
      load(b, l, true);
      other.open(b);
      expect(Array.from(b.status.subarray(0, 6))).toEqual([0, 0, 0, 0, 0, 0]);
    });

    it(`${backend.name}: seal refuses a bad batch before touching any packet`, () => {
      const key: PacketKey = jsPacketProtection(backend).newKey(KEY);
      const b = new ProtectBatch(4);
      const l = layout([10, 10, 10], 0, 4);
      const before = hex(l.buf);
      load(b, l, false);
      b.payloadLens[2] = 10 + 1000; // no room for the tag
      expectCode(() => key.seal(b), 'E_WIRE_TOO_LARGE');
      load(b, l, false);
      b.pns[1] = 2 ** 53;
      expectCode(() => key.seal(b), 'E_NONCE_EXHAUSTED');
      load(b, l, false);
      b.pns[1] = -3;
      expectCode(() => key.seal(b), 'E_INTERNAL');
      expect(hex(l.buf)).toBe(before);
      b.count = 5;
      expectCode(() => key.seal(b), 'E_INTERNAL');
      key.destroy();
      load(b, l, false);
      expectCode(() => key.seal(b), 'E_NOISE_STATE');
      expectCode(() => key.open(b), 'E_NOISE_STATE');
      expectCode(() => jsPacketProtection(backend).newKey(new Uint8Array(31)), 'E_CRYPTO_KEY');
      expectCode(() => new ProtectBatch(0), 'E_INTERNAL');
    });
  }
});
