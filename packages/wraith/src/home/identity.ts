/**
 * The node's static X25519 key. identity.key holds the 32-byte private key as 64 lowercase hex
 * characters and a newline, mode 0600. The peer id is the hex of the public key.
 */
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { WraithError, loadBackend } from '@wraith/core';
import { fsyncDir, homeWriteError, writeFileAtomic, writeFileExclusive } from '../fsutil.js';
import { peerIdFromPublicKey, type PeerId } from '../peer.js';
import { checkPrivate } from './home.js';

export interface Identity {
  readonly privateKey: Uint8Array;
  readonly publicKey: Uint8Array;
  readonly peerId: PeerId;
  readonly file: string;
}

export async function identityFromPrivateKey(privateKey: Uint8Array, file: string): Promise<Identity> {
  if (privateKey.length !== 32) throw new WraithError('E_CRYPTO_KEY', `a private key is 32 bytes, found ${privateKey.length}`);
  // node:crypto when it has X25519, else @noble/curves (core's fallback, imported only then); the same public key.
  const publicKey = (await loadBackend('auto')).x25519PublicKey(privateKey);
  return { privateKey, publicKey, peerId: peerIdFromPublicKey(publicKey), file };
}

/** Runs `fn` with umask 077 so no file it creates is ever group/other accessible, even briefly. */
async function withPrivateUmask<T>(fn: () => Promise<T>): Promise<T> {
  let previous: number | undefined;
  try {
    previous = process.umask(0o077);
  } catch {
    // Worker threads cannot change the umask; the explicit 0600 mode below still applies.
  }
  try {
    return await fn();
  } finally {
    if (previous !== undefined) process.umask(previous);
  }
}

/**
 * Writes a fresh key from the CSPRNG. Without `force` an existing file is refused
 * (E_IDENTITY_EXISTS); with it, the new key replaces the old one atomically.
 */
export async function generateIdentity(file: string, opts: { force?: boolean } = {}): Promise<Identity> {
  const privateKey = new Uint8Array(randomBytes(32));
  const identity = await identityFromPrivateKey(privateKey, file);
  const text = `${Buffer.from(privateKey).toString('hex')}\n`;
  await withPrivateUmask(async () => {
    if (!opts.force) {
      try {
        await writeFileExclusive(file, text);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'EEXIST') {
          throw new WraithError('E_IDENTITY_EXISTS', `${file} already exists`, { path: file });
        }
        throw homeWriteError('cannot write', file, e);
      }
    } else {
      try {
        await writeFileAtomic(file, text);
      } catch (e) {
        throw homeWriteError('cannot write', file, e);
      }
    }
    await fsyncDir(dirname(file));
  });
  return identity;
}

/** Reads and checks the key file: E_NO_IDENTITY if absent, E_HOME_PERMISSIONS if exposed. */
export async function loadIdentity(file: string): Promise<Identity> {
  try {
    await checkPrivate(file, 'file');
  } catch (e) {
    if (e instanceof WraithError && e.code === 'E_NOT_FOUND') {
      throw new WraithError('E_NO_IDENTITY', `no identity at ${file}`, { path: file });
    }
    throw e;
  }
  const text = await readFile(file, 'utf8');
  // The key is unambiguous whatever an editor or a deployment tool did to its line end or case
  // (CRLF, no newline, upper case): refusing those sent operators to `keygen --force`, which
  // changes the peer id every sender trusts.
  const hex = text.replace(/^\uFEFF/, '').trim();
  if (!/^[0-9a-fA-F]{64}$/.test(hex)) {
    const found = hex.length === 0 ? 'the file is empty' : /^[0-9a-fA-F]+$/.test(hex) ? `found ${hex.length} hex characters` : 'found other characters';
    throw new WraithError('E_CRYPTO_KEY', `${file} is not an identity key: expected 64 hex characters (${found})`,
      { path: file }, 'restore it from a backup; `wraith keygen --force` writes a new key, but that changes the peer id senders trust');
  }
  return await identityFromPrivateKey(new Uint8Array(Buffer.from(hex, 'hex')), file);
}
