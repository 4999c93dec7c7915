import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterEach, expect, it } from 'vitest';
import { describeIf, REPO_ROOT } from '../support/prereq.js';
import { Endpoint, until } from './endpoint.js';

const CLI = join(REPO_ROOT, 'test', 'support', 'relay-cli.mjs');
// Plain node resolves @wraith/core to its build output.
const built = existsSync(join(REPO_ROOT, 'packages', 'core', 'dist', 'index.js'));

const cleanup: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  await Promise.all(cleanup.splice(0).map((f) => f()));
});

function run(args: string[]) {
  const child = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  const lines: string[] = [];
  createInterface({ input: child.stdout }).on('line', (l) => lines.push(l));
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  cleanup.push(async () => {
    if (child.exitCode === null) child.kill('SIGKILL');
    await exited;
  });
  return { child, lines, exited, stderr: () => stderr };
}

describeIf(built ? null : 'packages/core is not built (npm run build)', 'relay CLI', () => {
  it('relays by hand-run flags and prints its counters when stopped', async () => {
    const server = await Endpoint.open();
    const client = await Endpoint.open();
    cleanup.push(() => server.close(), () => client.close());
    const up = `${server.addr.host}:${server.addr.port}`;
    const p = run(['--listen', '127.0.0.1:0', '--upstream', up, '--loss', '0', '--seed', '1', '--lifetime', '20']);
    await until(() => p.lines.length >= 1, `the listening line (stderr: ${p.stderr()})`, 10_000);
    const ready = JSON.parse(p.lines[0]!) as { listening: { host: string; port: number }; seed: number };
    expect(ready.seed).toBe(1);
    await client.send(ready.listening, 42);
    await until(() => server.got.length === 1, 'the relayed datagram');
    expect(server.got[0]!.seq).toBe(42);
    p.child.kill('SIGTERM');
    expect(await p.exited).toBe(0);
    const last = JSON.parse(p.lines[p.lines.length - 1]!) as {
      stopped: string;
      counters: { toUpstream: { forwarded: number } };
    };
    expect(last.stopped).toBe('stopped');
    expect(last.counters.toUpstream.forwarded).toBe(1);
  });

  it('refuses a bad flag value with exit code 2 and says which', async () => {
    const p = run(['--upstream', '127.0.0.1:9', '--rate', 'fast']);
    expect(await p.exited).toBe(2);
    expect(p.stderr()).toContain('--rate');
  });
});
