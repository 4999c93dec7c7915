import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  DEFAULT_MAX_ACK_RANGES,
  FrameType,
  MAX_REASON_LEN,
  MAX_VARINT,
  Reader,
  Writer,
  chunkDataFit,
  chunkFrameOverhead,
  controlDataFit,
  controlFrameOverhead,
  decodeFrame,
  decodeFrames,
  encodeFrame,
  frameLength,
  isAckEliciting,
  type Frame,
} from '../../src/wire/index.js';
import { RUNS, ackFrame, decodeOrWireError, expectCode, frame, hex, mutate, mutations, varint, same } from './arbitraries.js';

function enc(f: Frame, maxAckRanges?: number): Uint8Array {
  const buf = new Uint8Array(16_384);
  const w = new Writer(buf);
  encodeFrame(w, f, maxAckRanges);
  return buf.slice(0, w.offset);
}

function dec(b: Uint8Array): Frame {
  const r = new Reader(b);
  const f = decodeFrame(r);
  r.expectEnd();
  return f;
}

const all = (payload: Uint8Array): Frame[] => {
  const out: Frame[] = [];
  decodeFrames(payload, (f) => out.push(f));
  return out;
};

/** Adjacent padding frames become one on the wire. */
function mergePadding(fs: Frame[]): Frame[] {
  const out: Frame[] = [];
  for (const f of fs) {
    const last = out.at(-1);
    if (f.type === 'padding' && last?.type === 'padding') out[out.length - 1] = { type: 'padding', length: last.length + f.length };
    else out.push(f);
  }
  return out;
}

describe('frame layouts (PROTOCOL.md §4)', () => {
  it('encodes each frame type as specified', () => {
    const cases: Array<[Frame, string]> = [
      [{ type: 'padding', length: 3 }, '000000'],
      [{ type: 'ping' }, '01'],
      [{ type: 'ack', largest: 100, ackDelay: 25, ranges: [[90, 100], [50, 80]] }, '02 4064 19 01 0a 08 1e'],
      [{ type: 'control', offset: 64, data: hex('aabb') }, '03 4040 02 aabb'],
      [{ type: 'chunk', transferId: 3, offset: 16_384, data: hex('cc') }, '04 03 80004000 01 cc'],
      [{ type: 'proof', transferId: 1, chunkIndex: 2, first: 0, hashes: new Uint8Array(32).fill(0xee) }, '05 01 02 00 01' + 'ee'.repeat(32)],
      [{ type: 'window', transferId: 1, maxOffset: 1_000_000 }, '06 01 800f4240'],
      [{ type: 'key_update', seq: 2, publicKey: new Uint8Array(32).fill(9) }, '07 02' + '09'.repeat(32)],
      [{ type: 'path_challenge', data: hex('0102030405060708') }, '08 0102030405060708'],
      [{ type: 'path_response', data: hex('0102030405060708') }, '09 0102030405060708'],
      [{ type: 'close', errorCode: 11, reason: 'hé' }, '0a 0b 03 68c3a9'],
      [{ type: 'zero_chunk', transferId: 5, chunkIndex: 300 }, '0b 05 412c'],
    ];
    for (const [f, h] of cases) {
      expect(Buffer.from(enc(f)).toString('hex')).toBe(h.replace(/\s+/g, ''));
      expect(frameLength(f)).toBe(h.replace(/\s+/g, '').length / 2);
      expect(dec(hex(h))).toEqual(f);
    }
  });

  it('type codes are the §4 table', () => {
    expect(FrameType).toEqual({
      PADDING: 0, PING: 1, ACK: 2, CONTROL: 3, CHUNK: 4, PROOF: 5, WINDOW: 6, KEY_UPDATE: 7, PATH_CHALLENGE: 8, PATH_RESPONSE: 9, CLOSE: 10, ZERO_CHUNK: 11,
    });
  });

  it('marks PADDING, ACK and CLOSE as not ack-eliciting', () => {
    const fs: Frame[] = [
      { type: 'padding', length: 1 },
      { type: 'ack', largest: 0, ackDelay: 0, ranges: [[0, 0]] },
      { type: 'close', errorCode: 0, reason: '' },
    ];
    for (const f of fs) expect(isAckEliciting(f)).toBe(false);
    for (const f of [{ type: 'ping' }, { type: 'window', transferId: 0, maxOffset: 0 }] as Frame[]) expect(isAckEliciting(f)).toBe(true);
  });
});

describe('decoding', () => {
  it('returns views into the payload for data fields', () => {
    const payload = enc({ type: 'chunk', transferId: 1, offset: 0, data: hex('0102030405') });
    const f = dec(payload);
    if (f.type !== 'chunk') throw new Error('type');
    expect(f.data.buffer).toBe(payload.buffer);
    expect(f.data.byteOffset).toBe(payload.byteOffset + payload.length - 5);
  });

  it('collapses consecutive padding into one frame', () => {
    expect(all(hex('00000001000000'))).toEqual([
      { type: 'padding', length: 3 },
      { type: 'ping' },
      { type: 'padding', length: 3 },
    ]);
  });

  it('throws E_WIRE_FRAME_TYPE for an unknown type and E_WIRE_VARINT for a padded type', () => {
    expectCode(() => dec(hex('0c')), 'E_WIRE_FRAME_TYPE');
    expectCode(() => dec(hex('3f')), 'E_WIRE_FRAME_TYPE');
    expectCode(() => dec(hex('4100')), 'E_WIRE_FRAME_TYPE');
    expectCode(() => dec(hex('4001')), 'E_WIRE_VARINT'); // PING in two bytes
    expectCode(() => dec(hex('4000')), 'E_WIRE_VARINT');
  });

  it('rejects an empty payload', () => {
    expectCode(() => all(new Uint8Array(0)), 'E_WIRE_FRAME');
  });

  it('visits nothing when any frame in the packet is malformed', () => {
    const good = enc({ type: 'window', transferId: 1, maxOffset: 2 });
    const payload = new Uint8Array(good.length + 1);
    payload.set(good);
    payload[good.length] = 0x0c;
    let visited = 0;
    expectCode(() => decodeFrames(payload, () => visited++), 'E_WIRE_FRAME_TYPE');
    expect(visited).toBe(0);
  });

  it('reports truncation inside every frame type', () => {
    const fs: Frame[] = [
      { type: 'ack', largest: 1000, ackDelay: 5, ranges: [[900, 1000], [10, 20]] },
      { type: 'control', offset: 5, data: hex('0102') },
      { type: 'chunk', transferId: 5, offset: 5, data: hex('0102') },
      { type: 'proof', transferId: 1, chunkIndex: 1, first: 1, hashes: new Uint8Array(64) },
      { type: 'window', transferId: 300, maxOffset: 70_000 },
      { type: 'zero_chunk', transferId: 300, chunkIndex: 70_000 },
      { type: 'key_update', seq: 1, publicKey: new Uint8Array(32) },
      { type: 'path_challenge', data: new Uint8Array(8) },
      { type: 'close', errorCode: 1, reason: 'bye' },
    ];
    for (const f of fs) {
      const b = enc(f);
      for (let n = 1; n < b.length; n++) expectCode(() => decodeFrame(new Reader(b.subarray(0, n))), 'E_WIRE_TRUNCATED');
    }
  });

  it('rejects CONTROL and CHUNK spans that end beyond 2^53-1', () => {
    expectCode(() => dec(hex('03 c01fffffffffffff 01 aa')), 'E_WIRE_FRAME');
    expectCode(() => dec(hex('04 00 c01fffffffffffff 01 aa')), 'E_WIRE_FRAME');
    expect(dec(hex('03 c01fffffffffffff 00'))).toEqual({ type: 'control', offset: MAX_VARINT, data: new Uint8Array(0) });
  });
});

describe('ACK', () => {
  it('validates ranges while decoding (RFC 9000 §19.3.1)', () => {
    expectCode(() => dec(hex('02 05 00 00 06')), 'E_WIRE_FRAME'); // first range below 0
    expectCode(() => dec(hex('02 05 00 01 02 02 00')), 'E_WIRE_FRAME'); // gap below 0: 3 - 2 - 2 < 0
    expectCode(() => dec(hex('02 0a 00 01 00 00 09')), 'E_WIRE_FRAME'); // length below 0: 8 - 9 < 0
    expect(dec(hex('02 0a 00 01 00 00 08'))).toEqual({ type: 'ack', largest: 10, ackDelay: 0, ranges: [[10, 10], [0, 8]] });
  });

  it('refuses a range count the payload cannot hold before allocating', () => {
    expectCode(() => dec(hex('02 05 00 c01fffffffffffff 00')), 'E_WIRE_TRUNCATED');
  });

  it('refuses invalid ranges when encoding', () => {
    const bad: Array<Extract<Frame, { type: 'ack' }>> = [
      { type: 'ack', largest: 5, ackDelay: 0, ranges: [] },
      { type: 'ack', largest: 5, ackDelay: 0, ranges: [[0, 4]] },
      { type: 'ack', largest: 5, ackDelay: 0, ranges: [[3, 2]] },
      { type: 'ack', largest: 10, ackDelay: 0, ranges: [[5, 10], [2, 4]] }, // adjacent: no gap
      { type: 'ack', largest: 10, ackDelay: 0, ranges: [[5, 10], [6, 8]] },
      { type: 'ack', largest: 10, ackDelay: 0, ranges: [[5, 10], [-3, 1]] },
    ];
    for (const f of bad) expectCode(() => enc(f), 'E_WIRE_FRAME');
    expectCode(() => enc({ type: 'ack', largest: 5, ackDelay: -1, ranges: [[5, 5]] }), 'E_WIRE_VARINT');
    expectCode(() => enc({ type: 'ack', largest: 5, ackDelay: 0, ranges: [[5, 5]] }, 0), 'E_WIRE_FRAME');
  });

  it('keeps only the newest ranges under the cap', () => {
    const ranges: Array<[number, number]> = [];
    for (let i = 0; i < 100; i++) ranges.push([1000 - 3 * i, 1000 - 3 * i]);
    const f: Frame = { type: 'ack', largest: 1000, ackDelay: 1, ranges };
    const capped = dec(enc(f, 5));
    expect(capped).toEqual({ ...f, ranges: ranges.slice(0, 5) });
    expect(frameLength(f, 5)).toBe(enc(f, 5).length);
    if (dec(enc(f)).type !== 'ack') throw new Error('type');
    expect((dec(enc(f)) as typeof f).ranges.length).toBe(DEFAULT_MAX_ACK_RANGES);
  });

  it('round-trips generated ACKs under any cap (property)', () => {
    fc.assert(
      fc.property(ackFrame(), fc.integer({ min: 1, max: 15 }), (f, cap) => {
        const b = enc(f, cap);
        expect(b.length).toBe(frameLength(f, cap));
        same(dec(b), { ...f, ranges: f.ranges.slice(0, cap) });
      }),
      RUNS,
    );
  });
});

describe('CLOSE', () => {
  it('rejects invalid UTF-8 and over-long reasons with E_WIRE_FRAME', () => {
    expectCode(() => dec(hex('0a 00 02 c328')), 'E_WIRE_FRAME');
    expectCode(() => dec(hex('0a 00 01 ff')), 'E_WIRE_FRAME');
    expectCode(() => dec(hex('0a 00 03 eda080')), 'E_WIRE_FRAME'); // encoded surrogate
    const long = new Uint8Array(2 + 2 + 257).fill(0x61);
    long.set([0x0a, 0x00, 0x41, 0x01]);
    expectCode(() => dec(long), 'E_WIRE_FRAME');
  });

  it('keeps a leading byte-order mark', () => {
    const f: Frame = { type: 'close', errorCode: 0, reason: '\ufeffx' };
    expect(dec(enc(f))).toEqual(f);
  });

  it('cuts long reasons at a character boundary and replaces lone surrogates', () => {
    const cut = dec(enc({ type: 'close', errorCode: 1, reason: 'é'.repeat(200) }));
    expect(cut).toEqual({ type: 'close', errorCode: 1, reason: 'é'.repeat(MAX_REASON_LEN / 2) });
    const odd = dec(enc({ type: 'close', errorCode: 1, reason: `a${'😀'.repeat(64)}` }));
    if (odd.type !== 'close') throw new Error('type');
    expect(odd.reason).toBe(`a${'😀'.repeat(63)}`); // 1 + 63 × 4 = 253; one more would be 257
    expect(dec(enc({ type: 'close', errorCode: 1, reason: 'a\ud800b\udc00' }))).toEqual({ type: 'close', errorCode: 1, reason: 'a\ufffdb\ufffd' });
  });
});

describe('encoding', () => {
  it('refuses frames that do not fit, writing nothing', () => {
    const buf = new Uint8Array(8).fill(0xaa);
    const w = new Writer(buf, 0, 6);
    expectCode(() => encodeFrame(w, { type: 'chunk', transferId: 1, offset: 0, data: new Uint8Array(3) }), 'E_WIRE_TOO_LARGE');
    expect(w.offset).toBe(0);
    expect(Array.from(buf)).toEqual(new Array(8).fill(0xaa));
  });

  it('refuses invalid fixed-size fields', () => {
    expectCode(() => enc({ type: 'path_challenge', data: new Uint8Array(7) }), 'E_WIRE_FRAME');
    expectCode(() => enc({ type: 'key_update', seq: 0, publicKey: new Uint8Array(31) }), 'E_WIRE_FRAME');
    expectCode(() => enc({ type: 'proof', transferId: 0, chunkIndex: 0, first: 0, hashes: new Uint8Array(33) }), 'E_WIRE_FRAME');
    expectCode(() => enc({ type: 'proof', transferId: 0, chunkIndex: 0, first: 0, hashes: new Uint8Array(256 * 32) }), 'E_WIRE_FRAME');
    expectCode(() => enc({ type: 'padding', length: 0 }), 'E_WIRE_FRAME');
    expectCode(() => enc({ type: 'chunk', transferId: 0, offset: MAX_VARINT, data: new Uint8Array(1) }), 'E_WIRE_FRAME');
    expectCode(() => enc({ type: 'window', transferId: -1, maxOffset: 0 }), 'E_WIRE_VARINT');
  });

  it('allows 255 proof hashes', () => {
    const f: Frame = { type: 'proof', transferId: 0, chunkIndex: 0, first: 3, hashes: new Uint8Array(255 * 32).fill(1) };
    expect(dec(enc(f))).toEqual(f);
  });
});

describe('packing helpers', () => {
  it('overheads are exact', () => {
    fc.assert(
      fc.property(varint(), varint(), fc.nat(3000), (id, off, len) => {
        fc.pre(off + len <= MAX_VARINT);
        const data = new Uint8Array(len);
        expect(chunkFrameOverhead(id, off, len) + len).toBe(frameLength({ type: 'chunk', transferId: id, offset: off, data }));
        expect(controlFrameOverhead(off, len) + len).toBe(frameLength({ type: 'control', offset: off, data }));
      }),
      RUNS,
    );
  });

  it('the data fit is the largest length that fits (property)', () => {
    fc.assert(
      fc.property(varint(), varint(), fc.nat(70_000), (id, off, space) => {
        const n = chunkDataFit(id, off, space);
        if (n > 0) expect(chunkFrameOverhead(id, off, n) + n).toBeLessThanOrEqual(space);
        expect(chunkFrameOverhead(id, off, n + 1) + n + 1).toBeGreaterThan(space);
        const c = controlDataFit(off, space);
        if (c > 0) expect(controlFrameOverhead(off, c) + c).toBeLessThanOrEqual(space);
        expect(controlFrameOverhead(off, c + 1) + c + 1).toBeGreaterThan(space);
      }),
      RUNS,
    );
  });
});

describe('properties', () => {
  it('every frame round-trips and frameLength is the encoded size', () => {
    const buf = new Uint8Array(4096);
    fc.assert(
      fc.property(frame(), (f) => {
        const w = new Writer(buf);
        encodeFrame(w, f);
        expect(w.offset).toBe(frameLength(f));
        const r = new Reader(buf, 0, w.offset);
        same(decodeFrame(r), f);
        expect(r.atEnd()).toBe(true);
      }),
      RUNS,
    );
  });

  it('a packet of frames round-trips through decodeFrames', () => {
    const buf = new Uint8Array(16_384);
    fc.assert(
      fc.property(fc.array(frame(), { minLength: 1, maxLength: 6 }), (fs) => {
        const w = new Writer(buf);
        for (const f of fs) encodeFrame(w, f);
        same(all(buf.subarray(0, w.offset)), mergePadding(fs));
      }),
      RUNS,
    );
  });

  it('mutated packets decode to re-encodable frames or throw a wire error', () => {
    const buf = new Uint8Array(16_384);
    const again = new Uint8Array(16_384);
    fc.assert(
      fc.property(fc.array(frame(), { minLength: 1, maxLength: 4 }), mutations(), (fs, ms) => {
        const w = new Writer(buf);
        for (const f of fs) encodeFrame(w, f);
        const bad = mutate(buf.subarray(0, w.offset), ms);
        const got = decodeOrWireError(() => all(bad));
        if (got === null) return;
        const w2 = new Writer(again);
        for (const f of got) encodeFrame(w2, f);
        same(all(again.subarray(0, w2.offset)), got);
      }),
      RUNS,
    );
  });

  it('random payloads decode to re-encodable frames or throw a wire error', () => {
    const again = new Uint8Array(16_384);
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 1, maxLength: 48 }), fc.nat(10), (payload, t) => {
        payload[0] = t; // start at a known type more often than chance would
        const got = decodeOrWireError(() => all(payload));
        if (got === null) return;
        const w = new Writer(again);
        for (const f of got) encodeFrame(w, f);
        same(all(again.subarray(0, w.offset)), got);
      }),
      RUNS,
    );
  });
});

describe('decodeFrame with a reused CHUNK frame source', () => {
  it('fills distinct pooled objects per packet, decodes like the allocating path, and reset drops the views', async () => {
    const { ChunkFramePool } = await import('../../src/session/chunk-frames.js');
    const pool = new ChunkFramePool();
    const frames: Frame[] = [
      { type: 'chunk', transferId: 3, offset: 1000, data: Uint8Array.from([1, 2, 3]) },
      { type: 'ping' },
      { type: 'chunk', transferId: 4, offset: 0, data: Uint8Array.from([9, 8]) },
    ];
    const buf = new Uint8Array(256);
    const w = new Writer(buf);
    for (const f of frames) encodeFrame(w, f);
    for (let round = 0; round < 3; round++) {
      const r = new Reader(buf.subarray(0, w.offset));
      const got: Frame[] = [];
      while (!r.atEnd()) got.push(decodeFrame(r, pool));
      expect(got).toEqual(frames);
      expect(got[0]).not.toBe(got[2]);
      const first = got[0];
      pool.reset();
      expect(first).toMatchObject({ type: 'chunk', data: new Uint8Array(0) });
      // The next packet reuses the same objects.
      const again = decodeFrame(new Reader(buf.subarray(0, w.offset)), pool);
      expect(again).toBe(first);
      pool.reset();
    }
  });
});
