/**
 * Without the addon (WRAITH_NO_NATIVE=1, a failed build, a stale build without the crypto
 * area, or a broken OpenSSL), native protection is null with a reason and
 * bestPacketProtection falls back to JS. These tests need no addon.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ProtectBatch, nodeBackend } from '@wraith/core';
import { nobleBackend } from '@wraith/core/noble';
import type { CryptoNative } from '@wraith/native';
import { REPO_ROOT } from '../../../test/support/prereq.js';
import { bestPacketProtection, nativePacketProtection, nativeProtectionStatus, probeNativeProtection } from '../src/index.js';
import { KEY, codeOf, layout, load } from './helpers.js';

const NO_NATIVE = process.env.WRAITH_NO_NATIVE === '1';

function roundTrip(name: string): void {
  const p = bestPacketProtection(name === 'js-noble' ? nobleBackend : nodeBackend);
  expect(p.name).toBe(name);
  const key = p.newKey(KEY);
  const b = new ProtectBatch(4);
  const l = layout([0, 100, 1400], 7, 2);
  load(b, l, false);
  key.seal(b);
  load(b, l, true);
  key.open(b);
  expect(Array.from(b.status.subarray(0, 3))).toEqual([1, 1, 1]);
}

describe('probeNativeProtection on unusable addon modules', () => {
  it('no addon: null, with the loader reason', () => {
    const r = probeNativeProtection({ native: null, loadError: 'disabled by WRAITH_NO_NATIVE=1' });
    expect(r.protection).toBeNull();
    expect(r.status).toEqual({ available: false, reason: 'disabled by WRAITH_NO_NATIVE=1', openssl: null, engine: null, engineReason: null });
  });

  it('an addon built without the crypto area, or with part of it: null, naming what is missing', () => {
    expect(probeNativeProtection({ native: { abiVersion: 1 }, loadError: null }).status.reason).toMatch(/without the crypto area/);
    const partial = probeNativeProtection({ native: { crypto: { sealBatch: () => undefined } }, loadError: null });
    expect(partial.protection).toBeNull();
    expect(partial.status.reason).toMatch(/lacks createPacketKey, destroyPacketKey, openBatch/);
  });

  it('a crypto area that gives wrong bytes or throws fails the self-test: null, never used', () => {
    // A binding that "seals" by appending zeros instead of a tag.
    const wrong: CryptoNative = {
      createPacketKey: () => ({}) as never,
      destroyPacketKey: () => true,
      sealBatch: (_k, _buf, count, _o, _h, payloadLens) => {
        for (let i = 0; i < count; i++) payloadLens[i] = payloadLens[i]! + 16;
      },
      openBatch: () => 0,
      aeadEngine: () => ({ engine: 'evp', reason: null }),
      tagLen: 16,
      opensslVersion: 'OpenSSL 0.0.0-fake',
    };
    const r = probeNativeProtection({ native: { crypto: wrong }, loadError: null });
    expect(r.protection).toBeNull();
    expect(r.status).toEqual({ available: false, reason: expect.stringMatching(/known answer/), openssl: 'OpenSSL 0.0.0-fake', engine: null, engineReason: null });
    const throwing = { ...wrong, createPacketKey: () => { throw new Error('EVP gone'); } };
    expect(probeNativeProtection({ native: { crypto: throwing }, loadError: null }).status.reason).toBe('self-test threw: EVP gone');
  });

  it("'js' never uses native; an unknown preference is E_CRYPTO_BACKEND", () => {
    expect(bestPacketProtection(nodeBackend, 'js').name).toBe('js-node');
    expect(bestPacketProtection(nobleBackend, 'js').name).toBe('js-noble');
    expect(codeOf(() => bestPacketProtection(nodeBackend, 'evp' as 'js'))).toBe('E_CRYPTO_BACKEND');
  });
});

describe('under WRAITH_NO_NATIVE=1', () => {
  // Registered only where it applies (no skips): the main pass runs it through the child below.
  if (NO_NATIVE) it('in this process: native is null with the reason, auto falls back to JS, native throws', () => {
    expect(nativePacketProtection()).toBeNull();
    expect(nativeProtectionStatus()).toEqual({ available: false, reason: expect.stringMatching(/WRAITH_NO_NATIVE=1/), openssl: null, engine: null, engineReason: null });
    roundTrip('js-node');
    roundTrip('js-noble');
    expect(bestPacketProtection(nodeBackend, 'auto').name).toBe('js-node');
    expect(codeOf(() => bestPacketProtection(nodeBackend, 'native'))).toBe('E_CRYPTO_BACKEND');
  });

  if (!NO_NATIVE) it('a child vitest with WRAITH_NO_NATIVE=1 runs the test above and it passes', () => {
    const dir = mkdtempSync(join(tmpdir(), 'wraith-native-crypto-'));
    try {
      const out = join(dir, 'report.json');
      const self = relative(REPO_ROOT, fileURLToPath(import.meta.url));
      const env: NodeJS.ProcessEnv = {};
      for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('VITEST') && k !== 'NODE_OPTIONS') env[k] = v;
      env['WRAITH_NO_NATIVE'] = '1';
      const r = spawnSync(
        process.execPath,
        [join(REPO_ROOT, 'node_modules', 'vitest', 'vitest.mjs'), 'run', self, '-t', 'in this process', '--reporter=json', `--outputFile=${out}`],
        { cwd: REPO_ROOT, env, encoding: 'utf8', timeout: 110_000 },
      );
      expect(r.status, `${r.stdout}\n${r.stderr}`).toBe(0);
      const report = JSON.parse(readFileSync(out, 'utf8')) as {
        testResults: { assertionResults: { title: string; status: string }[] }[];
      };
      const results = report.testResults.flatMap((f) => f.assertionResults);
      const mine = results.filter((a) => a.title.startsWith('in this process'));
      expect(mine.map((a) => a.status)).toEqual(['passed']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
