/**
 * Builds the doctor's standalone entry for tests that run it as another process (another user,
 * another network namespace): src/doctor/** transpiled one file at a time (no type check, no
 * dependence on the rest of the package building) into packages/wraith/.wraith-test-doctor-<pid>/,
 * which keeps the source's depth, so '@wraith/native' and '@wraith/core' resolve as from src
 * (with the few modules outside src/doctor that it imports).
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, chmodSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);
const ts = require('typescript') as typeof import('typescript');

const PKG = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const SRC = join(PKG, 'src', 'doctor');

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? sources(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : []));
}

/** Why the built entry could not run here, or null. */
export function builtEntryMissing(): string | null {
  try {
    require.resolve('@wraith/core');
  } catch {
    return '@wraith/core does not resolve';
  }
  const coreDist = join(PKG, '..', 'core', 'dist', 'index.js');
  return existsSync(coreDist) ? null : `${coreDist} is missing: run npx tsc -b packages/core`;
}

export interface BuiltEntry {
  /** The main.js to run with node. */
  readonly main: string;
  remove(): void;
}

export function buildDoctorEntry(): BuiltEntry {
  const out = join(PKG, `.wraith-test-doctor-${process.pid}`);
  rmSync(out, { recursive: true, force: true });
  // The modules outside src/doctor that its checks import.
  const outside = ['store/open-slots.ts', 'node/port-holder.ts', 'proc-command.ts'].map((f) => join(PKG, 'src', f));
  for (const file of [...sources(SRC), ...outside]) {
    const js = ts.transpileModule(readFileSync(file, 'utf8'), {
      fileName: file,
      compilerOptions: { module: ts.ModuleKind.ES2022, target: ts.ScriptTarget.ES2022, verbatimModuleSyntax: true },
    }).outputText;
    const dest = join(out, relative(join(PKG, 'src'), file)).replace(/\.ts$/, '.js');
    mkdirSync(dirname(dest), { recursive: true });
    writeFileSync(dest, js);
  }
  // Readable by the unprivileged user the tests switch to.
  const open = (p: string): void => {
    chmodSync(p, 0o755);
    for (const e of readdirSync(p, { withFileTypes: true })) {
      if (e.isDirectory()) open(join(p, e.name));
      else chmodSync(join(p, e.name), 0o644);
    }
  };
  open(out);
  return { main: join(out, 'doctor', 'main.js'), remove: () => rmSync(out, { recursive: true, force: true }) };
}
