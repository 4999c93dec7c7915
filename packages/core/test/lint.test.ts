import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
interface Violation {
  file: string;
  line: number;
  rule: string;
  text: string;
}
interface LintRules {
  lintSource(file: string, text: string): Violation[];
  lintTree(srcDir: string): Violation[];
}

const REPO = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const CORE_SRC = join(REPO, 'packages', 'core', 'src');
// The rules are a plain ESM script (no type declarations): the same module the CLI uses.
const { lintSource: lint, lintTree } = (await import(pathToFileURL(join(REPO, 'scripts', 'lint-core-rules.mjs')).href)) as LintRules;
const rules = (file: string, text: string): string[] => lint(file, text).map((v) => v.rule);

describe('core lint on the real tree', () => {
  it('finds no violations in packages/core/src', () => {
    const found = lintTree(CORE_SRC);
    expect(found.map((v) => `${v.file}:${v.line}: ${v.rule}: ${v.text}`)).toEqual([]);
  });
});

describe('rule (a): forbidden imports', () => {
  const modules = [
    'node:dgram', 'dgram', 'node:net', 'net', 'node:fs', 'fs', 'fs/promises', 'node:fs/promises', 'node:timers', 'timers',
    'node:child_process', 'child_process', 'node:worker_threads', 'worker_threads', 'node:os', 'os', 'node:http', 'http',
  ];

  it.each(modules)('flags %s in every import form', (m) => {
    const forms = [
      `import { x } from '${m}';`,
      `import * as x from '${m}';`,
      `import type { X } from '${m}';`,
      `export { x } from '${m}';`,
      `export * from '${m}';`,
      `const x = await import('${m}');`,
      `const x = require('${m}');`,
      `import x = require('${m}');`,
      `let x: typeof import('${m}');`,
    ];
    for (const src of forms) expect(rules('session/x.ts', src), src).toEqual(['forbidden-import']);
  });

  it('allows other modules, including look-alike names', () => {
    const src = [
      `import { a } from './fs.js';`,
      `import { b } from '../net/thing.js';`,
      `import { c } from 'fastify';`,
      `import { d } from 'osmosis';`,
      `import { e } from 'node:path';`,
      `import { f } from '@noble/hashes/blake2.js';`,
    ].join('\n');
    expect(lint('session/x.ts', src)).toEqual([]);
  });

  it('allows node:crypto only in crypto/backend-node.ts', () => {
    for (const m of ['node:crypto', 'crypto']) {
      const src = `import { createCipheriv } from '${m}';`;
      expect(rules('crypto/backend-node.ts', src)).toEqual([]);
      expect(rules('crypto/backend-noble.ts', src)).toEqual(['forbidden-import']);
      expect(rules('wire/frames.ts', src)).toEqual(['forbidden-import']);
    }
  });
});

describe('rule (b): forbidden calls', () => {
  const calls = [
    'Date.now()',
    'new Date()',
    'new Date(0)',
    'Date()',
    'Math.random()',
    'setTimeout(f, 1)',
    'setInterval(f, 1)',
    'setImmediate(f)',
    'queueMicrotask(f)',
    'performance.now()',
    'process.hrtime()',
    'process.hrtime.bigint()',
    'globalThis.setTimeout(f, 1)',
    'globalThis.Date.now()',
    "Math['random']()",
    'const g = Date.now',
    'const o = { setTimeout }',
  ];

  it.each(calls)('flags %s', (src) => {
    expect(rules('session/x.ts', `${src};`)).toEqual(['forbidden-call']);
  });

  it('reports file, line and text', () => {
    expect(lint('recovery/rtt.ts', 'const a = 1;\nconst t = Date.now();\n')).toEqual([
      { file: 'recovery/rtt.ts', line: 2, rule: 'forbidden-call', text: 'Date.now' },
    ]);
  });

  it('leaves look-alikes alone', () => {
    const src = [
      'timers.setTimeout(now);',
      'obj.setTimeout = 1;',
      'interface T { setTimeout(): void; now: number }',
      'class C { setInterval(): void {} }',
      'const x = { setTimeout: 1 };',
      'this.clock.now();',
      'Date.UTC(2020, 1);',
      'Math.floor(rng.nextFloat());',
    ].join('\n');
    expect(lint('session/x.ts', src)).toEqual([]);
  });
});

describe('rule (c): no element access in wire codecs', () => {
  const src = 'const a = buf[i];\nconst b = obj["k"];\nconst c = arr?.[0];\nbuf[1] = 2;\n';

  it('flags every element access under wire/, except reader.ts and writer.ts', () => {
    expect(lint('wire/frames.ts', src).map((v) => `${v.line}:${v.rule}`)).toEqual(['1:wire-index', '2:wire-index', '3:wire-index', '4:wire-index']);
    expect(lint('wire/sub/deep.ts', src)).toHaveLength(4);
    expect(lint('wire/reader.ts', src)).toEqual([]);
    expect(lint('wire/writer.ts', src)).toEqual([]);
  });

  it('does not apply outside wire/', () => {
    expect(lint('session/session.ts', src)).toEqual([]);
  });

  it('allows destructuring and method calls', () => {
    expect(lint('wire/frames.ts', 'const [a, b] = pair;\nconst x = arr.at(0);\nfor (const [lo, hi] of ranges) use(lo, hi);\n')).toEqual([]);
  });
});

describe('rule (d): transport-compliance.ts is exempt from (a) and (b)', () => {
  it('accepts IO imports and timers there only', () => {
    const src = `import { createSocket } from 'node:dgram';\nsetTimeout(f, 10);\nconst t = Date.now();\n`;
    expect(lint('transport-compliance.ts', src)).toEqual([]);
    expect(rules('transport-memory.ts', src)).toEqual(['forbidden-import', 'forbidden-call', 'forbidden-call']);
  });
});

describe('the lint script', () => {
  let dir = '';
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'lint-core-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('prints file:line: rule: text and exits 1 on violations, 0 on a clean tree', () => {
    mkdirSync(join(dir, 'wire'));
    writeFileSync(join(dir, 'wire', 'ok.ts'), 'export const a = 1;\n');
    const clean = spawnSync(process.execPath, [join(REPO, 'scripts', 'lint-core.mjs'), dir], { encoding: 'utf8', cwd: dir });
    expect(clean.status).toBe(0);
    writeFileSync(join(dir, 'wire', 'bad.ts'), 'export const b = 1;\nexport const c = (x: Uint8Array) => x[0];\n');
    const bad = spawnSync(process.execPath, [join(REPO, 'scripts', 'lint-core.mjs'), dir], { encoding: 'utf8', cwd: dir });
    expect(bad.status).toBe(1);
    expect(bad.stdout).toContain('wire/bad.ts:2: wire-index: x[0]');
  });
});
