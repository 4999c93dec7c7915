/**
 * The transfer table's side of LEAF_REQUEST / LEAVES (PROTOCOL.md §7), message by message:
 * what is answered, what is a protocol error, and that the answer waits for room on the
 * control stream.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { WraithError } from '../../src/errors.js';
import type { SessionEvent } from '../../src/session/events.js';
import type { SessionControl } from '../../src/session/session.js';
import { LEAVES_AHEAD_BYTES, LEAVES_AHEAD_MAX, TransferTable, fitRanges, leavesAhead } from '../../src/session/transfers.js';
import { buildFileTree } from '../../src/transfer/index.js';
import { MAX_LEAVES_PER_MESSAGE } from '../../src/wire/index.js';
import { fastBlake3 } from '../sim/helpers.js';

const CHUNK = 16 * 1024;

function table(initiator: boolean, buffered: { bytes: number }, peerLeafRows = true, controlWindow?: number) {
  const sent: SessionControl[] = [];
  const events: SessionEvent[] = [];
  const t = new TransferTable({
    sessionId: () => 1,
    peerId: () => 'peer',
    emit: (e) => events.push(e),
    sendControl: (m) => {
      sent.push(m);
      if (m.type === 'leaves') buffered.bytes += m.leaves.length;
    },
    hasher: fastBlake3,
    windowBytes: 1 << 20,
    sendBufferBytes: 1 << 20,
    maxTransfers: 8,
    peerLeafRows: () => peerLeafRows,
    controlBuffered: () => buffered.bytes,
    ...(controlWindow !== undefined ? { controlWindow: () => controlWindow } : {}),
    firstLocalId: initiator ? 0 : 1,
  });
  return { t, sent, events };
}

function file(chunks: number) {
  const data = new Uint8Array(chunks * CHUNK - 100);
  for (let i = 0; i < data.length; i += 997) data[i] = i & 0xff;
  return buildFileTree(fastBlake3, 'f.bin', data, CHUNK);
}

function expectProtocol(f: () => void): void {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(WraithError);
    expect((e as WraithError).code).toBe('E_PROTOCOL');
    return;
  }
  throw new Error('expected E_PROTOCOL');
}

describe('TransferTable: leaf rows', () => {
  it('answers a LEAF_REQUEST with the row in order, no more than LEAVES_AHEAD_BYTES at a time', () => {
    const buffered = { bytes: 0 };
    const { t, sent } = table(true, buffered);
    const { manifest, tree } = file(10_000);
    const id = t.offer(manifest, tree);
    t.onControl({ type: 'leaf_request', transferId: id });
    t.pumpLeaves();
    const leaves = () => sent.filter((m): m is Extract<SessionControl, { type: 'leaves' }> => m.type === 'leaves');
    // 2040 leaves are 65280 bytes: the third message takes the stream past the 128 KiB allowance.
    expect(LEAVES_AHEAD_BYTES).toBe(128 * 1024);
    expect(leaves().map((m) => m.first)).toEqual([0, MAX_LEAVES_PER_MESSAGE, 2 * MAX_LEAVES_PER_MESSAGE]);
    t.pumpLeaves();
    expect(leaves()).toHaveLength(3);
    buffered.bytes = 0; // acknowledged
    t.pumpLeaves();
    t.pumpLeaves();
    const all = leaves();
    expect(all.map((m) => m.first)).toEqual([0, 2040, 4080, 6120, 8160]);
    const row = new Uint8Array(10_000 * 32);
    for (const m of all) row.set(m.leaves, m.first * 32);
    expect(Buffer.compare(row, tree.leafRange(0, 10_000))).toBe(0);
  });

  it("keeps up to two of the peer's larger control windows of the row queued, at most LEAVES_AHEAD_MAX", () => {
    expect([leavesAhead(65_536), leavesAhead(256 * 1024), leavesAhead(4 << 20)]).toEqual([LEAVES_AHEAD_BYTES, 512 * 1024, LEAVES_AHEAD_MAX]);
    for (const [window, messages] of [[4 << 20, 17], [256 * 1024, 9]] as const) {
      const buffered = { bytes: 0 };
      const { t, sent } = table(true, buffered, true, window);
      const { manifest, tree } = file(40_000);
      t.onControl({ type: 'leaf_request', transferId: t.offer(manifest, tree) });
      t.pumpLeaves();
      // 65280 bytes a message: the one that takes the stream to the allowance or past it is the last.
      expect(sent.filter((m) => m.type === 'leaves'), `window ${window}`).toHaveLength(messages);
    }
  });

  it('closes with PROTOCOL on a second LEAF_REQUEST, or one after ACCEPT; ignores one for a transfer it no longer has', () => {
    const { t } = table(true, { bytes: 0 });
    const { manifest, tree } = file(3);
    const id = t.offer(manifest, tree);
    t.onControl({ type: 'leaf_request', transferId: id });
    expectProtocol(() => t.onControl({ type: 'leaf_request', transferId: id }));
    const other = t.offer({ ...manifest, name: 'g.bin' }, tree);
    t.onControl({ type: 'accept', transferId: other, ranges: [] });
    expectProtocol(() => t.onControl({ type: 'leaf_request', transferId: other }));
    t.onControl({ type: 'leaf_request', transferId: 998 });
  });

  it('closes with PROTOCOL on an ACCEPT telling reused bytes without a LEAF_REQUEST, or more than the file', () => {
    const { t } = table(true, { bytes: 0 });
    const { manifest, tree } = file(3);
    const a = t.offer(manifest, tree);
    expectProtocol(() => t.onControl({ type: 'accept', transferId: a, ranges: [], reusedBytes: 0 }));
    const b = t.offer({ ...manifest, name: 'g.bin' }, tree);
    t.onControl({ type: 'leaf_request', transferId: b });
    expectProtocol(() => t.onControl({ type: 'accept', transferId: b, ranges: [], reusedBytes: manifest.size + 1 }));
  });

  it('receiver: takes the row only as asked, in order and within the file', () => {
    const { t, sent, events } = table(false, { bytes: 0 });
    const { manifest, tree } = file(3000);
    const offer = (transferId: number) =>
      t.onControl({ type: 'offer', transferId, kind: 0, size: manifest.size, chunkLog2: 14, mode: 0o644, mtimeMs: 0, root: manifest.root, name: `f${transferId}` });
    offer(0);
    expectProtocol(() => t.onControl({ type: 'leaves', transferId: 0, first: 0, leaves: tree.leafRange(0, 10) })); // not asked for
    t.requestLeaves(0);
    expect(sent.at(-1)).toEqual({ type: 'leaf_request', transferId: 0 });
    expect(() => t.requestLeaves(0)).toThrow(/twice/);
    expectProtocol(() => t.onControl({ type: 'leaves', transferId: 0, first: 5, leaves: tree.leafRange(5, 10) })); // out of order
    offer(2);
    t.requestLeaves(2);
    t.onControl({ type: 'leaves', transferId: 2, first: 0, leaves: tree.leafRange(0, 2040) });
    expectProtocol(() => t.onControl({ type: 'leaves', transferId: 2, first: 2040, leaves: new Uint8Array(961 * 32) })); // past the end
    offer(4);
    expect(t.leavesReceived(4)).toBeNull();
    t.requestLeaves(4);
    expect(t.leavesReceived(4)).toBe(0);
    t.onControl({ type: 'leaves', transferId: 4, first: 0, leaves: tree.leafRange(0, 2040) });
    expect(t.leavesReceived(4)).toBe(2040); // what a receiver watches for a stalled row
    t.onControl({ type: 'leaves', transferId: 4, first: 2040, leaves: tree.leafRange(2040, 960) });
    expect(t.leavesReceived(4)).toBeNull();
    const got = events.find((e) => e.type === 'leaves');
    expect(got).toMatchObject({ transferId: 4 });
    expectProtocol(() => t.onControl({ type: 'leaves', transferId: 4, first: 3000, leaves: tree.leafRange(0, 1) })); // after the whole row
    // Accepted without waiting for the row: what still comes is dropped.
    offer(6);
    t.requestLeaves(6);
    t.accept(6, [], 0);
    expect(sent.at(-1)).toEqual({ type: 'accept', transferId: 6, ranges: [], reusedBytes: 0 });
    t.onControl({ type: 'leaves', transferId: 6, first: 0, leaves: tree.leafRange(0, 10) });
    t.onControl({ type: 'leaves', transferId: 77, first: 0, leaves: tree.leafRange(0, 10) }); // gone: ignored
    // An ACCEPT without a LEAF_REQUEST says nothing of reuse.
    offer(8);
    t.accept(8, [], 123);
    expect(sent.at(-1)).toEqual({ type: 'accept', transferId: 8, ranges: [] });
  });

  it('receiver: does not ask a peer that does not announce leaf_rows', () => {
    const { t } = table(false, { bytes: 0 }, false);
    const { manifest } = file(3);
    t.onControl({ type: 'offer', transferId: 0, kind: 0, size: manifest.size, chunkLog2: 14, mode: 0o644, mtimeMs: 0, root: manifest.root, name: 'f' });
    expect(t.peerSendsLeaves).toBe(false);
    expect(() => t.requestLeaves(0)).toThrow(/does not send leaf rows/);
  });

  it('tells at most what fits in an ACCEPT: the longest held ranges, in order', () => {
    const ranges: Array<[number, number]> = [];
    for (let i = 0; i < 30_000; i++) ranges.push([1000 + 3 * i, i % 7 === 0 ? 2 : 1]);
    expect(fitRanges(ranges.slice(0, 10), 65_472)).toEqual(ranges.slice(0, 10));
    const kept = fitRanges(ranges, 65_472);
    let bytes = 0;
    for (const [a, b] of kept) bytes += (a < 64 ? 1 : a < 16384 ? 2 : 4) + (b < 64 ? 1 : 2);
    expect(bytes).toBeLessThanOrEqual(65_472);
    expect(kept.length).toBeGreaterThan(10_000);
    for (let k = 1; k < kept.length; k++) expect(kept[k]![0]).toBeGreaterThan(kept[k - 1]![0]);
    // Every range of 2 is kept before any range of 1.
    expect(kept.filter((r) => r[1] === 2)).toHaveLength(ranges.filter((r) => r[1] === 2).length);
    // The table sends such an ACCEPT without overflowing the control stream.
    const { t, sent } = table(false, { bytes: 0 });
    const { manifest } = file(3);
    const size = 100_000 * CHUNK;
    t.onControl({ type: 'offer', transferId: 0, kind: 0, size, chunkLog2: 14, mode: 0o644, mtimeMs: 0, root: manifest.root, name: 'f' });
    const every: Array<[number, number]> = Array.from({ length: 40_000 }, (_, i) => [2 * i, 1]);
    t.accept(0, every);
    const accept = sent.find((m) => m.type === 'accept') as { ranges: Array<[number, number]> };
    expect(accept.ranges.length).toBeGreaterThan(10_000);
    expect(accept.ranges.length).toBeLessThan(40_000);
  });

  it('a hostile mix of LEAF_REQUEST, LEAVES and ACCEPT in any order: only E_PROTOCOL, and a row only when whole and true', () => {
    const { manifest, tree } = file(2500);
    const row = tree.leafRange(0, 2500);
    const msg = fc.oneof(
      fc.record({ type: fc.constant('leaf_request' as const), transferId: fc.nat(5) }),
      fc.record({
        type: fc.constant('leaves' as const),
        transferId: fc.nat(5),
        first: fc.oneof(fc.constant(0), fc.constant(2040), fc.nat(3000)),
        count: fc.integer({ min: 1, max: 2040 }),
        flip: fc.boolean(),
      }),
      fc.record({ type: fc.constant('accept' as const), transferId: fc.nat(5), reusedBytes: fc.option(fc.nat(manifest.size + 10), { nil: undefined }) }),
      // The next piece of a row in order, as an honest (or, flipped, a lying) sender sends it.
      fc.record({ type: fc.constant('next' as const), transferId: fc.constantFrom(0, 2), count: fc.constantFrom(2040, 460, 1000), flip: fc.boolean() }),
      fc.record({ type: fc.constant('next' as const), transferId: fc.constantFrom(0, 2), count: fc.constantFrom(2040, 460, 1000), flip: fc.constant(false) }),
    );
    const seen = { rows: 0, refused: 0, protocol: 0 };
    fc.assert(
      fc.property(fc.array(msg, { maxLength: 40 }), fc.boolean(), (msgs, asReceiver) => {
        const { t, events } = table(!asReceiver, { bytes: 0 });
        if (asReceiver) {
          for (const id of [0, 2, 4]) {
            t.onControl({ type: 'offer', transferId: id, kind: 0, size: manifest.size, chunkLog2: 14, mode: 0o644, mtimeMs: 0, root: manifest.root, name: `f${id}` });
            if (id !== 4) t.requestLeaves(id);
          }
        } else {
          for (let k = 0; k < 3; k++) t.offer({ ...manifest, name: `f${k}` }, tree);
        }
        const next = new Map<number, number>();
        for (const m of msgs) {
          try {
            if (m.type === 'next') {
              const first = next.get(m.transferId) ?? 0;
              const count = Math.min(m.count, 2500 - first);
              if (count <= 0) continue;
              const leaves = row.slice(first * 32, (first + count) * 32);
              if (m.flip) leaves[40] = (leaves[40] as number) ^ 1;
              next.set(m.transferId, first + count);
              t.onControl({ type: 'leaves', transferId: m.transferId, first, leaves });
            } else if (m.type === 'leaves') {
              const first = Math.min(m.first, 2499);
              const leaves = row.slice(first * 32, Math.min(2500, first + m.count) * 32);
              if (m.flip) leaves[0] = (leaves[0] as number) ^ 1;
              t.onControl({ type: 'leaves', transferId: m.transferId, first: m.first, leaves });
            } else if (m.type === 'accept') {
              t.onControl({ type: 'accept', transferId: m.transferId, ranges: [], ...(m.reusedBytes !== undefined ? { reusedBytes: m.reusedBytes } : {}) });
            } else {
              t.onControl(m);
            }
            t.pumpLeaves();
          } catch (e) {
            expect(e).toBeInstanceOf(WraithError);
            expect((e as WraithError).code).toBe('E_PROTOCOL');
            seen.protocol++;
            return; // the session would close here
          }
        }
        for (const e of events) {
          if (e.type === 'transfer_failed') {
            expect(e.code).toBe('E_INTEGRITY');
            seen.refused++;
          }
          if (e.type !== 'leaves') continue;
          expect(Buffer.compare(e.leaves, row)).toBe(0);
          seen.rows++;
        }
      }),
      { numRuns: 300, seed: 26 },
    );
    // The runs reached each outcome: rows taken, lying rows refused, protocol errors.
    console.log(`leaf-row property: ${JSON.stringify(seen)}`);
    expect(seen.rows).toBeGreaterThan(0);
    expect(seen.refused).toBeGreaterThan(0);
    expect(seen.protocol).toBeGreaterThan(0);
  });
});
