import { WraithError } from '../errors.js';
import type { Rng } from '../rng.js';
import { HandshakeState, type CryptoBackend } from '../crypto/index.js';
import { decodeTransportParams, encodeTransportParams, type TransportParams } from '../wire/index.js';

/** The suite WRAITH uses (PROTOCOL.md §3). */
export const NOISE_PROTOCOL = 'Noise_XX_25519_ChaChaPoly_BLAKE2s';
/** Binds the wire version into the handshake hash, so no downgrade passes. */
export const PROLOGUE = new TextEncoder().encode('wraith/1');

export interface StaticKeyPair {
  priv: Uint8Array;
  pub: Uint8Array;
}

export interface HandshakeResult {
  sendSecret: Uint8Array;
  recvSecret: Uint8Array;
  chainingKey: Uint8Array;
  remoteStatic: Uint8Array;
  remoteParams: TransportParams;
}

/**
 * One side of the Noise XX handshake with transport parameters as payloads.
 * Message order: initiator writes 1, reads 2, writes 3; responder the mirror.
 */
export class Handshake {
  private hs: HandshakeState;
  private remoteParams: TransportParams | null = null;
  /** Our ephemeral and every message so far, to rebuild the state after a bad read. */
  private readonly e: StaticKeyPair;
  private readonly transcript: Array<{ write: boolean; bytes: Uint8Array }> = [];

  constructor(
    private readonly backend: CryptoBackend,
    readonly initiator: boolean,
    private readonly s: StaticKeyPair,
    private readonly rng: Rng,
    private readonly expectedRemote: Uint8Array | null,
  ) {
    this.e = backend.x25519GenerateKeyPair(rng);
    this.hs = this.fresh();
  }

  private fresh(): HandshakeState {
    return HandshakeState.initialize({
      protocolName: NOISE_PROTOCOL,
      initiator: this.initiator,
      prologue: PROLOGUE,
      s: this.s,
      e: { priv: this.e.priv.slice(), pub: this.e.pub },
      backend: this.backend,
      rng: this.rng,
    });
  }

  /** Write the next message carrying our parameters. */
  write(params: TransportParams): Uint8Array {
    const payload = encodeTransportParams(params);
    const msg = this.hs.writeMessage(payload);
    this.transcript.push({ write: true, bytes: payload });
    return msg;
  }

  /**
   * Read the peer's next message; checks the static key once it is known.
   * A message that fails to decrypt (forged or corrupted on the way) leaves
   * this handshake exactly as it was: the state is rebuilt from our
   * ephemeral key and the transcript, so the genuine message still works.
   * A FINISH without parameters is refused the same way (E_HANDSHAKE_NO_PARAMS).
   */
  read(message: Uint8Array): void {
    let payload: Uint8Array;
    try {
      payload = this.hs.readMessage(message);
    } catch (err) {
      this.rebuild();
      throw err;
    }
    if (!this.initiator && this.hs.isComplete && payload.length === 0) {
      // Accepting it would keep the INITIATION's parameters, which travel in the clear.
      this.rebuild();
      throw new WraithError('E_HANDSHAKE_NO_PARAMS', 'FINISH carried no transport parameters (PROTOCOL.md §3)');
    }
    this.transcript.push({ write: false, bytes: message.slice() });
    if (payload.length > 0) this.remoteParams = decodeTransportParams(payload);
    const rs = this.hs.remoteStaticKey;
    if (rs && this.expectedRemote && !equalBytes(rs, this.expectedRemote)) {
      throw new WraithError('E_PEER_ID_MISMATCH', 'the peer presented another static key than the peer id dialled', {
        expected: hex(this.expectedRemote),
        found: hex(rs),
      });
    }
  }

  private rebuild(): void {
    const hs = this.fresh();
    for (const t of this.transcript) {
      if (t.write) hs.writeMessage(t.bytes);
      else hs.readMessage(t.bytes);
    }
    this.hs = hs;
  }

  get remoteStatic(): Uint8Array | null {
    return this.hs.remoteStaticKey ?? null;
  }

  get complete(): boolean {
    return this.hs.isComplete;
  }

  /** Split into transport secrets (PROTOCOL.md §3: k1 initiator->responder). */
  finish(): HandshakeResult {
    const rs = this.hs.remoteStaticKey;
    if (!rs || !this.hs.isComplete) throw new WraithError('E_NOISE_STATE', 'handshake not complete');
    const ck = this.hs.chainingKey();
    this.e.priv.fill(0);
    const [c1, c2] = this.hs.split();
    const k1 = c1.key();
    const k2 = c2.key();
    return {
      sendSecret: this.initiator ? k1 : k2,
      recvSecret: this.initiator ? k2 : k1,
      chainingKey: ck,
      remoteStatic: rs.slice(),
      remoteParams: this.remoteParams ?? {},
    };
  }
}

export function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let d = 0;
  for (let i = 0; i < a.length; i++) d |= (a[i] ?? 0) ^ (b[i] ?? 0);
  return d === 0;
}

export function hex(b: Uint8Array): string {
  let s = '';
  for (const x of b) s += x.toString(16).padStart(2, '0');
  return s;
}
