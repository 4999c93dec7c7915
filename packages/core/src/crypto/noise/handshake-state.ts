/**
 * Noise HandshakeState (rev 34 §5.3), driven by the pattern table in patterns.ts.
 *
 * Lifecycle: 'handshake' → 'complete' (all messages done) → 'split' (keys handed out,
 * ephemeral private key and chaining key wiped). Any error while reading or writing a message
 * (E_CRYPTO_DECRYPT, E_WIRE_TRUNCATED, E_CRYPTO_LOW_ORDER, ...) moves it to 'failed': the
 * transcript is then unrecoverable, the ephemeral key is wiped, and every later call throws
 * E_NOISE_STATE. Start a new HandshakeState to retry.
 */
import { WraithError } from '../../errors.js';
import type { Rng } from '../../rng.js';
import { X25519_KEY_LEN, checkLen, type CryptoBackend, type KeyPair } from '../backend.js';
import type { CipherState } from './cipher-state.js';
import { parseProtocolName, type HandshakePattern, type Token } from './patterns.js';
import { SymmetricState } from './symmetric-state.js';

/** Noise messages are at most 65535 bytes (rev 34 §3). */
export const NOISE_MAX_MESSAGE = 65535;
const DH_LEN = X25519_KEY_LEN;
const TAG_LEN = 16;

export interface HandshakeOptions {
  /** e.g. 'Noise_XX_25519_ChaChaPoly_BLAKE2s'. */
  protocolName: string;
  initiator: boolean;
  prologue: Uint8Array;
  /** Our static key pair (borrowed, never wiped here). */
  s: KeyPair;
  /** Our ephemeral key pair; generated from `rng` when absent. Injected only to replay vectors. Copied. */
  e?: KeyPair;
  /** Remote static / ephemeral public keys known in advance (pre-messages). */
  rs?: Uint8Array;
  re?: Uint8Array;
  backend: CryptoBackend;
  rng: Rng;
}

type Phase = 'handshake' | 'complete' | 'split' | 'failed';

export class HandshakeState {
  readonly initiator: boolean;
  readonly protocolName: string;
  readonly pattern: HandshakePattern;
  private readonly backend: CryptoBackend;
  private readonly rng: Rng;
  private readonly ss: SymmetricState;
  private readonly s: KeyPair;
  private e: KeyPair | null;
  private rs: Uint8Array | null;
  private re: Uint8Array | null;
  private msgIndex = 0;
  private phase: Phase = 'handshake';

  private constructor(o: HandshakeOptions) {
    const spec = parseProtocolName(o.protocolName);
    checkKeyPair('static', o.s);
    if (o.e !== undefined) checkKeyPair('ephemeral', o.e);
    if (o.rs !== undefined) checkLen('remote static key', o.rs, DH_LEN);
    if (o.re !== undefined) checkLen('remote ephemeral key', o.re, DH_LEN);
    if (!(o.prologue instanceof Uint8Array)) throw new WraithError('E_NOISE_STATE', 'prologue must be a Uint8Array');
    this.initiator = o.initiator;
    this.protocolName = spec.name;
    this.pattern = spec.pattern;
    this.backend = o.backend;
    this.rng = o.rng;
    this.s = o.s;
    this.e = o.e === undefined ? null : { priv: o.e.priv.slice(), pub: o.e.pub.slice() };
    this.rs = o.rs === undefined ? null : o.rs.slice();
    this.re = o.re === undefined ? null : o.re.slice();
    this.ss = new SymmetricState(o.backend, o.backend.hash(spec.hash), spec.name);
    this.ss.mixHash(o.prologue);
    // Pre-messages (rev 34 §7.1): the initiator's keys are hashed first.
    this.mixPreMessage(this.pattern.initiatorPre, this.initiator);
    this.mixPreMessage(this.pattern.responderPre, !this.initiator);
  }

  static initialize(o: HandshakeOptions): HandshakeState {
    return new HandshakeState(o);
  }

  /** All handshake messages have been written/read (before or after split). */
  get isComplete(): boolean {
    return this.phase === 'complete' || this.phase === 'split';
  }

  get hasFailed(): boolean {
    return this.phase === 'failed';
  }

  /** True when the next message is ours to write. */
  get isMyTurn(): boolean {
    return this.phase === 'handshake' && (this.msgIndex % 2 === 0) === this.initiator;
  }

  /**
   * The peer's static public key once received (compare it with the dialled peer id).
   * Null after a failure: a key from an unfinished, failed message is not to be trusted.
   */
  get remoteStaticKey(): Uint8Array | null {
    return this.rs === null || this.phase === 'failed' ? null : this.rs.slice();
  }

  get remoteEphemeralKey(): Uint8Array | null {
    return this.re === null ? null : this.re.slice();
  }

  get hashName(): string {
    return this.ss.hash.name;
  }

  getHandshakeHash(): Uint8Array {
    return this.ss.getHandshakeHash();
  }

  /** A copy of the final chaining key (for key updates); only between completion and split(). */
  chainingKey(): Uint8Array {
    if (this.phase !== 'complete') {
      throw new WraithError('E_NOISE_STATE', `chainingKey() needs a complete handshake before split(); state is ${this.phase}`);
    }
    return this.ss.getChainingKey();
  }

  writeMessage(payload: Uint8Array): Uint8Array {
    this.expectTurn(true);
    if (payload.length > NOISE_MAX_MESSAGE) {
      throw new WraithError('E_WIRE_TOO_LARGE', `Noise payload of ${payload.length} bytes exceeds ${NOISE_MAX_MESSAGE}`);
    }
    try {
      const parts: Uint8Array[] = [];
      for (const tok of this.currentTokens()) {
        if (tok === 'e') {
          if (this.e === null) this.e = this.backend.x25519GenerateKeyPair(this.rng);
          parts.push(this.e.pub.slice());
          this.ss.mixHash(this.e.pub);
        } else if (tok === 's') {
          parts.push(this.ss.encryptAndHash(this.s.pub));
        } else {
          this.mixDh(tok);
        }
      }
      parts.push(this.ss.encryptAndHash(payload));
      const msg = concat(parts);
      if (msg.length > NOISE_MAX_MESSAGE) {
        throw new WraithError('E_WIRE_TOO_LARGE', `Noise message of ${msg.length} bytes exceeds ${NOISE_MAX_MESSAGE}`);
      }
      this.advance();
      return msg;
    } catch (err) {
      this.fail();
      throw err;
    }
  }

  /** Returns the payload. Throws E_WIRE_TRUNCATED / E_CRYPTO_DECRYPT / E_CRYPTO_LOW_ORDER and fails the state. */
  readMessage(message: Uint8Array): Uint8Array {
    this.expectTurn(false);
    try {
      if (!(message instanceof Uint8Array)) throw new WraithError('E_WIRE_TRUNCATED', 'Noise message is not bytes');
      if (message.length > NOISE_MAX_MESSAGE) {
        throw new WraithError('E_WIRE_TOO_LARGE', `Noise message of ${message.length} bytes exceeds ${NOISE_MAX_MESSAGE}`);
      }
      let off = 0;
      const take = (n: number, what: string): Uint8Array => {
        if (message.length - off < n) {
          throw new WraithError('E_WIRE_TRUNCATED', `Noise message ${this.msgIndex + 1} ended at ${message.length} bytes before its ${what}`, {
            length: message.length,
            need: off + n,
          });
        }
        const b = message.subarray(off, off + n);
        off += n;
        return b;
      };
      for (const tok of this.currentTokens()) {
        if (tok === 'e') {
          if (this.re !== null) throw new WraithError('E_NOISE_STATE', 'remote ephemeral key received twice');
          this.re = take(DH_LEN, 'ephemeral key').slice();
          this.ss.mixHash(this.re);
        } else if (tok === 's') {
          if (this.rs !== null) throw new WraithError('E_NOISE_STATE', 'remote static key received twice');
          const n = DH_LEN + (this.ss.cipherState.hasKey() ? TAG_LEN : 0);
          this.rs = this.ss.decryptAndHash(take(n, 'static key'));
        } else {
          this.mixDh(tok);
        }
      }
      const rest = message.subarray(off);
      if (this.ss.cipherState.hasKey() && rest.length < TAG_LEN) {
        throw new WraithError('E_WIRE_TRUNCATED', `Noise message ${this.msgIndex + 1} has no room for its payload tag`, {
          length: message.length,
        });
      }
      const payload = this.ss.decryptAndHash(rest);
      this.advance();
      return payload;
    } catch (err) {
      this.fail();
      throw err;
    }
  }

  /**
   * Split (rev 34 §5.2): [c1, c2], c1 protecting initiator→responder and c2 the reverse,
   * the same order on both sides. Wipes the ephemeral private key and the chaining key.
   */
  split(): [CipherState, CipherState] {
    if (this.phase !== 'complete') {
      throw new WraithError('E_NOISE_STATE', `split() needs a complete handshake; state is ${this.phase}`);
    }
    const pair = this.ss.split();
    this.wipeEphemeral();
    this.phase = 'split';
    return pair;
  }

  private currentTokens(): readonly Token[] {
    const toks = this.pattern.messages[this.msgIndex];
    if (toks === undefined) throw new WraithError('E_NOISE_STATE', 'no handshake message left');
    return toks;
  }

  private expectTurn(writing: boolean): void {
    if (this.phase !== 'handshake') {
      throw new WraithError('E_NOISE_STATE', `${writing ? 'writeMessage' : 'readMessage'} in state ${this.phase}`);
    }
    if (this.isMyTurn !== writing) {
      throw new WraithError('E_NOISE_STATE', `message ${this.msgIndex + 1} is to be ${writing ? 'read' : 'written'}, not ${writing ? 'written' : 'read'}`);
    }
  }

  private advance(): void {
    this.msgIndex++;
    if (this.msgIndex === this.pattern.messages.length) this.phase = 'complete';
  }

  private mixDh(tok: Exclude<Token, 'e' | 's'>): void {
    // The first letter names the initiator's key, the second the responder's (rev 34 §7.1).
    const iKey = tok[0] === 'e' ? 'e' : 's';
    const rKey = tok[1] === 'e' ? 'e' : 's';
    const local = this.initiator ? iKey : rKey;
    const remote = this.initiator ? rKey : iKey;
    const priv = local === 'e' ? this.e?.priv : this.s.priv;
    const pub = remote === 'e' ? this.re : this.rs;
    if (priv === undefined || pub === null) {
      throw new WraithError('E_NOISE_STATE', `token ${tok} needs a key that is not known yet`);
    }
    const dh = this.backend.x25519(priv, pub);
    this.ss.mixKey(dh);
    dh.fill(0);
  }

  private mixPreMessage(keys: readonly ('e' | 's')[], ours: boolean): void {
    for (const k of keys) {
      const pub = ours ? (k === 'e' ? this.e?.pub : this.s.pub) : k === 'e' ? this.re : this.rs;
      if (pub === undefined || pub === null) {
        throw new WraithError('E_NOISE_STATE', `pattern ${this.pattern.name} needs the ${ours ? 'local' : 'remote'} ${k} key in advance`);
      }
      this.ss.mixHash(pub);
    }
  }

  private wipeEphemeral(): void {
    if (this.e !== null) {
      this.backend.forget(this.e.priv);
      this.e.priv.fill(0);
      this.e = null;
    }
    // Remote ephemerals are never seen again: keep them out of the backend's key cache.
    if (this.re !== null) this.backend.forget(this.re);
  }

  private fail(): void {
    this.phase = 'failed';
    this.wipeEphemeral();
    this.ss.cipherState.destroy();
  }
}

function checkKeyPair(what: string, kp: KeyPair): void {
  if (kp === null || typeof kp !== 'object') throw new WraithError('E_CRYPTO_KEY', `${what} key pair is missing`);
  checkLen(`${what} private key`, kp.priv, DH_LEN);
  checkLen(`${what} public key`, kp.pub, DH_LEN);
}

function concat(parts: Uint8Array[]): Uint8Array {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}
