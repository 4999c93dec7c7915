import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  CONTROL_STREAM_WINDOW,
  ControlType,
  MAX_LEAVES_PER_MESSAGE,
  MAX_VARINT,
  Reader,
  Writer,
  controlMessageLength,
  decodeControlMessage,
  encodeControlMessage,
  type ControlMessage,
} from '../../src/wire/index.js';
import { RUNS, controlMessage, decodeOrWireError, expectCode, hex, mutate, mutations, same } from './arbitraries.js';

/** Control-message decoders may also throw E_CHUNK_SIZE (documented). */
const CONTROL_CODES = /^(E_WIRE_|E_CHUNK_SIZE$)/;

function enc(m: ControlMessage): Uint8Array {
  const buf = new Uint8Array(8192);
  const w = new Writer(buf);
  encodeControlMessage(w, m);
  return buf.slice(0, w.offset);
}

function dec(b: Uint8Array): ControlMessage {
  const r = new Reader(b);
  const m = decodeControlMessage(r);
  r.expectEnd();
  return m;
}

const root = new Uint8Array(32).fill(0xab);
const offer: ControlMessage = {
  type: 'offer',
  transferId: 7,
  kind: 0,
  size: 100_000,
  chunkLog2: 16,
  mode: 0o644,
  mtimeMs: 1_700_000_000_000,
  root,
  name: 'dir/ü.txt',
};

describe('control messages (PROTOCOL.md §7)', () => {
  it('lays out each message as u8 type, varint length, body', () => {
    const cases: Array<[ControlMessage, string]> = [
      [{ type: 'accept', transferId: 1, ranges: [[0, 4], [10, 2]] }, '02 06 01 02 00 04 0a 02'],
      [{ type: 'reject', transferId: 1, errorCode: 7, reason: 'no' }, '03 05 01 07 02 6e6f'],
      [{ type: 'done', transferId: 2, status: 1 }, '04 02 02 01'],
      [{ type: 'done', transferId: 2, status: 2, name: 'a (1).b' }, '04 0a 02 02 07 6120283129 2e62'],
      [{ type: 'cancel', transferId: 2, errorCode: 4, reason: '' }, '05 03 02 04 00'],
      [{ type: 'resend', transferId: 3, chunkIndex: 300 }, '06 03 03 412c'],
      [{ type: 'written', transferId: 3, bytes: 1 << 20 }, '07 05 03 80100000'],
      [{ type: 'leaf_request', transferId: 9 }, '08 01 09'],
      [{ type: 'leaves', transferId: 9, first: 300, leaves: new Uint8Array(32).fill(0xcd) }, '09 23 09 412c' + 'cd'.repeat(32)],
      [{ type: 'accept', transferId: 1, ranges: [[0, 4]], reusedBytes: 1 << 20 }, '02 08 01 01 00 04 80100000'],
    ];
    for (const [m, h] of cases) {
      const want = h.replace(/\s+/g, '');
      expect(Buffer.from(enc(m)).toString('hex')).toBe(want);
      expect(controlMessageLength(m)).toBe(want.length / 2);
      expect(dec(hex(want))).toEqual(m);
    }
  });

  it('lays out OFFER field by field', () => {
    const b = enc(offer);
    const r = new Reader(b);
    expect(r.u8()).toBe(ControlType.OFFER);
    expect(r.varint()).toBe(r.remaining);
    expect(r.varint()).toBe(7);
    expect(r.u8()).toBe(0);
    expect(r.varint()).toBe(100_000);
    expect(r.u8()).toBe(16);
    expect(r.varint()).toBe(0o644);
    expect(r.varint()).toBe(1_700_000_000_000);
    expect(r.bytes(32)).toEqual(root);
    const n = r.varint();
    expect(Buffer.from(r.bytes(n)).toString('utf8')).toBe('dir/ü.txt');
    r.expectEnd();
    const d = dec(b);
    expect(d).toEqual(offer);
    if (d.type !== 'offer') throw new Error('type');
    expect(d.root.buffer).toBe(b.buffer); // a view, not a copy
  });

  it('checks chunk_log2 against 14..24 with E_CHUNK_SIZE', () => {
    for (const bad of [13, 25]) {
      expectCode(() => enc({ ...offer, chunkLog2: bad } as ControlMessage), 'E_CHUNK_SIZE');
      const b = enc(offer).slice();
      const at = b.indexOf(16, 3 + 1 + 3); // chunk_log2 follows transfer id, kind and size
      b[at] = bad;
      expectCode(() => dec(b), 'E_CHUNK_SIZE');
    }
    for (const ok of [14, 24]) expect(dec(enc({ ...offer, chunkLog2: ok } as ControlMessage))).toMatchObject({ chunkLog2: ok });
  });

  it('rejects a bad kind, status, name or root', () => {
    const b = enc(offer).slice();
    b[3] = 2; // kind
    expectCode(() => dec(b), 'E_WIRE_FRAME');
    expectCode(() => dec(hex('04 02 02 03')), 'E_WIRE_FRAME'); // done status 3
    expectCode(() => dec(hex('04 02 02 02')), 'E_WIRE_TRUNCATED'); // done status 2 without its name
    expectCode(() => dec(hex('04 05 02 02 02 ff fe')), 'E_WIRE_FRAME'); // a name that is not UTF-8
    expectCode(() => dec(hex('04 04 02 02 5001')), 'E_WIRE_FRAME'); // a name length past 4096
    expectCode(() => enc({ type: 'done', transferId: 0, status: 2, name: 'x'.repeat(4097) }), 'E_WIRE_FRAME');
    expectCode(() => enc({ ...offer, kind: 2 } as unknown as ControlMessage), 'E_WIRE_FRAME');
    expectCode(() => enc({ type: 'done', transferId: 0, status: 3 } as unknown as ControlMessage), 'E_WIRE_FRAME');
    expectCode(() => enc({ ...offer, root: new Uint8Array(31) } as ControlMessage), 'E_WIRE_FRAME');
    expectCode(() => enc({ ...offer, name: 'a\ud800' } as ControlMessage), 'E_WIRE_FRAME');
    const bad = enc({ ...offer, name: 'ab' } as ControlMessage).slice();
    bad[bad.length - 1] = 0xff; // invalid UTF-8 in the name
    expectCode(() => dec(bad), 'E_WIRE_FRAME');
  });

  it('carries an OFFER\'s zero bytes as an optional trailing varint, at most its size', () => {
    const plain = enc(offer);
    const m = { ...offer, zeroBytes: 300 } as ControlMessage;
    const b = enc(m);
    expect(Buffer.from(b.subarray(b.length - 2)).toString('hex')).toBe('412c');
    expect(b.length).toBe(plain.length + 2);
    expect(dec(b)).toEqual(m);
    expect(dec(plain)).not.toHaveProperty('zeroBytes');
    const size = (offer as { size: number }).size;
    expect(dec(enc({ ...offer, zeroBytes: size } as ControlMessage))).toMatchObject({ zeroBytes: size });
    expectCode(() => enc({ ...offer, zeroBytes: size + 1 } as ControlMessage), 'E_WIRE_FRAME');
    const over = enc({ ...offer, zeroBytes: size } as ControlMessage).slice();
    over[over.length - 1] = (over[over.length - 1] as number) + 1; // one more than the size
    expectCode(() => dec(over), 'E_WIRE_FRAME');
  });

  it('bounds LEAVES to 1..MAX_LEAVES_PER_MESSAGE whole hashes, and the message to the control window', () => {
    const leaves = (n: number): ControlMessage => ({ type: 'leaves', transferId: 2 ** 40, first: 2 ** 40, leaves: new Uint8Array(n) });
    const most = leaves(MAX_LEAVES_PER_MESSAGE * 32);
    expect(controlMessageLength(most)).toBeLessThanOrEqual(CONTROL_STREAM_WINDOW);
    expectCode(() => controlMessageLength(leaves(0)), 'E_WIRE_FRAME');
    expectCode(() => controlMessageLength(leaves(33)), 'E_WIRE_FRAME');
    expectCode(() => controlMessageLength(leaves((MAX_LEAVES_PER_MESSAGE + 1) * 32)), 'E_WIRE_FRAME');
    expectCode(() => dec(hex('09 02 01 00')), 'E_WIRE_FRAME'); // no hash
    expectCode(() => dec(hex('09 05 01 00 aabbcc')), 'E_WIRE_FRAME'); // part of one
    const big = new Uint8Array(70_000);
    const w = new Writer(big);
    encodeControlMessage(w, leaves(MAX_LEAVES_PER_MESSAGE * 32));
    expect(dec(big.slice(0, w.offset))).toMatchObject({ type: 'leaves', first: 2 ** 40 });
    expectCode(() => dec(hex('08 02 01 00')), 'E_WIRE_TRAILING'); // LEAF_REQUEST has only the id
  });

  it('keeps a leading byte-order mark in names', () => {
    const m = { ...offer, name: '\ufeffname' } as ControlMessage;
    expect(dec(enc(m))).toEqual(m);
  });

  it('validates ACCEPT ranges: count >= 1, ascending, not overlapping', () => {
    expectCode(() => dec(hex('02 04 01 01 05 00')), 'E_WIRE_FRAME'); // count 0
    expectCode(() => dec(hex('02 06 01 02 05 03 06 01')), 'E_WIRE_FRAME'); // overlaps
    expectCode(() => dec(hex('02 06 01 02 05 03 02 01')), 'E_WIRE_FRAME'); // descending
    expect(dec(hex('02 06 01 02 05 03 08 01'))).toEqual({ type: 'accept', transferId: 1, ranges: [[5, 3], [8, 1]] }); // adjacent is fine
    expectCode(() => enc({ type: 'accept', transferId: 1, ranges: [[MAX_VARINT, 1]] }), 'E_WIRE_FRAME');
    expectCode(() => dec(hex('02 03 01 c01fffffffffffff')), 'E_WIRE_TRUNCATED'); // count the body cannot hold
  });

  it('limits REJECT / CANCEL reasons to 256 bytes', () => {
    const long = 'x'.repeat(300);
    expect(dec(enc({ type: 'cancel', transferId: 1, errorCode: 1, reason: long }))).toEqual({
      type: 'cancel',
      transferId: 1,
      errorCode: 1,
      reason: 'x'.repeat(256),
    });
    const body = new Uint8Array(1 + 1 + 2 + 257).fill(0x61);
    body.set([1, 1, 0x41, 0x01]);
    const msg = new Uint8Array(3 + body.length);
    msg.set([ControlType.REJECT, 0x41, body.length & 0xff]);
    msg.set(body, 3);
    expectCode(() => dec(msg), 'E_WIRE_FRAME');
  });

  it('rejects unknown types, trailing body bytes and truncation', () => {
    expectCode(() => dec(hex('0a 00')), 'E_WIRE_FRAME_TYPE');
    expectCode(() => dec(hex('00 00')), 'E_WIRE_FRAME_TYPE');
    expectCode(() => dec(hex('04 03 02 01 00')), 'E_WIRE_TRAILING'); // DONE with an extra body byte
    const b = enc(offer);
    for (let n = 0; n < b.length; n++) expectCode(() => decodeControlMessage(new Reader(b.subarray(0, n))), 'E_WIRE_TRUNCATED');
  });

  it('refuses to encode a message that does not fit, writing nothing', () => {
    const buf = new Uint8Array(10);
    const w = new Writer(buf);
    expectCode(() => encodeControlMessage(w, offer), 'E_WIRE_TOO_LARGE');
    expect(w.offset).toBe(0);
  });

  it('round-trips every message (property)', () => {
    const buf = new Uint8Array(8192);
    fc.assert(
      fc.property(controlMessage(), (m) => {
        const w = new Writer(buf);
        encodeControlMessage(w, m);
        expect(w.offset).toBe(controlMessageLength(m));
        const r = new Reader(buf, 0, w.offset);
        same(decodeControlMessage(r), m);
        expect(r.atEnd()).toBe(true);
      }),
      RUNS,
    );
  });

  it('mutated and random bytes decode to re-encodable messages or throw a wire error (property)', () => {
    const buf = new Uint8Array(8192);
    const again = new Uint8Array(8192);
    fc.assert(
      fc.property(controlMessage(), mutations(), fc.uint8Array({ maxLength: 40 }), (m, ms, noise) => {
        const w = new Writer(buf);
        encodeControlMessage(w, m);
        for (const input of [mutate(buf.subarray(0, w.offset), ms), noise]) {
          const got = decodeOrWireError(() => decodeControlMessage(new Reader(input)), CONTROL_CODES);
          if (got === null) continue;
          const w2 = new Writer(again);
          encodeControlMessage(w2, got);
          same(decodeControlMessage(new Reader(again, 0, w2.offset)), got);
        }
      }),
      RUNS,
    );
  });
});
