import { spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomFillSync } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdtemp, open, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { WraithError } from '@wraith/core';
import { ensureHome } from '../home/home.js';
import { generateIdentity } from '../home/identity.js';
import type { NodeModule } from '../node-api.js';
import { parseAddr } from '../peer.js';
import { runSend } from './index.js';

const BIN = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', 'bin', 'wraith.js');

/**
 * `wraith demo`: a receiving daemon and this process as the sender, two
 * processes on loopback with temporary homes; a generated file is sent,
 * verified by hash, and everything is removed again.
 */
export const runDemo: NodeModule['runDemo'] = async (opts, ui) => {
  const tmp = await mkdtemp(join(tmpdir(), 'wraith-demo-'));
  let daemon: ChildProcess | null = null;
  try {
    const rxHome = await ensureHome(join(tmp, 'receiver'));
    const txHome = await ensureHome(join(tmp, 'sender'));
    await generateIdentity(rxHome.identityFile);
    const identity = await generateIdentity(txHome.identityFile);
    const inbox = join(tmp, 'incoming');
    const src = join(tmp, 'demo.bin');
    const sentHash = await writeRandomFile(src, opts.size);

    const args = [
      BIN,
      '--home',
      rxHome.dir,
      'daemon',
      '--bind',
      '127.0.0.1:0',
      '--admin-listen',
      'off',
      '--auto-accept',
      '--output',
      inbox,
      '--json',
      '--transport',
      opts.config.network.transport === 'xdp' ? 'auto' : opts.config.network.transport,
      '--min-free',
      '0',
    ];
    daemon = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    const ready = await waitReady(daemon);
    const addr = ready.udp_addrs[0];
    if (!addr) throw new WraithError('E_INTERNAL', 'the demo daemon reported no address');
    process.stderr.write(`demo: receiver ${ready.peer_id}@${addr} on ${ready.transport}\n`);

    const started = process.hrtime.bigint();
    const r = await runSend(
      {
        config: opts.config,
        home: txHome,
        identity,
        log: opts.log,
        stats: opts.stats,
        signal: opts.signal,
        paths: [src],
        peer: { id: ready.peer_id, addr: parseAddr(addr), name: null },
        rateBps: null,
        reconnectForMs: 0,
        followSymlinks: false,
      },
      ui,
    );
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    if (r.errors.length > 0) throw r.errors[0] as WraithError;
    const gotHash = await hashFile(join(inbox, 'demo.bin'));
    process.stderr.write(`demo: transport ${ready.transport}, goodput ${((opts.size / seconds) / 1e6).toFixed(1)} MB/s\n`);
    return { bytes: opts.size, seconds, verified: gotHash === sentHash };
  } finally {
    if (daemon && daemon.exitCode === null) {
      const exited = new Promise((r) => daemon?.once('exit', r));
      daemon.kill('SIGTERM');
      const t = setTimeout(() => daemon?.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(t);
    }
    await rm(tmp, { recursive: true, force: true });
  }
};

async function waitReady(child: ChildProcess): Promise<{ peer_id: string; udp_addrs: string[]; transport: string }> {
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => {
    stderr = (stderr + d.toString()).slice(-4000);
  });
  const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream });
  return new Promise((resolveReady, reject) => {
    const timer = setTimeout(() => reject(new WraithError('E_INTERNAL', `the demo daemon did not start in 20 s: ${stderr}`)), 20_000);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new WraithError('E_INTERNAL', `the demo daemon exited with ${code}: ${stderr.trim()}`));
    });
    lines.on('line', (line) => {
      try {
        const m = JSON.parse(line) as { type?: string; peer_id?: string; udp_addrs?: string[]; transport?: string };
        if (m.type === 'ready' && m.peer_id && m.udp_addrs) {
          clearTimeout(timer);
          resolveReady({ peer_id: m.peer_id, udp_addrs: m.udp_addrs, transport: m.transport ?? 'udp' });
        }
      } catch {
        // not a JSON line
      }
    });
  });
}

async function writeRandomFile(path: string, size: number): Promise<string> {
  const fh = await open(path, 'wx', 0o600);
  const h = createHash('sha256');
  const block = Buffer.alloc(1024 * 1024);
  try {
    for (let off = 0; off < size; off += block.length) {
      const n = Math.min(block.length, size - off);
      randomFillSync(block, 0, n);
      h.update(block.subarray(0, n));
      await fh.write(block, 0, n, off);
    }
  } finally {
    await fh.close();
  }
  return h.digest('hex');
}

function hashFile(path: string): Promise<string> {
  return new Promise((res, rej) => {
    const h = createHash('sha256');
    createReadStream(path)
      .on('data', (d) => h.update(d))
      .on('end', () => res(h.digest('hex')))
      .on('error', rej);
  });
}
