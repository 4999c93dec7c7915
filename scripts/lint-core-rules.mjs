// Rules that keep packages/core sans-IO and its wire codecs bounds-checked.
// Shared by scripts/lint-core.mjs and packages/core/test/lint.test.ts.
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import ts from 'typescript';

/** Modules core must not import: sockets, files, timers, processes, threads, OS, HTTP. */
const FORBIDDEN_MODULES = [
  'dgram', 'net', 'fs', 'timers', 'child_process', 'worker_threads', 'os', 'http',
];
/** node:crypto is allowed only in the node crypto backend. */
const CRYPTO_MODULES = ['crypto'];
const CRYPTO_ALLOWED = new Set(['crypto/backend-node.ts']);
/** Test support exported under its own entry (./compliance): may use timers and IO. */
const IO_EXEMPT = new Set(['transport-compliance.ts']);
/** The only wire files allowed to index directly: everything else goes through them. */
const INDEX_ALLOWED = new Set(['wire/reader.ts', 'wire/writer.ts']);

/** Clock, randomness and scheduling: member chains (after stripping a global prefix). */
const FORBIDDEN_MEMBERS = new Set(['Date.now', 'Math.random', 'performance.now', 'process.hrtime']);
/** Scheduling globals, forbidden whether called or passed around. */
const FORBIDDEN_GLOBALS = new Set(['setTimeout', 'setInterval', 'setImmediate', 'queueMicrotask']);
const GLOBAL_PREFIXES = ['globalThis.', 'global.', 'window.', 'self.'];

/**
 * @typedef {{ file: string, line: number, rule: string, text: string }} Violation
 * `rule` is one of: forbidden-import, forbidden-call, wire-index.
 */

function moduleName(spec) {
  return spec.startsWith('node:') ? spec.slice(5) : spec;
}

function isForbiddenModule(spec, rel) {
  const m = moduleName(spec);
  const hit = (base) => m === base || m.startsWith(`${base}/`);
  if (FORBIDDEN_MODULES.some(hit)) return true;
  return CRYPTO_MODULES.some(hit) && !CRYPTO_ALLOWED.has(rel);
}

/** `a.b.c` for identifier / property / string-element chains, else null. */
function chain(node) {
  if (ts.isIdentifier(node)) return node.text;
  if (ts.isPropertyAccessExpression(node)) {
    const left = chain(node.expression);
    return left === null ? null : `${left}.${node.name.text}`;
  }
  if (ts.isElementAccessExpression(node) && ts.isStringLiteralLike(node.argumentExpression)) {
    const left = chain(node.expression);
    return left === null ? null : `${left}.${node.argumentExpression.text}`;
  }
  if (ts.isParenthesizedExpression(node)) return chain(node.expression);
  return null;
}

function stripGlobal(name) {
  for (;;) {
    const p = GLOBAL_PREFIXES.find((g) => name.startsWith(g));
    if (p === undefined) return name;
    name = name.slice(p.length);
  }
}

/** An identifier that names a declaration or a property, not a reference to a global. */
function isDeclarationName(id) {
  const p = id.parent;
  if (p === undefined) return false;
  if (ts.isPropertyAccessExpression(p) && p.name === id) return true;
  if (ts.isShorthandPropertyAssignment(p)) return false; // `{ setTimeout }` reads the global
  if ('name' in p && p.name === id) return true;
  if (ts.isQualifiedName(p) || ts.isTypeReferenceNode(p)) return true;
  return false;
}

/**
 * Lint one core source file.
 * @param {string} fileName path relative to packages/core/src, with forward slashes (e.g. "wire/frames.ts")
 * @param {string} text the source
 * @returns {Violation[]}
 */
export function lintSource(fileName, text) {
  const rel = fileName.split(sep).join('/');
  const sf = ts.createSourceFile(rel, text, ts.ScriptTarget.Latest, true, ts.ScriptKind.TS);
  const ioRules = !IO_EXEMPT.has(rel);
  const indexRule = rel.startsWith('wire/') && !INDEX_ALLOWED.has(rel);
  /** @type {Violation[]} */
  const out = [];
  const report = (node, rule) => {
    const { line } = sf.getLineAndCharacterOfPosition(node.getStart(sf));
    const src = node.getText(sf).replace(/\s+/g, ' ');
    out.push({ file: rel, line: line + 1, rule, text: src.length > 80 ? `${src.slice(0, 77)}...` : src });
  };
  const checkSpecifier = (node, spec) => {
    if (ioRules && ts.isStringLiteralLike(spec) && isForbiddenModule(spec.text, rel)) report(node, 'forbidden-import');
  };

  const visit = (node) => {
    if (ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) {
      if (node.moduleSpecifier !== undefined) checkSpecifier(node, node.moduleSpecifier);
    } else if (ts.isImportEqualsDeclaration(node) && ts.isExternalModuleReference(node.moduleReference)) {
      checkSpecifier(node, node.moduleReference.expression);
    } else if (ts.isImportTypeNode(node) && ts.isLiteralTypeNode(node.argument)) {
      checkSpecifier(node, node.argument.literal);
    } else if (ts.isCallExpression(node)) {
      const callee = node.expression;
      const arg = node.arguments[0];
      if ((callee.kind === ts.SyntaxKind.ImportKeyword || (ts.isIdentifier(callee) && callee.text === 'require')) && arg !== undefined) {
        checkSpecifier(node, arg);
      }
      // `Date()` returns the current time as a string.
      const name = chain(callee);
      if (ioRules && name !== null && stripGlobal(name) === 'Date') report(node, 'forbidden-call');
    } else if (ts.isNewExpression(node)) {
      const name = chain(node.expression);
      if (ioRules && name !== null && stripGlobal(name) === 'Date') report(node, 'forbidden-call');
    }

    if (ioRules && (ts.isPropertyAccessExpression(node) || ts.isElementAccessExpression(node))) {
      const name = chain(node);
      if (name !== null) {
        const bare = stripGlobal(name);
        if (FORBIDDEN_MEMBERS.has(bare) || (bare !== name && FORBIDDEN_GLOBALS.has(bare))) report(node, 'forbidden-call');
      }
    }
    if (ioRules && ts.isIdentifier(node) && FORBIDDEN_GLOBALS.has(node.text) && !isDeclarationName(node)) {
      report(node, 'forbidden-call');
    }
    if (indexRule && ts.isElementAccessExpression(node)) report(node, 'wire-index');
    ts.forEachChild(node, visit);
  };
  visit(sf);
  return out;
}

/** Every .ts source under `srcDir` (no .d.ts), as paths relative to it with forward slashes. */
export function coreSources(srcDir) {
  /** @type {string[]} */
  const files = [];
  const walk = (dir) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.isFile() && e.name.endsWith('.ts') && !e.name.endsWith('.d.ts')) files.push(relative(srcDir, p).split(sep).join('/'));
    }
  };
  walk(srcDir);
  return files.sort();
}

/**
 * Lint the whole tree under `srcDir` (packages/core/src).
 * @returns {Violation[]}
 */
export function lintTree(srcDir) {
  return coreSources(srcDir).flatMap((rel) => lintSource(rel, readFileSync(join(srcDir, rel), 'utf8')));
}
