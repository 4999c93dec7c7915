#!/usr/bin/env node
// Receiver half of the udx-native + @hyperswarm/secret-stream peer (see udx-common.mjs).
//
//   node bench/peers/udx-recv.mjs --out FILE [--host 127.0.0.1] [--port 0]
//
// Binds a UDX socket, prints {"type":"ready","port":N}, accepts one stream from whoever sends to
// it first, writes the file to FILE (fs.createWriteStream, with backpressure), hashing it as it
// arrives, answers with the SHA-256 and prints {"type":"done","bytes":N,"sha256":HEX}. Exits when
// the sender closes the stream (or 30 s after answering).
import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import SecretStream from '@hyperswarm/secret-stream';
import UDX from 'udx-native';
import { RECEIVER_STREAM_ID, SENDER_STREAM_ID, args, emit, fail } from './udx-common.mjs';

const o = args({ out: { type: 'string' }, host: { type: 'string', default: '127.0.0.1' }, port: { type: 'string', default: '0' } });
if (!o.out) fail('--out FILE is required');

const udx = new UDX();
const socket = udx.createSocket();
socket.bind(Number(o.port), o.host);

let connected = false;
const raw = udx.createStream(RECEIVER_STREAM_ID, {
  // The first packet for our stream id tells us where the sender is.
  firewall(sock, port, host) {
    if (!connected) {
      connected = true;
      raw.connect(sock, SENDER_STREAM_ID, port, host);
    }
    return false;
  },
});
const ss = new SecretStream(false, raw);
const out = createWriteStream(o.out);
const hash = createHash('sha256');

let header = Buffer.alloc(0);
let expected = -1;
let received = 0;
let answered = false;

function finish() {
  out.end(() => {
    const digest = hash.digest();
    answered = true;
    ss.write(digest);
    ss.end();
    emit({ type: 'done', bytes: received, sha256: digest.toString('hex') });
    setTimeout(() => process.exit(0), 30_000).unref();
  });
}

ss.on('data', (data) => {
  if (expected < 0) {
    header = Buffer.concat([header, data]);
    if (header.length < 8) return;
    expected = Number(header.readBigUInt64BE(0));
    data = header.subarray(8);
    header = null;
    if (expected === 0) return finish();
    if (data.length === 0) return;
  }
  if (received + data.length > expected) fail(`more data than announced (${received + data.length} > ${expected})`);
  received += data.length;
  hash.update(data);
  if (!out.write(data)) {
    ss.pause();
    out.once('drain', () => ss.resume());
  }
  if (received === expected) finish();
});
ss.on('error', (e) => {
  if (!answered) fail(`stream: ${e.message}`);
});
ss.on('close', async () => {
  if (!answered) fail(`stream closed after ${received} of ${expected} bytes`);
  await socket.close().catch(() => {});
  process.exit(0);
});
out.on('error', (e) => fail(`write: ${e.message}`));

emit({ type: 'ready', port: socket.address().port });
