// Shared by udx-send.mjs and udx-recv.mjs: the udx-native + @hyperswarm/secret-stream peer
// that bench/transfer.mjs measures wraith against. The two scripts use these libraries the way
// their READMEs show (one UDX stream, a SecretStream over it with the default Noise XX handshake
// and libsodium secretstream), with no tuning.
//
// Wire protocol (inside the secret stream): the sender writes the file length as 8 bytes
// big-endian, then the file; the receiver writes the file, hashes it as it arrives (SHA-256),
// closes the file and answers with the 32-byte digest; the sender compares it with the digest
// of what it read and exits 0 only when they match, so the sender's exit means "received and
// verified", as wraith's does.
import { parseArgs } from 'node:util';

/** Stream ids: both ends agree on them in advance (the receiver learns the sender's address from its first packet). */
export const RECEIVER_STREAM_ID = 1;
export const SENDER_STREAM_ID = 2;

export function args(spec) {
  const { values } = parseArgs({ options: spec, strict: true });
  return values;
}

/** One NDJSON line on stdout. */
export function emit(obj) {
  process.stdout.write(`${JSON.stringify(obj)}\n`);
}

export function fail(message) {
  emit({ type: 'error', message });
  process.exit(1);
}
