import fc from 'fast-check';
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { expect, it } from 'vitest';
import { ProtectBatch, jsPacketProtection, nodeBackend, type PacketKey } from '@wraith/core';
import { nobleBackend } from '@wraith/core/noble';
import { IN_CI, describeIf } from '../../../test/support/prereq.js';
import { bestPacketProtection, nativePacketProtection, nativeProtectionStatus } from '../src/index.js';
import {
  HDR,
  KEY,
  cloneLayout,
  codeOf,
  copyBatch,
  hex,
  layout,
  load,
  nonceFor,
  rawCodeOf,
  rawCrypto,
  snapshot,
  type Layout,
} from './helpers.js';

/** The buffer open() must leave: the sealed bytes with each packet's plaintext back in place (tags stay). */
function expectedOpen(sealed: Uint8Array, plain: Uint8Array, l: Layout): string {
  const out = sealed.slice();
  l.lens.forEach((s, i) => out.set(plain.subarray(l.offsets[i]!, l.offsets[i]! + HDR + s), l.offsets[i]!));
  return hex(out);
}

const sizesArb = fc.array(fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 64 }), fc.integer({ min: 1100, max: 1420 })), {
  minLength: 1,
  maxLength: 24,
});
const pnArb = fc.oneof(fc.integer({ min: 0, max: 1000 }), fc.integer({ min: 2 ** 32 - 10, max: 2 ** 32 + 10 }), fc.constant(2 ** 53 - 100));
/** Packet numbers, valid or not, as a ProtectBatch may hold them. */
const anyPnArb = fc.oneof(
  fc.integer({ min: 0, max: 2 ** 40 }),
  fc.constantFrom(2 ** 53 - 1, 2 ** 53, 2 ** 64, -1, -0, 0.5, Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY),
);

describeIf(nativeProtectionStatus().reason, 'nativePacketProtection (native-openssl)', () => {
  const native = nativePacketProtection()!;
  const raw = rawCrypto()!;

  it('is named native-openssl, reports its OpenSSL, and is what bestPacketProtection picks', () => {
    expect(native.name).toBe('native-openssl');
    expect(nativeProtectionStatus()).toMatchObject({ available: true, reason: null });
    expect(nativeProtectionStatus().openssl).toMatch(/^OpenSSL \d/);
    expect(bestPacketProtection(nodeBackend).name).toBe('native-openssl');
    expect(bestPacketProtection(nodeBackend, 'auto').name).toBe('native-openssl');
    expect(bestPacketProtection(nodeBackend, 'native').name).toBe('native-openssl');
    expect(bestPacketProtection(nobleBackend, 'js').name).toBe('js-noble');
    expect(codeOf(() => bestPacketProtection(nodeBackend, 'fast' as 'js'))).toBe('E_CRYPTO_BACKEND');
  });

  it('round-trips mixed sizes and gives bytes identical to js-node, js-noble and the one-shot AEAD', () => {
    const nat = native.newKey(KEY);
    const jsn = jsPacketProtection(nodeBackend).newKey(KEY);
    const jsb = jsPacketProtection(nobleBackend).newKey(KEY);
    const b = new ProtectBatch(32);
    fc.assert(
      fc.property(sizesArb, pnArb, fc.integer(), (sizes, firstPn, seed) => {
        const ln = layout(sizes, firstPn, seed);
        const lj = cloneLayout(ln);
        const lb = cloneLayout(ln);
        const plain = ln.buf.slice();
        load(b, ln, false);
        nat.seal(b);
        expect(Array.from(b.payloadLens.subarray(0, b.count))).toEqual(sizes.map((s) => s + 16));
        load(b, lj, false);
        jsn.seal(b);
        load(b, lb, false);
        jsb.seal(b);
        expect(hex(ln.buf)).toBe(hex(lj.buf));
        expect(hex(ln.buf)).toBe(hex(lb.buf));
        sizes.forEach((s, i) => {
          const o = ln.offsets[i]!;
          const ref = nodeBackend.aeadSeal(KEY, nonceFor(ln.pns[i]!), plain.subarray(o, o + HDR), plain.subarray(o + HDR, o + HDR + s));
          expect(hex(ln.buf.subarray(o + HDR, o + HDR + s + 16))).toBe(hex(ref));
        });
        // Bytes outside the packets (the gaps between them) are never touched.
        const touched = new Uint8Array(ln.buf.length);
        sizes.forEach((s, i) => touched.fill(1, ln.offsets[i]! + HDR, ln.offsets[i]! + HDR + s + 16));
        for (let j = 0; j < touched.length; j++) if (touched[j] === 0) expect(ln.buf[j]).toBe(plain[j]);
        const opened = expectedOpen(ln.buf, plain, ln);
        // Native opens what JS sealed and the reverse.
        for (const [key, l] of [
          [nat, lj],
          [jsn, ln],
          [nat, lb],
        ] as const) {
          load(b, l, true);
          key.open(b);
          expect(Array.from(b.status.subarray(0, b.count))).toEqual(sizes.map(() => 1));
          expect(Array.from(b.payloadLens.subarray(0, b.count))).toEqual(sizes);
          expect(hex(l.buf)).toBe(opened);
        }
      }),
      { seed: 31, numRuns: 60 },
    );
  });

  it('seal of any batch, malformed or not, matches js-node: same bytes, or the same error code before any change', () => {
    const nat = native.newKey(KEY);
    const jsn = jsPacketProtection(nodeBackend).newKey(KEY);
    const entry = fc.record({
      off: fc.oneof(fc.integer({ min: 0, max: 3000 }), fc.constant(0xffffffff)),
      hl: fc.oneof(fc.integer({ min: 0, max: 40 }), fc.constant(0xffffffff)),
      len: fc.oneof(fc.integer({ min: 0, max: 1500 }), fc.constant(0xffffffff), fc.constant(0xfffffff0)),
      pn: fc.oneof(fc.integer({ min: 0, max: 2 ** 40 }), anyPnArb),
    });
    fc.assert(
      fc.property(fc.array(entry, { minLength: 0, maxLength: 12 }), fc.integer({ min: 0, max: 4000 }), fc.integer(), (entries, bufLen, seed) => {
        const base = layout([bufLen], 0, seed).buf.subarray(0, bufLen);
        const a = new ProtectBatch(16);
        a.buf = base.slice();
        a.count = entries.length;
        entries.forEach((e, i) => {
          a.offsets[i] = e.off;
          a.headerLens[i] = e.hl;
          a.payloadLens[i] = e.len;
          a.pns[i] = e.pn;
        });
        const j = copyBatch(a, base.slice());
        const run = (k: PacketKey, b: ProtectBatch): string => {
          try {
            k.seal(b);
            return 'ok';
          } catch (err) {
            expect((err as Error).name).toBe('WraithError');
            return (err as { code: string }).code;
          }
        };
        const rn = run(nat, a);
        const rj = run(jsn, j);
        expect(rn).toBe(rj);
        if (rn !== 'ok') expect(hex(a.buf)).toBe(hex(base));
        expect(snapshot(a)).toEqual(snapshot(j));
      }),
      { seed: 32, numRuns: 400 },
    );
  });

  it('open of any batch, forged, duplicated or out of range, matches js-node exactly and never throws', () => {
    const nat = native.newKey(KEY);
    const jsn = jsPacketProtection(nodeBackend).newKey(KEY);
    const mutation = fc.record({
      victim: fc.nat(),
      kind: fc.constantFrom('pn', 'len', 'off', 'hl', 'flip', 'dup', 'none'),
      value: fc.oneof(fc.nat(), anyPnArb, fc.constant(0xffffffff)),
    });
    fc.assert(
      fc.property(sizesArb.filter((s) => s.length <= 12), fc.integer(), fc.array(mutation, { maxLength: 4 }), (sizes, seed, muts) => {
        const l = layout(sizes, 9, seed);
        const b = new ProtectBatch(16);
        load(b, l, false);
        nat.seal(b);
        load(b, l, true);
        for (const m of muts) {
          const v = m.victim % sizes.length;
          const x = typeof m.value === 'number' ? m.value : 0;
          if (m.kind === 'pn') b.pns[v] = x;
          else if (m.kind === 'len') b.payloadLens[v] = Number.isFinite(x) ? Math.abs(Math.trunc(x)) % 3000 : 0xffffffff;
          else if (m.kind === 'off') b.offsets[v] = Number.isFinite(x) ? Math.abs(Math.trunc(x)) : 0xffffffff;
          else if (m.kind === 'hl') b.headerLens[v] = Number.isFinite(x) ? Math.abs(Math.trunc(x)) % 40 : 0xffffffff;
          else if (m.kind === 'flip' && l.buf.length > 0) {
            const at = (Number.isFinite(x) ? Math.abs(Math.trunc(x)) : 0) % l.buf.length;
            l.buf[at] = l.buf[at]! ^ 1;
          } else if (m.kind === 'dup' && b.count < b.capacity) {
            // The same packet listed twice: the second sees plaintext and must fail the same way.
            b.offsets[b.count] = b.offsets[v]!;
            b.headerLens[b.count] = b.headerLens[v]!;
            b.payloadLens[b.count] = b.payloadLens[v]!;
            b.pns[b.count] = b.pns[v]!;
            b.count++;
          }
        }
        const j = copyBatch(b, l.buf.slice());
        nat.open(b);
        jsn.open(j);
        expect(snapshot(b)).toEqual(snapshot(j));
      }),
      { seed: 33, numRuns: 400 },
    );
  });

  it('tampering any byte of header, ciphertext or tag fails only that packet and leaves its bytes as received', () => {
    const key = native.newKey(KEY);
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
        const o = l.offsets[victim]!;
        expect(hex(l.buf.subarray(o, o + span))).toBe(hex(tampered.subarray(o, o + span)));
      }),
      { seed: 34, numRuns: 300 },
    );
  });

  it('every single byte of a packet is covered: flipping each one in turn fails the packet', () => {
    const key = native.newKey(KEY);
    const b = new ProtectBatch(1);
    const l = layout([40], 77, 5);
    load(b, l, false);
    key.seal(b);
    const sealed = l.buf.slice();
    const o = l.offsets[0]!;
    for (let at = o; at < o + HDR + 40 + 16; at++) {
      l.buf.set(sealed);
      l.buf[at] = l.buf[at]! ^ 0x01;
      load(b, l, true);
      key.open(b);
      expect(b.status[0], `byte ${at - o}`).toBe(0);
      expect(l.buf[at]).toBe(sealed[at]! ^ 0x01);
      expect(hex(l.buf.subarray(0, at))).toBe(hex(sealed.subarray(0, at)));
    }
  });

  it('wrong packet number, wrong key or malformed entries fail without throwing', () => {
    const key = native.newKey(KEY);
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
    const other = native.newKey(new Uint8Array(32));
    load(b, l, true);
    other.open(b);
    expect(Array.from(b.status.subarray(0, 6))).toEqual([0, 0, 0, 0, 0, 0]);
    b.count = 0;
    key.open(b); // an empty batch is fine
  });

  it('seal refuses a bad batch before touching any packet; misuse throws coded WraithErrors', () => {
    const key: PacketKey = native.newKey(KEY);
    const b = new ProtectBatch(4);
    const l = layout([10, 10, 10], 0, 4);
    const before = hex(l.buf);
    load(b, l, false);
    b.payloadLens[2] = 10 + 1000; // no room for the tag
    expect(codeOf(() => key.seal(b))).toBe('E_WIRE_TOO_LARGE');
    load(b, l, false);
    // Room for the payload but one byte short of the whole tag.
    b.payloadLens[2] = l.buf.length - l.offsets[2]! - HDR - 16 + 1;
    expect(codeOf(() => key.seal(b))).toBe('E_WIRE_TOO_LARGE');
    load(b, l, false);
    b.pns[1] = 2 ** 53;
    expect(codeOf(() => key.seal(b))).toBe('E_NONCE_EXHAUSTED');
    b.pns[1] = Number.POSITIVE_INFINITY;
    expect(codeOf(() => key.seal(b))).toBe('E_NONCE_EXHAUSTED');
    for (const bad of [-3, 0.5, Number.NaN]) {
      load(b, l, false);
      b.pns[1] = bad;
      expect(codeOf(() => key.seal(b)), String(bad)).toBe('E_INTERNAL');
    }
    expect(hex(l.buf)).toBe(before);
    load(b, l, false);
    b.pns[2] = 2 ** 53 - 1; // the last usable number seals
    key.seal(b);
    for (const count of [5, -1, 1.5, Number.NaN]) {
      b.count = count;
      expect(codeOf(() => key.seal(b)), `count ${count}`).toBe('E_INTERNAL');
      expect(codeOf(() => key.open(b)), `count ${count}`).toBe('E_INTERNAL');
    }
    // Layout errors carry where and how far.
    load(b, l, false);
    b.payloadLens[2] = 5000;
    try {
      key.seal(b);
      throw new Error('seal accepted an oversized packet');
    } catch (e) {
      expect((e as { details: unknown }).details).toEqual({ index: 2, end: l.offsets[2]! + HDR + 5000 + 16, bufLen: l.buf.length });
    }
    key.destroy();
    key.destroy(); // idempotent
    load(b, l, false);
    expect(codeOf(() => key.seal(b))).toBe('E_NOISE_STATE');
    expect(codeOf(() => key.open(b))).toBe('E_NOISE_STATE');
    expect(codeOf(() => native.newKey(new Uint8Array(31)))).toBe('E_CRYPTO_KEY');
    expect(codeOf(() => native.newKey(new Uint8Array(33)))).toBe('E_CRYPTO_KEY');
    expect(codeOf(() => native.newKey([1, 2] as unknown as Uint8Array))).toBe('E_CRYPTO_KEY');
    b.buf = new DataView(new ArrayBuffer(8)) as unknown as Uint8Array;
    expect(codeOf(() => native.newKey(KEY).seal(b))).toBe('E_INTERNAL');
  });

  it('keys are independent; destroying one leaves the other working; the key bytes can be wiped after newKey', () => {
    const k1bytes = KEY.slice();
    const k1 = native.newKey(k1bytes);
    k1bytes.fill(0); // the native key holds its own schedule
    const k2 = native.newKey(new Uint8Array(32).fill(9));
    const ref = jsPacketProtection(nodeBackend).newKey(KEY);
    const b = new ProtectBatch(4);
    const l1 = layout([100, 200], 1, 1);
    const lr = cloneLayout(l1);
    const l2 = layout([100, 200], 1, 1);
    load(b, l1, false);
    k1.seal(b);
    load(b, l2, false);
    k2.seal(b);
    load(b, lr, false);
    ref.seal(b);
    expect(hex(l1.buf)).toBe(hex(lr.buf));
    expect(hex(l1.buf)).not.toBe(hex(l2.buf));
    k2.destroy();
    load(b, l1, true);
    k1.open(b);
    expect(Array.from(b.status.subarray(0, 2))).toEqual([1, 1]);
  });

  it('opens packets of any size like js-node; forged ones, small or large, keep their bytes', () => {
    const nat = native.newKey(KEY);
    const jsn = jsPacketProtection(nodeBackend).newKey(KEY);
    const max = 65536;
    const sizes = [max - 16, max, max + 1, 100_000, 3];
    const l = layout(sizes, 2 ** 33, 8);
    const lj = cloneLayout(l);
    const plain = l.buf.slice();
    const b = new ProtectBatch(8);
    load(b, l, false);
    nat.seal(b);
    load(b, lj, false);
    jsn.seal(b);
    expect(hex(l.buf)).toBe(hex(lj.buf));
    const opened = expectedOpen(l.buf, plain, l);
    // Tamper the 100 000-byte packet's tag and the (max+1)-byte packet's first ciphertext byte.
    const t3 = l.offsets[3]! + HDR + sizes[3]! + 15;
    l.buf[t3] = l.buf[t3]! ^ 4;
    const c2 = l.offsets[2]! + HDR;
    l.buf[c2] = l.buf[c2]! ^ 4;
    const tampered = l.buf.slice();
    load(b, l, true);
    nat.open(b);
    expect(Array.from(b.status.subarray(0, 5))).toEqual([1, 1, 0, 0, 1]);
    for (const i of [2, 3]) {
      const o = l.offsets[i]!;
      const end = o + HDR + sizes[i]! + 16;
      expect(hex(l.buf.subarray(o, end)), `packet ${i}`).toBe(hex(tampered.subarray(o, end)));
    }
    for (const i of [0, 1, 4]) {
      const o = l.offsets[i]!;
      expect(hex(l.buf.subarray(o, o + HDR + sizes[i]!)), `packet ${i}`).toBe(hex(plain.subarray(o, o + HDR + sizes[i]!)));
    }
    // And the untampered large packets open.
    l.buf.set(tampered);
    l.buf[t3] = l.buf[t3]! ^ 4;
    l.buf[c2] = l.buf[c2]! ^ 4;
    load(b, l, true);
    nat.open(b);
    expect(Array.from(b.status.subarray(0, 5))).toEqual([1, 1, 1, 1, 1]);
    expect(hex(l.buf)).toBe(opened);
  });

  it('seal with tails read from other buffers gives the bytes of copying them in first (direct, EVP, js-node)', () => {
    const lenArb = fc.oneof(fc.integer({ min: 0, max: 70 }), fc.integer({ min: 1000, max: 1440 }), fc.integer({ min: 0, max: 5000 }));
    const pktArb = fc.record({ hl: fc.integer({ min: 0, max: 40 }), len: lenArb, cut: fc.double({ min: 0, max: 1, noNaN: true }), src: fc.nat(2), pn: fc.integer({ min: 0, max: 2 ** 40 }) });
    const impls = [native, jsPacketProtection(nodeBackend)];
    fc.assert(
      fc.property(fc.array(pktArb, { minLength: 1, maxLength: 12 }), fc.integer(), (pkts, seed) => {
        const n = pkts.length;
        const srcs = [0, 1, 2].map((j) => new Uint8Array(6000).map((_, i) => (i * 7 + j * 31 + seed) & 0xff));
        let total = 0;
        const offsets = pkts.map((p) => {
          const at = total;
          total += p.hl + p.len + 16 + 3;
          return at;
        });
        const plain = new Uint8Array(total).map((_, i) => (i * 131 + seed) & 0xff);
        const tails = pkts.map((p) => Math.floor(p.len * p.cut));
        const tailOffs = pkts.map((p, i) => (p.len * 3 + i) % (6000 - tails[i]!));
        // The reference: tails copied in, sealed without tails.
        const expected = plain.slice();
        pkts.forEach((p, i) => expected.set(srcs[p.src]!.subarray(tailOffs[i]!, tailOffs[i]! + tails[i]!), offsets[i]! + p.hl + p.len - tails[i]!));
        const fill = (b: ProtectBatch, buf: Uint8Array, withTails: boolean): void => {
          b.buf = buf;
          b.count = n;
          b.clearTails();
          pkts.forEach((p, i) => {
            b.offsets[i] = offsets[i]!;
            b.headerLens[i] = p.hl;
            b.payloadLens[i] = p.len;
            b.pns[i] = p.pn;
            b.tailLens[i] = withTails ? tails[i]! : 0;
            b.tailOffs[i] = tailOffs[i]!;
            b.tailIdx[i] = withTails ? b.tailSource(srcs[p.src]!) : 0;
          });
        };
        const ref = new ProtectBatch(n);
        const refBuf = expected.slice();
        fill(ref, refBuf, false);
        impls[1]!.newKey(KEY).seal(ref);
        for (const impl of impls) {
          const b = new ProtectBatch(n);
          const buf = plain.slice();
          fill(b, buf, true);
          impl.newKey(KEY).seal(b);
          expect(hex(buf), impl.name).toBe(hex(refBuf));
          expect(Array.from(b.payloadLens.subarray(0, n)), impl.name).toEqual(Array.from(ref.payloadLens.subarray(0, n)));
        }
        // The raw binding on EVP takes the same tails.
        const evp = raw.createPacketKey(KEY, 'evp');
        try {
          const b = new ProtectBatch(n);
          const buf = plain.slice();
          fill(b, buf, true);
          raw.sealBatch(evp, buf, n, b.offsets, b.headerLens, b.payloadLens, b.pns, b.tailLens, b.tailOffs, b.tailIdx, b.tailSrcs, b.tailSrcCount);
          expect(hex(buf), 'evp').toBe(hex(refBuf));
        } finally {
          raw.destroyPacketKey(evp);
        }
      }),
      { numRuns: 120 },
    );
  });

  it('seal refuses a tail outside its source or payload, or sharing memory with the packets, before touching any packet', () => {
    for (const impl of [native, jsPacketProtection(nodeBackend)]) {
      const key = impl.newKey(KEY);
      const src = new Uint8Array(100);
      const cases: Array<[string, (b: ProtectBatch) => void]> = [
        ['past the source end', (b) => { b.tailOffs[1] = 90; b.tailLens[1] = 20; }],
        ['longer than the payload', (b) => { b.tailLens[1] = 60; }],
        ['an unknown source', (b) => { b.tailIdx[1] = 3; }],
      ];
      for (const [what, spoil] of cases) {
        const b = new ProtectBatch(2);
        b.buf = new Uint8Array(200);
        b.count = 2;
        b.offsets.set([0, 100]);
        b.headerLens.set([13, 13]);
        b.payloadLens.set([50, 50]);
        b.pns.set([1, 2]);
        b.tailLens.set([10, 10]);
        b.tailIdx.set([b.tailSource(src), 0]);
        spoil(b);
        const before = hex(b.buf);
        expect(codeOf(() => key.seal(b)), `${impl.name}: ${what}`).toBe('E_INTERNAL');
        expect(hex(b.buf), `${impl.name}: ${what}`).toBe(before);
      }
    }
    const b = new ProtectBatch(1);
    b.buf = new Uint8Array(200);
    b.count = 1;
    b.headerLens[0] = 13;
    b.payloadLens[0] = 50;
    b.tailLens[0] = 10;
    b.tailIdx[0] = b.tailSource(b.buf.subarray(150));
    expect(codeOf(() => native.newKey(KEY).seal(b))).toBe('E_INTERNAL');
  });

  it('works on views of any ArrayBuffer: pooled Buffers, subarrays with an offset, SharedArrayBuffer', () => {
    const nat = native.newKey(KEY);
    const jsn = jsPacketProtection(nodeBackend).newKey(KEY);
    const sizes = [0, 1, 700, 1400];
    const l = layout(sizes, 42, 6);
    const pooled = Buffer.from(l.buf); // from Node's pool: byteOffset is usually not 0
    const big = new Uint8Array(l.buf.length + 33);
    const sub = big.subarray(17, 17 + l.buf.length);
    sub.set(l.buf);
    const shared = new Uint8Array(new SharedArrayBuffer(l.buf.length));
    shared.set(l.buf);
    const ref = cloneLayout(l);
    const b = new ProtectBatch(8);
    load(b, ref, false);
    jsn.seal(b);
    const opened = expectedOpen(ref.buf, l.buf, l);
    for (const [name, buf] of [
      ['pooled Buffer', pooled],
      ['subarray', sub],
      ['shared', shared],
    ] as const) {
      load(b, { ...l, buf }, false);
      nat.seal(b);
      expect(hex(buf), name).toBe(hex(ref.buf));
      load(b, { ...l, buf }, true);
      nat.open(b);
      expect(Array.from(b.status.subarray(0, 4)), name).toEqual([1, 1, 1, 1]);
      expect(hex(buf), name).toBe(opened);
    }
    expect(hex(big.subarray(0, 17))).toBe('00'.repeat(17));
    expect(hex(big.subarray(17 + l.buf.length))).toBe('00'.repeat(16));
  });

    it('raw binding: the direct engine is the default here, and it and EVP give the same bytes and verdicts on any batch', () => {
      // The direct engine composes OpenSSL's primitives itself; EVP is the reference.
      const eng = raw.aeadEngine();
      if (IN_CI) expect(eng).toEqual({ engine: 'direct', reason: null });
      else if (eng.engine !== 'direct') console.warn(`direct engine unavailable: ${eng.reason}`);
      expect(nativeProtectionStatus().engine).toBe(eng.engine);
      expect(rawCodeOf(() => raw.createPacketKey(KEY, 'fast' as 'evp'))).toBe('E_INTERNAL');
      if (eng.engine !== 'direct') return;
      const lenArb = fc.oneof(fc.integer({ min: 0, max: 70 }), fc.integer({ min: 1000, max: 1500 }), fc.integer({ min: 0, max: 9000 }));
      const pktArb = fc.record({
        hl: fc.integer({ min: 0, max: 40 }),
        len: lenArb,
        pn: fc.oneof(fc.bigInt({ min: 0n, max: 2n ** 40n }), fc.bigInt({ min: 0n, max: 2n ** 64n - 1n })),
        flip: fc.option(fc.nat(), { nil: undefined }),
      });
      fc.assert(
        fc.property(fc.array(pktArb, { minLength: 1, maxLength: 16 }), fc.uint8Array({ minLength: 32, maxLength: 32 }), fc.integer(), (pkts, key32, seed) => {
          const n = pkts.length;
          const offsets = new Uint32Array(n);
          const hls = Uint32Array.from(pkts.map((p) => p.hl));
          const pns = BigUint64Array.from(pkts.map((p) => p.pn));
          let total = 0;
          pkts.forEach((p, i) => {
            offsets[i] = total;
            total += p.hl + p.len + 16 + (i % 3);
          });
          const plain = new Uint8Array(total).map((_, i) => (i * 131 + seed) & 0xff);
          const keys = [raw.createPacketKey(key32, 'direct'), raw.createPacketKey(key32, 'evp')] as const;
          try {
            const out = keys.map((k) => {
              const buf = plain.slice();
              const pls = Uint32Array.from(pkts.map((p) => p.len));
              raw.sealBatch(k, buf, n, offsets, hls, pls, pns);
              return { buf, pls };
            });
            expect(hex(out[0]!.buf)).toBe(hex(out[1]!.buf));
            expect(Array.from(out[0]!.pls)).toEqual(Array.from(out[1]!.pls));
            // Forge some packets (header, body or tag), then open the same bytes with both.
            const sealed = out[0]!.buf;
            pkts.forEach((p, i) => {
              const span = p.hl + p.len + 16;
              if (p.flip !== undefined) sealed[offsets[i]! + (p.flip % span)]! ^= 1 << (p.flip % 8);
            });
            const opened = keys.map((k) => {
              const buf = sealed.slice();
              const pls = Uint32Array.from(pkts.map((p) => p.len + 16));
              const status = new Uint8Array(n);
              const count = raw.openBatch(k, buf, n, offsets, hls, pls, pns, status);
              return { buf, pls, status, count };
            });
            expect(hex(opened[0]!.buf)).toBe(hex(opened[1]!.buf));
            expect(Array.from(opened[0]!.status)).toEqual(Array.from(opened[1]!.status));
            expect(Array.from(opened[0]!.pls)).toEqual(Array.from(opened[1]!.pls));
            expect(opened[0]!.count).toBe(pkts.filter((p) => p.flip === undefined).length);
          } finally {
            keys.forEach((k) => raw.destroyPacketKey(k));
          }
        }),
        { numRuns: 150 },
      );
    });

    it('raw binding: BigUint64Array packet numbers reach the whole u64 nonce space and match Float64 ones', () => {
      const key = raw.createPacketKey(KEY);
      try {
        const l = layout([50, 60, 70], 0, 12);
        const l2 = cloneLayout(l);
        const offsets = Uint32Array.from(l.offsets);
        const hls = new Uint32Array(3).fill(HDR);
        const pls = Uint32Array.from(l.lens);
        const pls2 = Uint32Array.from(l.lens);
        const plain = l.buf.slice();
        const small = [0, 2 ** 32 + 1, 2 ** 53 - 1];
        raw.sealBatch(key, l.buf, 3, offsets, hls, pls, Float64Array.from(small));
        raw.sealBatch(key, l2.buf, 3, offsets, hls, pls2, BigUint64Array.from(small.map(BigInt)));
        expect(hex(l.buf)).toBe(hex(l2.buf));
        const high = [2n ** 53n, 2n ** 63n + 5n, 2n ** 64n - 1n];
        const l3 = cloneLayout({ ...l, buf: plain });
        const pls3 = Uint32Array.from(l.lens);
        raw.sealBatch(key, l3.buf, 3, offsets, hls, pls3, BigUint64Array.from(high));
        high.forEach((pn, i) => {
          const o = l.offsets[i]!;
          const s = l.lens[i]!;
          const ref = nodeBackend.aeadSeal(KEY, nonceFor(pn), plain.subarray(o, o + HDR), plain.subarray(o + HDR, o + HDR + s));
          expect(hex(l3.buf.subarray(o + HDR, o + HDR + s + 16))).toBe(hex(ref));
        });
        const opened = expectedOpen(l3.buf, plain, l);
        const status = new Uint8Array(3);
        expect(raw.openBatch(key, l3.buf, 3, offsets, hls, pls3, BigUint64Array.from(high), status)).toBe(3);
        expect(Array.from(pls3)).toEqual(l.lens);
        expect(hex(l3.buf)).toBe(opened);
      } finally {
        raw.destroyPacketKey(key);
      }
    });

    it('raw binding: bad arguments and out-of-range layouts throw coded errors and touch nothing', () => {
      const key = raw.createPacketKey(KEY);
      const buf = new Uint8Array(256).fill(0xaa);
      const before = hex(buf);
      const off = new Uint32Array(4);
      const hl = new Uint32Array(4).fill(HDR);
      const pl = new Uint32Array(4).fill(10);
      const pns = new Float64Array(4);
      const st = new Uint8Array(4);
      const seal = (...a: unknown[]) => (raw.sealBatch as (...x: unknown[]) => void)(...a);
      const open = (...a: unknown[]) => (raw.openBatch as (...x: unknown[]) => number)(...a);
      // Wrong kinds of argument.
      expect(rawCodeOf(() => seal({}, buf, 1, off, hl, pl, pns))).toBe('E_INTERNAL');
      expect(rawCodeOf(() => seal(null, buf, 1, off, hl, pl, pns))).toBe('E_INTERNAL');
      expect(rawCodeOf(() => seal())).toBe('E_INTERNAL');
      expect(rawCodeOf(() => seal(key, buf, 1, off, hl, pl))).toBe('E_INTERNAL');
      expect(rawCodeOf(() => open(key, buf, 1, off, hl, pl, pns))).toBe('E_INTERNAL');
      expect(rawCodeOf(() => seal(key, new Uint16Array(8), 1, off, hl, pl, pns))).toBe('E_INTERNAL');
      expect(rawCodeOf(() => seal(key, new Uint8ClampedArray(8), 1, off, hl, pl, pns))).toBe('E_INTERNAL');
      expect(rawCodeOf(() => seal(key, buf.buffer, 1, off, hl, pl, pns))).toBe('E_INTERNAL');
      expect(rawCodeOf(() => seal(key, buf, 1, new Int32Array(4), hl, pl, pns))).toBe('E_INTERNAL');
      expect(rawCodeOf(() => seal(key, buf, 1, off, hl, pl, new Float32Array(4)))).toBe('E_INTERNAL');
      expect(rawCodeOf(() => seal(key, buf, 1, off, hl, pl, new BigInt64Array(4)))).toBe('E_INTERNAL');
      expect(rawCodeOf(() => open(key, buf, 1, off, hl, pl, pns, new Uint32Array(4)))).toBe('E_INTERNAL');
      expect(rawCodeOf(() => seal(key, buf, '1', off, hl, pl, pns))).toBe('E_INTERNAL');
      expect(rawCodeOf(() => seal(key, buf, 2 ** 32, off, hl, pl, pns))).toBe('E_INTERNAL');
      // count beyond any array.
      for (const i of [3, 4, 5, 6]) {
        const args: unknown[] = [key, buf, 4, off, hl, pl, pns];
        args[i] = i === 6 ? new Float64Array(3) : new Uint32Array(3);
        expect(rawCodeOf(() => seal(...args)), `arg ${i}`).toBe('E_INTERNAL');
      }
      expect(rawCodeOf(() => open(key, buf, 4, off, hl, pl, pns, new Uint8Array(3)))).toBe('E_INTERNAL');
      // Offsets and lengths that would overflow 32 bits, or reach past the end.
      for (const [o, h, p] of [
        [0xffffffff, 0xffffffff, 0xffffffff],
        [0xffffffff, 0, 0],
        [0, 0xffffffff, 0],
        [0, 0, 0xffffffff],
        [0, 0, 0xfffffff0],
        [250, 0, 0],
        [0, 200, 41],
      ] as const) {
        off[1] = o;
        hl[1] = h;
        pl[1] = p;
        expect(rawCodeOf(() => seal(key, buf, 2, off, hl, pl, pns)), `${o}/${h}/${p}`).toBe('E_WIRE_TOO_LARGE');
        st.fill(9);
        expect(open(key, buf, 2, off, hl, pl, pns, st)).toBe(0);
        expect(Array.from(st.subarray(0, 2))).toEqual([0, 0]);
      }
      off[1] = 0;
      hl[1] = HDR;
      pl[1] = 10;
      // Arrays that share memory with the buffer or with each other.
      const inBuf = new Uint32Array(buf.buffer, 0, 4);
      expect(rawCodeOf(() => seal(key, buf, 1, inBuf, hl, pl, pns))).toBe('E_INTERNAL');
      expect(rawCodeOf(() => seal(key, buf, 1, off, hl, off, pns))).toBe('E_INTERNAL');
      expect(rawCodeOf(() => open(key, buf, 1, off, hl, pl, pns, buf.subarray(255)))).toBe('E_INTERNAL');
      const words = new Uint32Array(8);
      expect(rawCodeOf(() => seal(key, buf, 2, words.subarray(0, 4), words.subarray(1, 5), pl, pns))).toBe('E_INTERNAL');
      expect(hex(buf)).toBe(before);
      // A detached buffer has no bytes: nothing fits.
      const det = new Uint8Array(64);
      structuredClone(det.buffer, { transfer: [det.buffer] });
      expect(det.length).toBe(0);
      expect(rawCodeOf(() => seal(key, det, 1, off, hl, pl, pns))).toBe('E_WIRE_TOO_LARGE');
      expect(open(key, det, 1, off, hl, pl, pns, st)).toBe(0);
      // An empty batch is a no-op, even on an empty buffer.
      seal(key, new Uint8Array(0), 0, new Uint32Array(0), new Uint32Array(0), new Uint32Array(0), new Float64Array(0));
      // Keys: wrong length, wrong type, destroyed.
      expect(rawCodeOf(() => raw.createPacketKey(new Uint8Array(16)))).toBe('E_CRYPTO_KEY');
      expect(rawCodeOf(() => (raw.createPacketKey as (x: unknown) => unknown)('k'.repeat(32)))).toBe('E_CRYPTO_KEY');
      expect(raw.destroyPacketKey(key)).toBe(true);
      expect(raw.destroyPacketKey(key)).toBe(false);
      expect(rawCodeOf(() => seal(key, buf, 1, off, hl, pl, pns))).toBe('E_NOISE_STATE');
      expect(rawCodeOf(() => open(key, buf, 1, off, hl, pl, pns, st))).toBe('E_NOISE_STATE');
      expect(rawCodeOf(() => (raw.destroyPacketKey as (x: unknown) => unknown)({}))).toBe('E_INTERNAL');
      expect(hex(buf)).toBe(before);
    });

    it('raw binding: keys dropped without destroy() are freed by the GC finalizer (child with --expose-gc)', () => {
      const nativeEntry = createRequire(import.meta.url).resolve('@wraith/native');
      const script = `
        const { native } = require(${JSON.stringify(nativeEntry)});
        const c = native.crypto;
        const key = new Uint8Array(32).fill(1);
        // Node-API finalizers run from the event loop after a GC: yield between rounds.
        const round = async () => {
          for (let i = 0; i < 20000; i++) c.createPacketKey(key);
          global.gc();
          await new Promise((r) => setImmediate(r));
          await new Promise((r) => setImmediate(r));
        };
        (async () => {
          for (let r = 0; r < 3; r++) await round();
          const base = process.memoryUsage().rss;
          for (let r = 0; r < 15; r++) await round();
          const grown = process.memoryUsage().rss - base;
          console.log(JSON.stringify({ grown }));
        })();
      `;
      const r = spawnSync(process.execPath, ['--expose-gc', '-e', script], { encoding: 'utf8', env: { ...process.env, WRAITH_NO_NATIVE: '' } });
      expect(r.status, r.stderr).toBe(0);
      const { grown } = JSON.parse(r.stdout.trim()) as { grown: number };
      // 300 000 keys at ~0.5 KiB of EVP state each would be ~150 MB if never freed.
      expect(grown).toBeLessThan(40 * 1024 * 1024);
    });
});
