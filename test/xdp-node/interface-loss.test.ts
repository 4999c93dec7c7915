/**
 * An XDP daemon whose attachment goes away under it, in namespaces joined by veth pairs the
 * test made:
 * - another process detaches the program (as `bpftool link detach` does, through
 *   fixtures/detach-link.py): within seconds an ALERT, `transport_changed` (reason
 *   program_detached), UDP on the same address, no program put back, and the next send
 *   arrives identical;
 * - the interface is deleted: the address went with it, so no fallback can help; the daemon
 *   logs an ALERT and exits 5 (E_XDP_UNAVAILABLE) naming the interface, for its service
 *   manager to restart it once the interface is back; a sender on XDP exits the same way.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createVethPair, destroyAllNetns, ownNetns, type Netns, type NodeChild, type VethPair } from '../support/netns.js';
import { describeIf, needRoot, REPO_ROOT } from '../support/prereq.js';

const WRAITH = join(REPO_ROOT, 'packages/wraith/bin/wraith.js');
const DETACH = join(REPO_ROOT, 'test/xdp-node/fixtures/detach-link.py');
const PORT = 4611;

function run(cmd: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(cmd, args, { timeout: 30_000 }, (err, stdout, stderr) => (err ? reject(new Error(`${cmd} ${args.join(' ')}: ${stderr || err.message}`)) : resolve(stdout)));
  });
}

const sha256 = (path: string): string => createHash('sha256').update(readFileSync(path)).digest('hex');

function logLines(child: NodeChild): Array<Record<string, unknown>> {
  return child.stderr.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown>);
}

async function until(pred: () => boolean | Promise<boolean>, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms;
  while (!(await pred())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** The id of the XDP program on `dev`, or null. */
async function progId(ns: Netns, dev: string): Promise<number | null> {
  const m = /prog\/xdp id (\d+)/.exec(await ns.ip(['link', 'show', 'dev', dev]));
  return m ? Number(m[1]) : null;
}

describeIf(needRoot(), 'an XDP daemon whose attachment goes away', () => {
  const pairs: VethPair[] = [];
  let dir = '';
  let file = '';
  let fileSha = '';
  const homes = { rx1: '', rx2: '', rx3: '', tx: '' };
  const ids: Record<string, string> = {};

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'wraith-xdp-loss-'));
    for (const k of Object.keys(homes) as Array<keyof typeof homes>) {
      homes[k] = join(dir, `home-${k}`);
      const out = await run(process.execPath, [WRAITH, '--home', homes[k], 'keygen', '--json']);
      ids[k] = String((JSON.parse(out.trim().split('\n').pop()!) as Record<string, unknown>)['peer_id']);
    }
    file = join(dir, 'f.bin');
    const data = randomBytes(8 * 1024 * 1024);
    writeFileSync(file, data);
    fileSha = createHash('sha256').update(data).digest('hex');
  });

  afterAll(async () => {
    for (const p of pairs) await p.destroy();
    await destroyAllNetns();
    if (dir) rmSync(dir, { recursive: true, force: true });
    expect(ownNetns()).toEqual([]);
  });

  async function xdpDaemon(home: keyof typeof homes): Promise<{ pair: VethPair; child: NodeChild; out: string }> {
    const pair = await createVethPair();
    pairs.push(pair);
    const out = join(dir, `out-${home}`);
    mkdirSync(out);
    const child = pair.a.spawnNode(WRAITH, [
      '--home', homes[home], 'daemon', '--json', '--bind', `${pair.ipA}:${PORT}`, '--output', out, '--auto-accept',
      '--admin-listen', 'off', '--transport', 'xdp', '--no-udp-fallback', '--xdp-interface', pair.ifA,
    ]);
    const ready = await child.waitFor((m) => m['type'] === 'ready' || m['type'] === 'error', 30_000);
    expect(ready, child.stderr).toMatchObject({ type: 'ready', transport: 'xdp' });
    return { pair, child, out };
  }

  async function sendTo(pair: VethPair, peer: string): Promise<{ code: number | null; stderr: string }> {
    const s = pair.b.spawnNode(WRAITH, ['--home', homes.tx, 'send', file, '--to', `${peer}@${pair.ipA}:${PORT}`, '--json', '--reconnect-for', '10s']);
    const { code } = await s.exited;
    return { code, stderr: s.stderr };
  }

  it('its program detached by another process: ALERT, UDP on the same address, nothing put back; the next send arrives identical', async () => {
    const { pair, child, out } = await xdpDaemon('rx1');
    const id = await progId(pair.a, pair.ifA);
    expect(id).not.toBeNull();
    expect((await run('python3', [DETACH, String(id)])).trim()).toMatch(/^\d+$/);
    await until(() => logLines(child).some((l) => l['msg'] === 'transport_changed'), 5000, 'transport_changed');
    const lines = logLines(child);
    expect(lines.find((l) => l['msg'] === 'transport_changed')).toMatchObject({ from: 'xdp', to: 'udp', reason: 'program_detached' });
    expect(lines.some((l) => l['alert'] === true && String(l['msg']).startsWith(`ALERT: the XDP program on ${pair.ifA} was detached by another process`))).toBe(true);
    expect(await progId(pair.a, pair.ifA)).toBeNull();
    const r = await sendTo(pair, ids['rx1']!);
    expect(r.code, r.stderr).toBe(0);
    expect(sha256(join(out, 'f.bin'))).toBe(fileSha);
    expect(await progId(pair.a, pair.ifA), 'never attached again').toBeNull();
    expect(child.proc.exitCode).toBeNull();
    child.proc.kill('SIGTERM');
    expect((await child.exited).code).toBe(0);
  }, 120_000);

  it('its interface deleted: ALERT, and the daemon exits 5 with E_XDP_UNAVAILABLE naming the interface', async () => {
    const { pair, child } = await xdpDaemon('rx2');
    const r = await sendTo(pair, ids['rx2']!);
    expect(r.code, r.stderr).toBe(0);
    await pair.a.ip(['link', 'del', pair.ifA]);
    const t0 = Date.now();
    const { code } = await child.exited;
    expect(code, child.stderr).toBe(5);
    expect(Date.now() - t0).toBeLessThan(10_000);
    const err = child.messages.filter((m) => m['type'] === 'error').at(-1);
    expect(err, child.stderr).toMatchObject({ code: 'E_XDP_UNAVAILABLE', exit_code: 5 });
    expect(String(err!['message'])).toMatch(new RegExp(`^interface ${pair.ifA} \\(index \\d+\\) is gone, and the XDP program with it: nothing can arrive on ${pair.ipA.replace(/\./g, '\\.')}:${PORT} any more$`));
    expect(logLines(child).some((l) => l['alert'] === true && l['code'] === 'E_XDP_UNAVAILABLE')).toBe(true);
  }, 120_000);

  it('a sender on XDP whose interface is deleted mid-send: exit 5 with E_XDP_UNAVAILABLE, not a cancel or a wait for the peer', async () => {
    const pair = await createVethPair();
    pairs.push(pair);
    const out = join(dir, 'out-udp');
    mkdirSync(out);
    const rx = pair.a.spawnNode(WRAITH, ['--home', homes.rx3, 'daemon', '--json', '--bind', `${pair.ipA}:${PORT}`, '--output', out, '--auto-accept', '--admin-listen', 'off', '--transport', 'udp']);
    expect(await rx.waitFor((m) => m['type'] === 'ready' || m['type'] === 'error', 30_000), rx.stderr).toMatchObject({ type: 'ready' });
    const s = pair.b.spawnNode(WRAITH, [
      '--home', homes.tx, 'send', file, '--to', `${ids['rx3']}@${pair.ipA}:${PORT}`, '--json', '--rate', '2MiB',
      '--transport', 'xdp', '--no-udp-fallback', '--xdp-interface', pair.ifB,
    ]);
    await s.waitFor((m) => m['type'] === 'progress' && Number(m['bytes_done']) > 0, 30_000);
    await pair.b.ip(['link', 'del', pair.ifB]);
    const t0 = Date.now();
    const { code } = await s.exited;
    expect(code, s.stderr).toBe(5);
    expect(Date.now() - t0).toBeLessThan(10_000);
    expect(s.messages.filter((m) => m['type'] === 'error').at(-1), s.stderr).toMatchObject({ code: 'E_XDP_UNAVAILABLE', exit_code: 5, message: expect.stringMatching(new RegExp(`^interface ${pair.ifB} \\(index \\d+\\) is gone`)) });
    rx.proc.kill('SIGTERM');
    await rx.exited;
  }, 120_000);
});
