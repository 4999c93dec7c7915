import type { Instant } from '../time.js';
import { NEVER } from '../time.js';
import type { Rng } from '../rng.js';
import type { PacketKey, PacketProtection } from '../crypto/index.js';

/** Everything the key schedule needs from the crypto layer. */
export interface KeyCrypto {
  protection: PacketProtection;
  generateKeyPair(rng: Rng): { priv: Uint8Array; pub: Uint8Array };
  /** X25519; throws E_CRYPTO_LOW_ORDER on an all-zero result. */
  dh(priv: Uint8Array, pub: Uint8Array): Uint8Array;
  /** HKDF(ck, dh) -> (ck', k1, k2) with the handshake's hash (PROTOCOL.md §5). */
  kdf(ck: Uint8Array, dh: Uint8Array): { ck: Uint8Array; k1: Uint8Array; k2: Uint8Array };
}

/** A KEY_UPDATE frame the session must (re)send. */
export interface KeyUpdateOut {
  seq: number;
  publicKey: Uint8Array;
}

/**
 * Key phases of one session (PROTOCOL.md §5). The session initiator starts
 * every update; the responder answers and switches its sending keys only once
 * it has seen a packet under the new keys, so neither side sends packets the
 * other cannot open yet. Previous receive keys live on for reordered packets
 * until `prevDiscardAt`, then are destroyed.
 */
export class KeySchedule {
  private sendKey: PacketKey;
  private sendSeq = 0;
  private recvKey: PacketKey;
  private recvSeq = 0;
  private nextRecv: PacketKey | null = null;
  private prevRecv: PacketKey | null = null;
  private prevDiscardAt: Instant = NEVER;
  private ck: Uint8Array;
  /** Initiator: our pending ephemeral while an update is in flight. */
  private localEphemeral: { seq: number; priv: Uint8Array; pub: Uint8Array } | null = null;
  /** Responder: the reply and the sending key to switch to. */
  private reply: { seq: number; pub: Uint8Array; sendKey: PacketKey } | null = null;
  /** Packets sent + received under the current keys. */
  packetsUnderKey = 0;
  keyInstalledAt: Instant;
  updates = 0;

  constructor(
    private readonly crypto: KeyCrypto,
    private readonly initiator: boolean,
    sendSecret: Uint8Array,
    recvSecret: Uint8Array,
    chainingKey: Uint8Array,
    now: Instant,
  ) {
    this.sendKey = crypto.protection.newKey(sendSecret);
    this.recvKey = crypto.protection.newKey(recvSecret);
    this.ck = chainingKey;
    this.keyInstalledAt = now;
    sendSecret.fill(0);
    recvSecret.fill(0);
  }

  get sendPhase(): number {
    return this.sendSeq & 1;
  }

  get currentSendKey(): PacketKey {
    return this.sendKey;
  }

  get updateInFlight(): boolean {
    return this.localEphemeral !== null || this.reply !== null || this.nextRecv !== null;
  }

  /** The receive key for a packet's key-phase bit, or null when none fits. */
  recvKeyFor(phaseBit: number): { key: PacketKey; which: 'current' | 'next' | 'prev' } | null {
    if (phaseBit === (this.recvSeq & 1)) return { key: this.recvKey, which: 'current' };
    if (this.nextRecv) return { key: this.nextRecv, which: 'next' };
    if (this.prevRecv) return { key: this.prevRecv, which: 'prev' };
    return null;
  }

  /** A packet authenticated under the next keys: they become current. */
  promoteNext(now: Instant, discardAfter: number): boolean {
    if (!this.nextRecv) return false;
    this.prevRecv?.destroy();
    this.prevRecv = this.recvKey;
    this.prevDiscardAt = now + discardAfter;
    this.recvKey = this.nextRecv;
    this.nextRecv = null;
    this.recvSeq++;
    if (this.reply) {
      // Responder: the initiator uses the new keys, so we may too.
      this.sendKey.destroy();
      this.sendKey = this.reply.sendKey;
      this.sendSeq = this.reply.seq;
      this.reply = null;
    }
    this.packetsUnderKey = 0;
    this.keyInstalledAt = now;
    this.updates++;
    return true;
  }

  /** Initiator: whether a new update is due. */
  updateDue(now: Instant, interval: number, maxPackets: number): boolean {
    if (!this.initiator || this.updateInFlight || this.prevRecv) return false;
    return now - this.keyInstalledAt >= interval || this.packetsUnderKey >= maxPackets;
  }

  /** Initiator: begin an update; returns the KEY_UPDATE to send. */
  startUpdate(rng: Rng): KeyUpdateOut {
    const kp = this.crypto.generateKeyPair(rng);
    this.localEphemeral = { seq: this.sendSeq + 1, priv: kp.priv, pub: kp.pub };
    return { seq: this.localEphemeral.seq, publicKey: kp.pub };
  }

  /** The KEY_UPDATE to retransmit after a loss, if it is still wanted. */
  pendingUpdateFrame(seq: number): KeyUpdateOut | null {
    if (this.localEphemeral && this.localEphemeral.seq === seq) return { seq, publicKey: this.localEphemeral.pub };
    if (this.reply && this.reply.seq === seq) return { seq, publicKey: this.reply.pub };
    return null;
  }

  /**
   * A KEY_UPDATE frame arrived. Returns the reply to send (responder), or
   * null. Throws E_PROTOCOL on a sequence that makes no sense.
   */
  onKeyUpdate(now: Instant, seq: number, peerPub: Uint8Array, rng: Rng, discardAfter: number): KeyUpdateOut | null {
    if (this.initiator) {
      const mine = this.localEphemeral;
      if (!mine || seq !== mine.seq) return null; // a duplicate of an answered reply
      const dh = this.crypto.dh(mine.priv, peerPub);
      const next = this.crypto.kdf(this.ck, dh);
      dh.fill(0);
      mine.priv.fill(0);
      this.localEphemeral = null;
      this.ck = next.ck;
      this.sendKey.destroy();
      this.sendKey = this.crypto.protection.newKey(next.k1);
      this.sendSeq = seq;
      this.nextRecv = this.crypto.protection.newKey(next.k2);
      next.k1.fill(0);
      next.k2.fill(0);
      this.packetsUnderKey = 0;
      this.keyInstalledAt = now;
      return null;
    }
    if (this.reply && seq === this.reply.seq) return { seq, publicKey: this.reply.pub }; // retransmitted request
    if (seq !== this.recvSeq + 1) return null; // stale
    if (this.prevRecv) this.discardPrev();
    const kp = this.crypto.generateKeyPair(rng);
    const dh = this.crypto.dh(kp.priv, peerPub);
    kp.priv.fill(0);
    const next = this.crypto.kdf(this.ck, dh);
    dh.fill(0);
    this.ck = next.ck;
    this.nextRecv = this.crypto.protection.newKey(next.k1);
    this.reply = { seq, pub: kp.pub, sendKey: this.crypto.protection.newKey(next.k2) };
    next.k1.fill(0);
    next.k2.fill(0);
    void now;
    void discardAfter;
    return { seq, publicKey: kp.pub };
  }

  /** Deadline for erasing the previous receive keys. */
  timeout(): Instant {
    return this.prevRecv ? this.prevDiscardAt : NEVER;
  }

  onTimeout(now: Instant): void {
    if (this.prevRecv && now >= this.prevDiscardAt) this.discardPrev();
  }

  private discardPrev(): void {
    this.prevRecv?.destroy();
    this.prevRecv = null;
    this.prevDiscardAt = NEVER;
  }

  destroy(): void {
    this.sendKey.destroy();
    this.recvKey.destroy();
    this.nextRecv?.destroy();
    this.discardPrev();
    this.reply?.sendKey.destroy();
    this.localEphemeral?.priv.fill(0);
    this.ck.fill(0);
  }
}
