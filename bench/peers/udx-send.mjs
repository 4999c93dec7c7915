#!/usr/bin/env node
// Sender half of the udx-native + @hyperswarm/secret-stream peer (see udx-common.mjs).
//
//   node bench/peers/udx-send.mjs --file FILE --port PORT [--host 127.0.0.1] [--bind ADDR]
//
// --bind: the local address (default: --host, which suits loopback only).
//
// Streams FILE (fs.createReadStream piped by hand with backpressure), hashing it as it reads,
// waits for the receiver's SHA-256 and prints {"type":"done","bytes":N,"sha256":HEX,"ok":BOOL}.
// Exits 0 only when the receiver's digest matches.
import { createHash } from 'node:crypto';
import { createReadStream, statSync } from 'node:fs';
import SecretStream from '@hyperswarm/secret-stream';
import UDX from 'udx-native';
import { RECEIVER_STREAM_ID, SENDER_STREAM_ID, args, emit, fail } from './udx-common.mjs';

const o = args({ file: { type: 'string' }, host: { type: 'string', default: '127.0.0.1' }, port: { type: 'string' }, bind: { type: 'string' } });
if (!o.file || !o.port) fail('--file FILE and --port PORT are required');

const size = statSync(o.file).size;
const udx = new UDX();
const socket = udx.createSocket();
socket.bind(0, o.bind ?? o.host);
const raw = udx.createStream(SENDER_STREAM_ID);
raw.connect(socket, RECEIVER_STREAM_ID, Number(o.port), o.host);
const ss = new SecretStream(true, raw);
const hash = createHash('sha256');

const header = Buffer.alloc(8);
header.writeBigUInt64BE(BigInt(size));
ss.write(header);

let sent = 0;
const input = createReadStream(o.file);
input.on('data', (chunk) => {
  hash.update(chunk);
  sent += chunk.length;
  if (!ss.write(chunk)) {
    input.pause();
    ss.once('drain', () => input.resume());
  }
});
input.on('error', (e) => fail(`read: ${e.message}`));

let answer = Buffer.alloc(0);
let done = false;
ss.on('data', async (data) => {
  answer = Buffer.concat([answer, data]);
  if (answer.length < 32 || done) return;
  done = true;
  const mine = hash.digest('hex');
  const theirs = answer.subarray(0, 32).toString('hex');
  const ok = sent === size && mine === theirs;
  emit({ type: 'done', bytes: sent, sha256: mine, receiver_sha256: theirs, ok });
  ss.end();
  ss.destroy();
  await socket.close().catch(() => {});
  process.exit(ok ? 0 : 1);
});
ss.on('error', (e) => {
  if (!done) fail(`stream: ${e.message}`);
});
ss.on('close', () => {
  if (!done) fail(`stream closed before the receiver answered (${sent} of ${size} bytes read)`);
});
