import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  AEAD_TAG_LEN,
  CID_LEN,
  MIN_INITIATION_SIZE,
  Reader,
  SHORT_HEADER_LEN,
  WIRE_VERSION,
  Writer,
  decodeLongHeader,
  decodeShortHeader,
  decodeShortHeaderFields,
  encodeLongHeader,
  encodeShortHeader,
  isLongHeader,
  isShortHeader,
  longHeaderPacketLength,
  peekDcid,
  type LongHeaderPacket,
} from '../../src/wire/index.js';
import { RUNS, decodeOrWireError, expectCode, fixed, hex, longPacket, mutate, mutations, same } from './arbitraries.js';

const dcid = hex('0102030405060708');
const scid = hex('1112131415161718');

function encode(p: LongHeaderPacket, cap = 2048): Uint8Array {
  const buf = new Uint8Array(cap);
  const w = new Writer(buf);
  encodeLongHeader(w, p);
  return buf.subarray(0, w.offset);
}

describe('constants', () => {
  it('match PROTOCOL.md', () => {
    expect([WIRE_VERSION, CID_LEN, SHORT_HEADER_LEN, MIN_INITIATION_SIZE, AEAD_TAG_LEN]).toEqual([1, 8, 13, 1200, 16]);
  });
});

describe('long header', () => {
  it('lays out a RESPONSE byte for byte', () => {
    const dg = encode({ type: 'response', version: 1, dcid, scid, noise: hex('aabbcc') });
    expect(Buffer.from(dg).toString('hex')).toBe('c1' + '00000001' + '0102030405060708' + '1112131415161718' + '03' + 'aabbcc');
  });

  it('pads an INITIATION with zeros to 1200 bytes and decodes views into the datagram', () => {
    const p: LongHeaderPacket = { type: 'initiation', version: 1, dcid, scid, token: hex('77'), noise: new Uint8Array(32).fill(5) };
    const dg = encode(p);
    expect(dg.length).toBe(MIN_INITIATION_SIZE);
    expect(longHeaderPacketLength(p)).toBe(MIN_INITIATION_SIZE);
    expect(dg[0]).toBe(0xc0);
    const d = decodeLongHeader(new Reader(dg));
    expect(d).toEqual(p);
    if (d.type !== 'initiation') throw new Error('type');
    expect(d.noise.buffer).toBe(dg.buffer);
    expect(d.dcid.buffer).toBe(dg.buffer);
  });

  it('does not pad an INITIATION that is already over 1200 bytes', () => {
    const p: LongHeaderPacket = { type: 'initiation', version: 1, dcid, scid, token: new Uint8Array(0), noise: new Uint8Array(1300) };
    expect(encode(p).length).toBe(1 + 4 + 16 + 1 + 2 + 1300);
  });

  it('drops an INITIATION datagram under 1200 bytes', () => {
    const dg = encode({ type: 'initiation', version: 1, dcid, scid, token: new Uint8Array(0), noise: hex('01') });
    expectCode(() => decodeLongHeader(new Reader(dg.subarray(0, MIN_INITIATION_SIZE - 1))), 'E_WIRE_HEADER');
  });

  it('rejects non-zero INITIATION padding', () => {
    const dg = encode({ type: 'initiation', version: 1, dcid, scid, token: new Uint8Array(0), noise: hex('01') }).slice();
    dg[dg.length - 1] = 1;
    expectCode(() => decodeLongHeader(new Reader(dg)), 'E_WIRE_HEADER');
  });

  it('rejects bytes after a RESPONSE, FINISH or COOKIE_REPLY body', () => {
    for (const p of [
      { type: 'response', version: 1, dcid, scid, noise: hex('01') },
      { type: 'finish', version: 1, dcid, scid, noise: hex('01') },
      { type: 'cookie_reply', version: 1, dcid, scid, cookie: hex('01') },
    ] as LongHeaderPacket[]) {
      const dg = encode(p);
      const longer = new Uint8Array(dg.length + 1);
      longer.set(dg);
      expectCode(() => decodeLongHeader(new Reader(longer)), 'E_WIRE_TRAILING');
    }
  });

  it('encodes VERSION_NEGOTIATION with version 0 and a list of u32', () => {
    const dg = encode({ type: 'version_negotiation', version: 0, dcid, scid, versions: [1, 0xffffffff] });
    expect(Buffer.from(dg.subarray(0, 5)).toString('hex')).toBe('c400000000');
    expect(decodeLongHeader(new Reader(dg))).toEqual({ type: 'version_negotiation', version: 0, dcid, scid, versions: [1, 0xffffffff] });
  });

  it('rejects a VERSION_NEGOTIATION body that is empty or not a multiple of 4', () => {
    const dg = encode({ type: 'version_negotiation', version: 0, dcid, scid, versions: [1] });
    expectCode(() => decodeLongHeader(new Reader(dg.subarray(0, dg.length - 4))), 'E_WIRE_HEADER');
    expectCode(() => decodeLongHeader(new Reader(dg.subarray(0, dg.length - 1))), 'E_WIRE_HEADER');
    expectCode(() => encode({ type: 'version_negotiation', version: 0, dcid, scid, versions: [] }), 'E_WIRE_HEADER');
  });

  it('reports another version with its CIDs instead of failing', () => {
    const dg = encode({ type: 'response', version: 1, dcid, scid, noise: hex('01') }).slice();
    dg.set([0, 0, 0, 2], 1);
    expect(decodeLongHeader(new Reader(dg))).toEqual({ type: 'unsupported_version', version: 2, dcid, scid });
    // Only the invariant fields are read: even odd type bits and short bodies pass.
    const bare = hex('8f' + 'deadbeef' + '0102030405060708' + '1112131415161718');
    expect(decodeLongHeader(new Reader(bare))).toMatchObject({ type: 'unsupported_version', version: 0xdeadbeef });
  });

  it('rejects reserved bits, unknown types and version/type mismatches', () => {
    const dg = encode({ type: 'response', version: 1, dcid, scid, noise: hex('01') }).slice();
    for (const first of [0x81, 0xd1, 0xe1, 0xc5, 0xcf]) {
      dg[0] = first;
      expectCode(() => decodeLongHeader(new Reader(dg)), 'E_WIRE_HEADER');
    }
    dg[0] = 0xc1;
    dg.set([0, 0, 0, 0], 1); // version 0 but not VERSION_NEGOTIATION
    expectCode(() => decodeLongHeader(new Reader(dg)), 'E_WIRE_HEADER');
    dg[0] = 0x41;
    expectCode(() => decodeLongHeader(new Reader(dg)), 'E_WIRE_HEADER');
  });

  it('refuses to encode bad CIDs, wrong versions or the unsupported_version variant', () => {
    expectCode(() => encode({ type: 'response', version: 1, dcid: hex('01'), scid, noise: hex('') }), 'E_WIRE_HEADER');
    expectCode(() => encode({ type: 'response', version: 2, dcid, scid, noise: hex('') }), 'E_WIRE_HEADER');
    expectCode(() => encode({ type: 'version_negotiation', version: 1, dcid, scid, versions: [1] }), 'E_WIRE_HEADER');
    expectCode(() => encode({ type: 'unsupported_version', version: 2, dcid, scid }), 'E_WIRE_HEADER');
  });

  it('refuses to start a packet that does not fit, writing nothing', () => {
    const buf = new Uint8Array(1199);
    const w = new Writer(buf);
    expectCode(() => encodeLongHeader(w, { type: 'initiation', version: 1, dcid, scid, token: hex(''), noise: hex('') }), 'E_WIRE_TOO_LARGE');
    expect(w.offset).toBe(0);
  });

  it('reports truncation of every field', () => {
    const dg = encode({ type: 'cookie_reply', version: 1, dcid, scid, cookie: new Uint8Array(20) });
    for (let n = 0; n < dg.length; n++) {
      const r = decodeOrWireError(() => decodeLongHeader(new Reader(dg.subarray(0, n))));
      expect(r).toBeNull();
    }
  });

  it('round-trips every packet type (property)', () => {
    const buf = new Uint8Array(2048);
    fc.assert(
      fc.property(longPacket(), (p) => {
        const w = new Writer(buf);
        encodeLongHeader(w, p);
        expect(w.offset).toBe(longHeaderPacketLength(p));
        same(decodeLongHeader(new Reader(buf, 0, w.offset)), p);
      }),
      RUNS,
    );
  });

  it('decodes mutated packets to something re-encodable, or throws a wire error (property)', () => {
    const buf = new Uint8Array(2048);
    fc.assert(
      fc.property(longPacket(), mutations(), (p, ms) => {
        const w = new Writer(buf);
        encodeLongHeader(w, p);
        const bad = mutate(buf.subarray(0, w.offset), ms);
        const d = decodeOrWireError(() => decodeLongHeader(new Reader(bad)));
        if (d === null || d.type === 'unsupported_version') return;
        const again = new Uint8Array(2048);
        const w2 = new Writer(again);
        encodeLongHeader(w2, d);
        same(decodeLongHeader(new Reader(again, 0, w2.offset)), d);
      }),
      RUNS,
    );
  });

  it('never throws anything but a wire error on random bytes (property)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), fc.nat(255), (body, first) => {
        const dg = new Uint8Array(body.length + 1);
        dg.set([first | 0x80]);
        dg.set(body, 1);
        decodeOrWireError(() => decodeLongHeader(new Reader(dg)));
      }),
      RUNS,
    );
  });
});

describe('short header', () => {
  it('lays out 13 bytes: 0x40 | k << 2, DCID, u32 packet number', () => {
    const buf = new Uint8Array(SHORT_HEADER_LEN + AEAD_TAG_LEN);
    const w = new Writer(buf);
    encodeShortHeader(w, { keyPhase: 1, dcid, pnTruncated: 0xdeadbeef });
    expect(w.offset).toBe(SHORT_HEADER_LEN);
    expect(Buffer.from(buf.subarray(0, 13)).toString('hex')).toBe('44' + '0102030405060708' + 'deadbeef');
    const h = decodeShortHeader(new Reader(buf));
    expect(h).toEqual({ keyPhase: 1, dcid, pnTruncated: 0xdeadbeef });
    expect(h.dcid.buffer).toBe(buf.buffer);
  });

  it('reuses an out object', () => {
    const buf = new Uint8Array(SHORT_HEADER_LEN + AEAD_TAG_LEN);
    encodeShortHeader(new Writer(buf), { keyPhase: 0, dcid, pnTruncated: 7 });
    const out = { keyPhase: 1, dcid: new Uint8Array(0), pnTruncated: 0 };
    expect(decodeShortHeader(new Reader(buf), out)).toBe(out);
    expect(out.pnTruncated).toBe(7);
    expect(out.keyPhase).toBe(0);
  });

  it('needs room for the AEAD tag after the header', () => {
    const buf = new Uint8Array(SHORT_HEADER_LEN + AEAD_TAG_LEN - 1);
    encodeShortHeader(new Writer(buf), { keyPhase: 0, dcid, pnTruncated: 7 });
    expectCode(() => decodeShortHeader(new Reader(buf)), 'E_WIRE_TRUNCATED');
  });

  it('rejects other first bytes and bad inputs', () => {
    const buf = new Uint8Array(40);
    for (const first of [0x00, 0x41, 0x48, 0x60, 0xc0]) {
      buf[0] = first;
      expectCode(() => decodeShortHeader(new Reader(buf)), 'E_WIRE_HEADER');
    }
    expectCode(() => encodeShortHeader(new Writer(buf), { keyPhase: 2, dcid, pnTruncated: 0 }), 'E_WIRE_HEADER');
    expectCode(() => encodeShortHeader(new Writer(buf), { keyPhase: 0, dcid: hex('01'), pnTruncated: 0 }), 'E_WIRE_HEADER');
    expectCode(() => encodeShortHeader(new Writer(buf), { keyPhase: 0, dcid, pnTruncated: 2 ** 32 }), 'E_WIRE_VARINT');
    expectCode(() => encodeShortHeader(new Writer(buf, 0, 12), { keyPhase: 0, dcid, pnTruncated: 0 }), 'E_WIRE_TOO_LARGE');
  });

  it('decodeShortHeaderFields agrees with decodeShortHeader on any bytes, fields and error codes, without the CID', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 0, maxLength: 40 }), fc.nat({ max: 40 }), fc.constantFrom(0x40, 0x44, 0x41, 0xc0, -1), (bytes, start, first) => {
        const at = Math.min(start, bytes.length);
        if (first >= 0 && at < bytes.length) bytes[at] = first;
        let want: unknown;
        let got: unknown;
        try {
          const h = decodeShortHeader(new Reader(bytes, at));
          want = { keyPhase: h.keyPhase, pnTruncated: h.pnTruncated };
        } catch (e) {
          want = (e as { code?: string }).code;
        }
        const r = new Reader(bytes, at);
        try {
          got = { ...decodeShortHeaderFields(r, { keyPhase: 9, pnTruncated: -1 }) };
        } catch (e) {
          got = (e as { code?: string }).code;
        }
        expect(got).toEqual(want);
        if (typeof want === 'object') expect(r.offset).toBe(at + SHORT_HEADER_LEN);
      }),
      RUNS,
    );
  });

  it('round-trips (property)', () => {
    const buf = new Uint8Array(SHORT_HEADER_LEN + AEAD_TAG_LEN);
    fc.assert(
      fc.property(fc.constantFrom(0, 1), fixed(8), fc.nat({ max: 0xffff_ffff }), (keyPhase, id, pnTruncated) => {
        encodeShortHeader(new Writer(buf), { keyPhase, dcid: id, pnTruncated });
        same(decodeShortHeader(new Reader(buf)), { keyPhase, dcid: id, pnTruncated });
        same(peekDcid(buf), id);
      }),
      RUNS,
    );
  });
});

describe('demultiplexing', () => {
  it('classifies first bytes', () => {
    expect(isLongHeader(0xc0)).toBe(true);
    expect(isLongHeader(0x80)).toBe(true);
    expect(isLongHeader(0x44)).toBe(false);
    expect(isShortHeader(0x40)).toBe(true);
    expect(isShortHeader(0x44)).toBe(true);
    expect(isShortHeader(0x45)).toBe(false);
    expect(isShortHeader(0xc0)).toBe(false);
  });

  it('peeks the DCID of both forms, any version, as a view', () => {
    const long = encode({ type: 'finish', version: 1, dcid, scid, noise: hex('01') });
    const p = peekDcid(long);
    expect(p).toEqual(dcid);
    expect(p?.buffer).toBe(long.buffer);
    const other = hex('c3' + '00000009' + '0102030405060708');
    expect(peekDcid(other)).toEqual(dcid);
    expect(peekDcid(hex('40' + '0102030405060708'))).toEqual(dcid);
  });

  it('returns null for short, empty or unknown-form datagrams', () => {
    expect(peekDcid(new Uint8Array(0))).toBeNull();
    expect(peekDcid(hex('c0000000010102030405'))).toBeNull();
    expect(peekDcid(hex('4001020304050607'))).toBeNull();
    expect(peekDcid(hex('000102030405060708090a0b0c'))).toBeNull();
  });

  it('never throws on random datagrams (property)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 32 }), (dg) => {
        const p = peekDcid(dg);
        if (p !== null) expect(p.length).toBe(CID_LEN);
      }),
      RUNS,
    );
  });
});
