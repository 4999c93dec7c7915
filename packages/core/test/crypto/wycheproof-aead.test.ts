import { expect, it } from 'vitest';
import { describeIf, vectorFile } from '../../../../test/support/prereq.js';
import { BACKENDS, hex, readJson, unhex } from './helpers.js';

interface AeadTest {
  tcId: number;
  key: string;
  iv: string;
  aad: string;
  msg: string;
  ct: string;
  tag: string;
  result: 'valid' | 'invalid' | 'acceptable';
  flags: string[];
}
interface AeadGroup {
  ivSize: number;
  keySize: number;
  tagSize: number;
  tests: AeadTest[];
}

const vf = vectorFile('wycheproof_chacha20_poly1305_test.json');
// The file has 9 InvalidNonceSize cases (nonces other than 96 bits); we only take 12-byte nonces.
const EXPECTED_SKIPPED = 9;

describeIf(vf.missing, 'Wycheproof ChaCha20-Poly1305', () => {
  const file = readJson<{ numberOfTests: number; testGroups: AeadGroup[] }>(vf.path);
  const all = file.testGroups.flatMap((g) => g.tests.map((t) => ({ g, t })));
  const usable = all.filter(({ g }) => g.ivSize === 96 && g.keySize === 256 && g.tagSize === 128);

  it('skips exactly the vectors with other nonce sizes', () => {
    expect(all.length).toBe(file.numberOfTests);
    const skipped = all.filter((x) => !usable.includes(x));
    expect(skipped.length).toBe(EXPECTED_SKIPPED);
    expect(skipped.every(({ t }) => t.flags.includes('InvalidNonceSize'))).toBe(true);
    expect(usable.filter(({ t }) => t.result === 'valid').length).toBeGreaterThan(200);
    expect(usable.filter(({ t }) => t.result === 'invalid').length).toBeGreaterThan(50);
  });

  for (const backend of BACKENDS) {
    it(`${backend.name}: valid vectors seal and open exactly, invalid ones fail`, () => {
      let valid = 0;
      let invalid = 0;
      for (const { t } of usable) {
        const key = unhex(t.key);
        const iv = unhex(t.iv);
        const aad = unhex(t.aad);
        const sealed = unhex(t.ct + t.tag);
        const opened = backend.aeadOpen(key, iv, aad, sealed);
        if (t.result === 'valid') {
          expect(hex(backend.aeadSeal(key, iv, aad, unhex(t.msg))), `tcId ${t.tcId}`).toBe(t.ct + t.tag);
          expect(opened && hex(opened), `tcId ${t.tcId}`).toBe(t.msg);
          valid++;
        } else {
          expect(opened, `tcId ${t.tcId} must not open`).toBeNull();
          invalid++;
        }
      }
      expect(valid + invalid).toBe(usable.length);
    });

    it(`${backend.name}: the in-place key path agrees with the vectors`, () => {
      for (const { t } of usable) {
        const aadLen = t.aad.length / 2;
        const msgLen = t.msg.length / 2;
        // [junk byte][aad][payload][tag]: offsets away from 0 catch off-by-one ranges.
        const buf = new Uint8Array(1 + aadLen + msgLen + 16);
        buf.set(unhex(t.aad), 1);
        const k = backend.aeadKey(unhex(t.key));
        const iv = unhex(t.iv);
        if (t.result === 'valid') {
          buf.set(unhex(t.msg), 1 + aadLen);
          k.sealInPlace(iv, buf, 1, aadLen, 1 + aadLen, msgLen);
          expect(hex(buf.subarray(1 + aadLen)), `tcId ${t.tcId}`).toBe(t.ct + t.tag);
          expect(k.openInPlace(iv, buf, 1, aadLen, 1 + aadLen, msgLen + 16)).toBe(true);
          expect(hex(buf.subarray(1 + aadLen, 1 + aadLen + msgLen))).toBe(t.msg);
        } else {
          buf.set(unhex(t.ct + t.tag), 1 + aadLen);
          const before = hex(buf);
          expect(k.openInPlace(iv, buf, 1, aadLen, 1 + aadLen, msgLen + 16), `tcId ${t.tcId}`).toBe(false);
          expect(hex(buf), 'a failed open leaves the buffer untouched').toBe(before);
        }
        k.destroy();
      }
    });
  }
});
