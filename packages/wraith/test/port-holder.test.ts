import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterEach, describe, expect, it } from 'vitest';
import { WraithError } from '@wraith/core';
import { namingPortHolders, socketInodes, tcpPortHolders, udpPortHolders } from '../src/node/port-holder.js';

const UDP = `  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops
  148: 0100007F:B7D8 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 4242 2 0000000000000000 0
  511: 00000000:9C40 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 777 2 0000000000000000 0
  600: 0100007F:9C40 0200007F:1F90 01 00000000:00000000 00:00000000 00000000     0        0 0 2 0000000000000000 0
`;

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe('UDP port holders', () => {
  it('reads the inodes of the sockets bound to a port', () => {
    expect(socketInodes(UDP, 0xb7d8)).toEqual(['4242']);
    expect(socketInodes(UDP, 40000)).toEqual(['777']); // inode 0 (no socket left) skipped
    expect(socketInodes(UDP, 1)).toEqual([]);
  });

  it('for TCP, only listening sockets hold a port (a connection from it does not)', () => {
    const tcp = `  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 0100007F:9C50 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 9001 1 0000000000000000 100 0 0 10 0
   1: 0100007F:9C50 0100007F:D431 01 00000000:00000000 00:00000000 00000000     0        0 9002 1 0000000000000000 20 4 30 10 -1
`;
    expect(socketInodes(tcp, 40016, true)).toEqual(['9001']);
    expect(socketInodes(tcp, 40016)).toEqual(['9001', '9002']);
  });

  it('finds the processes with those sockets open', () => {
    const root = mkdtempSync(join(tmpdir(), 'wraith-proc-'));
    dirs.push(root);
    mkdirSync(join(root, 'net'));
    writeFileSync(join(root, 'net', 'udp'), UDP);
    for (const [pid, links] of [['10', ['/dev/null', 'socket:[4242]']], ['11', ['socket:[1]']], ['12', ['socket:[777]']]] as const) {
      mkdirSync(join(root, pid, 'fd'), { recursive: true });
      links.forEach((l, i) => symlinkSync(l, join(root, pid, 'fd', String(i))));
    }
    mkdirSync(join(root, 'self'));
    expect(udpPortHolders(0xb7d8, root)).toEqual([10]);
    expect(udpPortHolders(40000, root)).toEqual([12]);
    expect(udpPortHolders(9, root)).toEqual([]);
    expect(udpPortHolders(9, join(root, 'missing'))).toEqual([]);
  });

  it('finds a real process holding a port', async () => {
    const child = spawn(process.execPath, ['-e', `const s = require('node:dgram').createSocket('udp4'); s.bind(0, '127.0.0.1', () => console.log(s.address().port));`], { stdio: ['ignore', 'pipe', 'inherit'] });
    try {
      const port = await new Promise<number>((resolve) => createInterface({ input: child.stdout! }).once('line', (l) => resolve(Number(l))));
      expect(udpPortHolders(port)).toEqual([child.pid]);
    } finally {
      child.kill();
    }
  });

  it('finds a real process listening on a TCP port', async () => {
    const child = spawn(process.execPath, ['-e', `const s = require('node:net').createServer(); s.listen(0, '127.0.0.1', () => console.log(s.address().port));`], { stdio: ['ignore', 'pipe', 'inherit'] });
    try {
      const port = await new Promise<number>((resolve) => createInterface({ input: child.stdout! }).once('line', (l) => resolve(Number(l))));
      expect(tcpPortHolders(port)).toEqual([child.pid]);
      expect(udpPortHolders(port)).toEqual([]);
    } finally {
      child.kill();
    }
  });

  it('names them in E_ADDR_IN_USE, and leaves other errors alone', () => {
    const inUse = new WraithError('E_ADDR_IN_USE', 'UDP port 40000 on 0.0.0.0 is in use', { port: 40000 });
    const named = namingPortHolders(inUse, 40000, () => [process.pid]) as WraithError;
    expect(named.code).toBe('E_ADDR_IN_USE');
    expect(named.message).toMatch(new RegExp(`^UDP port 40000 on 0\\.0\\.0\\.0 is in use, by pid ${process.pid}: \\S`));
    expect(named.details).toMatchObject({ port: 40000, holders: [process.pid] });
    expect(named.hint).toContain(`stop process ${process.pid}`);
    expect(namingPortHolders(inUse, 40000, () => [])).toBe(inUse);
    const other = new WraithError('E_PERMISSION', 'no');
    expect(namingPortHolders(other, 40000, () => [1])).toBe(other);
  });
});
