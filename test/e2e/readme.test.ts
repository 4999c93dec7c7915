/**
 * The README's first lines work as written, and every command's --help
 * shows examples and the exit-code table of docs/CLI.md §9.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../support/prereq.js';
import { Scope } from '../support/procs.js';

const scope = new Scope('readme');
afterAll(() => scope.dispose());

const readme = readFileSync(join(REPO_ROOT, 'README.md'), 'utf8');
const cliDoc = readFileSync(join(REPO_ROOT, 'docs', 'CLI.md'), 'utf8');

/** The first line of the README's first code block. */
function firstCommand(): string {
  const m = /```sh\n([^\n]*)\n/.exec(readme);
  if (!m) throw new Error('README.md has no ```sh block');
  return m[1]!;
}

/** Exit codes from docs/CLI.md §9: the first column of the table. */
function documentedExitCodes(): number[] {
  const section = cliDoc.slice(cliDoc.indexOf('## 9. Exit codes'));
  return [...section.matchAll(/^\| (\d+) \|/gm)].map((m) => Number(m[1]));
}

describe("README's first command", () => {
  it('its demo part (`wraith demo`, default size) exits 0 and says verified', async () => {
    const line = firstCommand();
    const [cmd, comment = ''] = line.split('#');
    const demo = cmd!.split('&&').map((s) => s.trim()).find((s) => /\bwraith demo\b/.test(s));
    expect(demo, `README's first line: ${line}`).toBeDefined();
    // `npx wraith ARGS` runs the package's bin: the same file, started directly.
    const args = demo!.replace(/^npx\s+wraith\s*/, '').split(/\s+/).filter(Boolean);
    expect(args[0]).toBe('demo');
    const t0 = Date.now();
    const r = await scope.run(args, { timeoutMs: 5 * 60_000 });
    const s = (Date.now() - t0) / 1000;
    console.log(`README demo (${args.join(' ')}): exit ${r.code} in ${s.toFixed(1)} s: ${r.stdout.trim()}`);
    expect(r.code, r.stderr.slice(-3000)).toBe(0);
    expect(r.stdout).toMatch(/\bverified\b/);
    expect(r.stdout).not.toMatch(/NOT verified/);
    // The size the README promises is the size the demo sends.
    const promised = /(\d+(?:\.\d+)?)\s*MiB/.exec(comment);
    if (promised) {
      const got = /demo: (\d+(?:\.\d+)?) MiB/.exec(r.stdout);
      expect(got, r.stdout).not.toBeNull();
      expect(Number(got![1])).toBe(Number(promised[1]));
    }
  }, 6 * 60_000);
});

describe('--help', () => {
  const codes = documentedExitCodes();

  function expectHelp(text: string, what: string): void {
    expect(text, what).toMatch(/Examples:\n\s+\$ wraith /);
    expect(text, what).toContain('Exit codes:');
    const table = text.slice(text.indexOf('Exit codes:'));
    for (const c of codes) expect(table, `${what}: exit code ${c}`).toMatch(new RegExp(`^\\s+${c}\\s+\\S`, 'm'));
  }

  it('docs/CLI.md documents the exit codes 0-7 and 130', () => {
    expect(codes).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 130]);
  });

  it('`wraith --help` and `wraith send --help` show an example and the exit-code table', async () => {
    const top = await scope.run(['--help']);
    expect(top.code).toBe(0);
    expectHelp(top.stdout, 'wraith --help');
    const send = await scope.run(['send', '--help']);
    expect(send.code).toBe(0);
    expectHelp(send.stdout, 'wraith send --help');
    expect(send.stdout).toMatch(/\$ wraith send \S+ --to \S+/);
    // `wraith help send` is the same text.
    const viaHelp = await scope.run(['help', 'send']);
    expect(viaHelp.code).toBe(0);
    expect(viaHelp.stdout).toBe(send.stdout);
  });

  it('every command listed by `wraith --help` has examples and the table', async () => {
    const top = (await scope.run(['--help'])).stdout;
    const commands = [...top.slice(top.indexOf('Commands:')).matchAll(/^ {2}([a-z]+)\b/gm)].map((m) => m[1]!).filter((c) => c !== 'help');
    expect(commands).toEqual(expect.arrayContaining(['keygen', 'id', 'daemon', 'receive', 'send', 'demo', 'config', 'status', 'transfers', 'peers', 'cancel', 'doctor']));
    const all = [...commands, 'config check', 'config show'];
    const results = await Promise.all(all.map((c) => scope.run([...c.split(' '), '--help'])));
    results.forEach((r, i) => {
      expect(r.code, `${all[i]} --help: ${r.stderr}`).toBe(0);
      expectHelp(r.stdout, `wraith ${all[i]} --help`);
    });
  }, 120_000);
});
