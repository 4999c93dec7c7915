import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { Blake3 } from '@wraith/core';
import { nobleBlake3 } from '@wraith/core/noble';
import { describeIf, vectorFile } from '../../../test/support/prereq.js';
import { SELF_TEST, SMALL_INPUT, blake3Backends, loadBlake3, loadBlake3Async, selfTestInput } from '../src/index.js';

interface VectorCase {
  input_len: number;
  hash: string;
}

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const input = (len: number): Uint8Array => Uint8Array.from({ length: len }, (_, i) => i % 251);

// Taken before anything initialises wasm or loads noble in this process (each test file runs
// in its own).
function attempt(f: () => Blake3): Blake3 | unknown {
  try {
    return f();
  } catch (e) {
    return e;
  }
}
const wasmBeforeInit = attempt(() => loadBlake3('wasm'));
const nobleBeforeLoad = attempt(() => loadBlake3('noble'));
const autoBeforeInit = attempt(() => loadBlake3('auto'));

describe('before wasm is initialised and noble loaded', () => {
  it('the sync loader refuses wasm and noble, and auto includes neither', () => {
    for (const e of [wasmBeforeInit, nobleBeforeLoad]) {
      expect(e).toMatchObject({ code: 'E_CRYPTO_BACKEND' });
      expect((e as Error).message).toContain('loadBlake3Async');
    }
    if (autoBeforeInit instanceof Error) {
      // No native backend here: wasm and noble both wait for loadBlake3Async.
      expect(autoBeforeInit).toMatchObject({ code: 'E_CRYPTO_BACKEND' });
      expect(autoBeforeInit.message).toContain('loadBlake3Async');
    } else {
      expect((autoBeforeInit as Blake3).name).toMatch(/^native$/);
    }
  });
});

const HOOKS = ['uncaughtException', 'unhandledRejection'] as const;
const hooksBefore = HOOKS.map((ev) => process.listeners(ev).length);
const backends = await blake3Backends();
const hooksAfter = HOOKS.map((ev) => process.listeners(ev).length);
const report = (name: string): { available: boolean; reason: string | null } =>
  backends.find((b) => b.name === name) ?? { available: false, reason: 'not reported' };
const noNative = process.env.WRAITH_NO_NATIVE === '1';

describe('backend selection', () => {
  it('loading blake3-wasm leaves no process handlers behind (its rethrowing ones made any crash exit 7)', () => {
    expect(report('wasm').available).toBe(true);
    expect(hooksAfter).toEqual(hooksBefore);
  });

  it('reports every backend, noble always available, reasons for the rest', () => {
    expect(backends.map((b) => b.name)).toEqual(['native', 'wasm', 'noble']);
    for (const b of backends) expect(b.available ? b.reason : typeof b.reason).toBe(b.available ? null : 'string');
    expect(report('noble').available).toBe(true);
    if (noNative) expect(report('native')).toMatchObject({ available: false, reason: 'disabled by WRAITH_NO_NATIVE=1' });
  });

  it('named backends load or throw E_CRYPTO_BACKEND; auto picks the fastest available', async () => {
    expect(await loadBlake3Async('noble')).toBe(nobleBlake3);
    expect(loadBlake3('noble')).toBe(nobleBlake3); // loaded now
    for (const name of ['native', 'wasm'] as const) {
      if (report(name).available) expect(loadBlake3(name).name).toBe(name);
      else expect(() => loadBlake3(name)).toThrow(expect.objectContaining({ code: 'E_CRYPTO_BACKEND' }));
    }
    const auto = await loadBlake3Async('auto');
    const want = report('native').available
      ? report('wasm').available
        ? 'native+wasm'
        : 'native'
      : report('wasm').available
        ? 'wasm'
        : 'noble';
    expect(auto.name).toBe(want);
    expect(() => loadBlake3('sha256' as 'auto')).toThrow(expect.objectContaining({ code: 'E_USAGE' }));
  });

  it('@wraith/blake3/native gives the self-tested native backend alone, or the reason', async () => {
    const { loadNativeChecked } = await import('../src/native-only.js');
    const r = loadNativeChecked();
    if (report('native').available) expect('blake3' in r && r.blake3.name).toBe('native');
    else expect(r).toEqual({ reason: report('native').reason });
  });

  it("the self-test's known answers are the reference's hashes of its inputs", () => {
    expect(SELF_TEST.length).toBeGreaterThan(0);
    for (const [len, want] of SELF_TEST) expect(hex(nobleBlake3.hash(selfTestInput(len))), `${len} bytes`).toBe(want);
  });
});

const vectors = vectorFile('blake3_test_vectors.json');
const cases: VectorCase[] = vectors.missing
  ? []
  : (JSON.parse(readFileSync(vectors.path, 'utf8')) as { cases: VectorCase[] }).cases;

/** Official vectors (first 32 bytes of `hash`), one-shot and streamed in uneven pieces. */
function vectorSuite(get: () => Blake3): void {
  it('matches every official hash vector', () => {
    const b = get();
    expect(cases.length).toBeGreaterThan(30);
    for (const c of cases) {
      const data = input(c.input_len);
      const want = c.hash.slice(0, 64);
      expect(hex(b.hash(data)), `len ${c.input_len}`).toBe(want);
      const s = b.create();
      for (let o = 0, step = 1; o < data.length; o += step, step = step * 3 + 1) s.update(data.subarray(o, o + step));
      expect(hex(s.digest()), `streamed len ${c.input_len}`).toBe(want);
    }
  });

  it('agrees with the reference on inputs larger than blake3-wasm’s 1 MiB scratch', () => {
    const b = get();
    const data = new Uint8Array(3 * 1024 * 1024 + 17);
    for (let i = 0; i < data.length; i++) data[i] = (i * 2654435761) >>> 24;
    const want = hex(nobleBlake3.hash(data));
    expect(hex(b.hash(data))).toBe(want);
    expect(hex(b.create().update(data).digest())).toBe(want);
    const s = b.create();
    for (const [a, z] of [[0, 1], [1, SMALL_INPUT - 1], [SMALL_INPUT - 1, SMALL_INPUT + 5], [SMALL_INPUT + 5, 2_500_000], [2_500_000, data.length]] as const) {
      s.update(data.subarray(a, z));
    }
    expect(hex(s.digest())).toBe(want);
  });

  it('does not keep references to buffers after update returns', () => {
    const b = get();
    const buf = input(100);
    const s = b.create().update(buf);
    buf.fill(0);
    expect(hex(s.digest())).toBe(hex(nobleBlake3.hash(input(100))));
  });
}

describeIf(vectors.missing, 'BLAKE3 vectors: noble (core reference)', () => vectorSuite(() => nobleBlake3));

describeIf(vectors.missing ?? (report('wasm').available ? null : report('wasm').reason), 'BLAKE3 vectors: wasm', () =>
  vectorSuite(() => loadBlake3('wasm')),
);

if (noNative) {
  // The fallback pass tests the JS paths only; the native suite is not registered there.
  console.warn('BLAKE3 vectors: native: not run under WRAITH_NO_NATIVE=1 (the JS fallback pass)');
} else {
  describeIf(vectors.missing ?? report('native').reason, 'BLAKE3 vectors: native', () => vectorSuite(() => loadBlake3('native')));
  describeIf(
    vectors.missing ?? report('native').reason ?? report('wasm').reason,
    'BLAKE3 vectors: native+wasm (auto)',
    () => vectorSuite(() => loadBlake3('auto')),
  );
}
