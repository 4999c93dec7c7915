// Runs inside `unshare -n` (a private network namespace, gone with this
// process): rate-limits its loopback with a tbf qdisc so the socket's send
// buffer fills and sendmmsg meets EAGAIN (or, with a small tbf limit, the
// qdisc drops and sendmmsg meets ENOBUFS), then pushes datagrams through the
// BUILT native transport, pumping from onWritable. Prints one JSON line.
// argv: count, size, rate and tbf limit (tc syntax).
import { execFileSync } from 'node:child_process';
import { DatagramBatch } from '@wraith/core';
import { createNativeUdpTransport } from '@wraith/transport-udp';

const [count = 3000, size = 1400] = process.argv.slice(2, 4).map(Number);
const rate = process.argv[4] ?? '40mbit';
const limit = process.argv[5] ?? '4mb';
execFileSync('ip', ['link', 'set', 'lo', 'up']);
execFileSync('tc', ['qdisc', 'add', 'dev', 'lo', 'root', 'tbf', 'rate', rate, 'burst', '32kb', 'limit', limit]);

const payload = (seq) => {
  const out = new Uint8Array(size);
  for (let j = 0; j < size; j++) out[j] = j < 4 ? (seq >>> (8 * j)) & 0xff : (seq * 131 + j * 7) & 0xff;
  return out;
};
const tx = await createNativeUdpTransport({ bind: '127.0.0.1:0', sendBufferBytes: 65536 });
const rx = await createNativeUdpTransport({ bind: '127.0.0.1:0' });
let got = 0;
let corrupt = 0;
let outOfOrder = 0;
const seen = new Uint8Array(count);
let next = 0;
rx.onRecv((b) => {
  for (let i = 0; i < b.count; i++) {
    const d = b.datagram(i);
    const seq = d[0] | (d[1] << 8) | (d[2] << 16);
    if (seq >= count || seen[seq] || d.length !== size || d[size - 1] !== payload(seq)[size - 1]) corrupt++;
    else {
      if (seq !== got) outOfOrder++;
      seen[seq] = 1;
    }
    got++;
  }
});
const batch = new DatagramBatch(64, size);
let refusals = 0;
let writables = 0;
let firstPump = 0;
const pump = () => {
  while (next < count) {
    batch.clear();
    for (let s = next; s < count && batch.count < 64; s++) batch.push(payload(s), rx.localAddr());
    const n = tx.send(batch);
    next += n;
    if (n < batch.count) {
      refusals++;
      return;
    }
  }
};
tx.onWritable(() => {
  writables++;
  pump();
});
pump();
firstPump = next;
// Until everything arrived, or (with drops) everything went out and nothing more came for 1 s.
const deadline = Date.now() + 20_000;
let lastGot = -1;
let quietSince = Date.now();
while (got < count && Date.now() < deadline) {
  await new Promise((r) => setTimeout(r, 5));
  if (got !== lastGot) [lastGot, quietSince] = [got, Date.now()];
  else if (next >= count && Date.now() - quietSince > 1000) break;
}
const x = tx.stats().extra ?? {};
console.log(JSON.stringify({ count, next, got, corrupt, outOfOrder, firstPump, refusals, writables, sendAgain: x.sendAgain, writableWakeups: x.writableWakeups, localDrops: x.localDrops, txDropped: tx.stats().txDropped }));
await Promise.all([tx.close(), rx.close()]);
