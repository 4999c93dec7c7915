import { readFileSync } from 'node:fs';
import type { Rng } from '../../src/rng.js';
import { nobleBackend } from '../../src/noble.js';
import { nodeBackend } from '../../src/crypto/backend-node.js';
import type { CryptoBackend, KeyPair } from '../../src/crypto/backend.js';

export const BACKENDS: readonly CryptoBackend[] = [nodeBackend, nobleBackend];

export function hex(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');
}

export function unhex(s: string): Uint8Array {
  if (!/^(?:[0-9a-f]{2})*$/i.test(s)) throw new Error(`bad hex in vector: ${s.slice(0, 40)}`);
  return new Uint8Array(Buffer.from(s, 'hex'));
}

export function readJson<T>(path: string): T {
  return JSON.parse(readFileSync(path, 'utf8')) as T;
}

export function keyPair(backend: CryptoBackend, privHex: string): KeyPair {
  const priv = unhex(privHex);
  return { priv, pub: backend.x25519PublicKey(priv) };
}

/** An Rng that must not be used: proves injected keys are the ones used. */
export const NO_RNG: Rng = {
  fill(): void {
    throw new Error('rng used where injected keys were expected');
  },
};

export function expectCode(fn: () => unknown, code: string): void {
  let thrown: unknown = null;
  try {
    fn();
  } catch (e) {
    thrown = e;
  }
  if (thrown === null) throw new Error(`expected ${code}, nothing was thrown`);
  const c = (thrown as { code?: unknown }).code;
  if (c !== code || (thrown as Error).name !== 'WraithError') {
    throw new Error(`expected WraithError ${code}, got ${String((thrown as Error).name)} ${String(c)}: ${String((thrown as Error).message)}`);
  }
}
