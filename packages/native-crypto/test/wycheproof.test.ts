/**
 * Wycheproof ChaCha20-Poly1305 (C2SP testvectors_v1) through the native batch binding.
 * Our nonce is fixed (4 zero bytes ‖ u64 LE packet number, docs/PROTOCOL.md §2.2), so only
 * 96-bit-nonce vectors whose nonce starts with 4 zero bytes can be expressed; their packet
 * number is the LE64 of nonce bytes 4..11 and their AAD becomes the "header". Both native
 * engines run every vector.
 */
import { readFileSync } from 'node:fs';
import { expect, it } from 'vitest';
import { describeIf, vectorFile } from '../../../test/support/prereq.js';
import { nativeProtectionStatus } from '../src/index.js';
import { hex, rawCrypto, unhex } from './helpers.js';

interface AeadTest {
  tcId: number;
  comment: string;
  key: string;
  iv: string;
  aad: string;
  msg: string;
  ct: string;
  tag: string;
  result: 'valid' | 'invalid' | 'acceptable';
}
interface AeadFile {
  numberOfTests: number;
  testGroups: { ivSize: number; keySize: number; tagSize: number; tests: AeadTest[] }[];
}

const file = vectorFile('wycheproof_chacha20_poly1305_test.json');
const reason = nativeProtectionStatus().reason ?? file.missing;

/** Both engines of the binding (native/src/crypto: OpenSSL's primitives directly, and EVP). */
const ENGINES = ['direct', 'evp'] as const;

/** How many of the file's vectors our nonce layout can express (checked below). */
const EXPECTED_USABLE = 10;

describeIf(reason, 'Wycheproof ChaCha20-Poly1305 through native sealBatch/openBatch', () => {
  const data = JSON.parse(readFileSync(file.path, 'utf8')) as AeadFile;
  const all = data.testGroups.flatMap((g) => g.tests.map((t) => ({ g, t })));
  const usable = all
    .filter(({ g, t }) => g.ivSize === 96 && g.keySize === 256 && g.tagSize === 128 && t.iv.startsWith('00000000'))
    .map(({ t }) => ({ ...t, pn: new DataView(unhex(t.iv).buffer).getBigUint64(4, true) }));

  it(`uses ${EXPECTED_USABLE} of the file's vectors (nonce = 4 zero bytes ‖ LE64), all beyond 2^53`, () => {
    expect(all.length).toBe(data.numberOfTests);
    expect(usable.length).toBe(EXPECTED_USABLE);
    // None fits a JS-number packet number, hence the BigUint64Array form of `pns`.
    expect(usable.filter((t) => t.pn < 2n ** 53n).length).toBe(0);
  });

  it.each(ENGINES)('%s engine: seals each usable vector to its ct ‖ tag and opens it back; a flipped tag bit fails untouched', (engine) => {
    const raw = rawCrypto()!;
    for (const t of usable) {
      const key = raw.createPacketKey(unhex(t.key), engine);
      try {
        const aad = unhex(t.aad);
        const msg = unhex(t.msg);
        const ct = unhex(t.ct);
        const tag = unhex(t.tag);
        const buf = new Uint8Array(aad.length + msg.length + 16);
        buf.set(aad);
        buf.set(msg, aad.length);
        const offsets = new Uint32Array([0]);
        const hls = new Uint32Array([aad.length]);
        const pls = new Uint32Array([msg.length]);
        const pns = new BigUint64Array([t.pn]);
        const status = new Uint8Array(1);
        raw.sealBatch(key, buf, 1, offsets, hls, pls, pns);
        const sealed = buf.subarray(aad.length);
        if (t.result === 'valid') expect(hex(sealed), `tcId ${t.tcId}`).toBe(hex(ct) + hex(tag));
        // Open the vector's own ciphertext.
        sealed.set(ct);
        sealed.set(tag, ct.length);
        pls[0] = ct.length + 16;
        expect(raw.openBatch(key, buf, 1, offsets, hls, pls, pns, status), `tcId ${t.tcId}`).toBe(t.result === 'invalid' ? 0 : 1);
        if (t.result !== 'invalid') {
          expect(hex(buf.subarray(aad.length, aad.length + msg.length)), `tcId ${t.tcId}`).toBe(hex(msg));
          expect(pls[0]).toBe(msg.length);
        }
        // Tag bit flipped: fails, bytes as received.
        sealed.set(ct);
        sealed.set(tag, ct.length);
        const at = ct.length + (t.tcId % 16);
        sealed[at] = sealed[at]! ^ (1 << (t.tcId % 8));
        const received = hex(buf);
        pls[0] = ct.length + 16;
        expect(raw.openBatch(key, buf, 1, offsets, hls, pls, pns, status)).toBe(0);
        expect(status[0]).toBe(0);
        expect(hex(buf)).toBe(received);
        expect(pls[0]).toBe(ct.length + 16);
      } finally {
        raw.destroyPacketKey(key);
      }
    }
  });

  it.each(ENGINES)('%s engine: opens all usable vectors that share a key in one batch', (engine) => {
    const raw = rawCrypto()!;
    const byKey = new Map<string, typeof usable>();
    for (const t of usable) byKey.set(t.key, [...(byKey.get(t.key) ?? []), t]);
    let opened = 0;
    for (const [k, ts] of byKey) {
      const total = ts.reduce((n, t) => n + t.aad.length / 2 + t.ct.length / 2 + 16 + 3, 0);
      const buf = new Uint8Array(total);
      const n = ts.length;
      const offsets = new Uint32Array(n);
      const hls = new Uint32Array(n);
      const pls = new Uint32Array(n);
      const pns = new BigUint64Array(n);
      const status = new Uint8Array(n);
      let off = 0;
      ts.forEach((t, i) => {
        offsets[i] = off;
        hls[i] = t.aad.length / 2;
        pls[i] = t.ct.length / 2 + 16;
        pns[i] = t.pn;
        buf.set(unhex(t.aad + t.ct + t.tag), off);
        off += hls[i]! + pls[i]! + 3;
      });
      const key = raw.createPacketKey(unhex(k), engine);
      try {
        opened += raw.openBatch(key, buf, n, offsets, hls, pls, pns, status);
      } finally {
        raw.destroyPacketKey(key);
      }
      ts.forEach((t, i) => {
        expect(status[i], `tcId ${t.tcId}`).toBe(t.result === 'invalid' ? 0 : 1);
        if (t.result !== 'invalid') expect(hex(buf.subarray(offsets[i]! + hls[i]!, offsets[i]! + hls[i]! + pls[i]!))).toBe(t.msg);
      });
    }
    expect(opened).toBe(usable.filter((t) => t.result !== 'invalid').length);
  });
});
