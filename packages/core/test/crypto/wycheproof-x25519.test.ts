import { expect, it } from 'vitest';
import { describeIf, vectorFile } from '../../../../test/support/prereq.js';
import { BACKENDS, expectCode, hex, readJson, unhex } from './helpers.js';

interface XdhTest {
  tcId: number;
  public: string;
  private: string;
  shared: string;
  result: 'valid' | 'invalid' | 'acceptable';
  comment?: string;
  flags: string[];
}

const vf = vectorFile('wycheproof_x25519_test.json');
const ZERO = '00'.repeat(32);

describeIf(vf.missing, 'Wycheproof X25519', () => {
  const file = readJson<{ numberOfTests: number; testGroups: { curve: string; tests: XdhTest[] }[] }>(vf.path);
  const tests = file.testGroups.filter((g) => g.curve === 'curve25519').flatMap((g) => g.tests);

  it('has every test in curve25519 groups, including zero-result ones', () => {
    expect(tests.length).toBe(file.numberOfTests);
    expect(tests.filter((t) => t.shared === ZERO).length).toBeGreaterThan(10);
    expect(tests.every((t) => t.result !== 'invalid')).toBe(true);
  });

  for (const backend of BACKENDS) {
    it(`${backend.name}: shared secrets match; all-zero results throw E_CRYPTO_LOW_ORDER`, () => {
      let zero = 0;
      for (const t of tests) {
        const priv = unhex(t.private);
        const pub = unhex(t.public);
        if (t.shared === ZERO) {
          expectCode(() => backend.x25519(priv, pub), 'E_CRYPTO_LOW_ORDER');
          zero++;
        } else {
          expect(hex(backend.x25519(priv, pub)), `tcId ${t.tcId} ${t.comment ?? ''}`).toBe(t.shared);
        }
      }
      expect(zero).toBe(tests.filter((t) => t.shared === ZERO).length);
    });
  }
});
