// Sums vitest JSON reports and prints the closing line CI reads.
// Under WRAITH_CI a skipped test is a failure: every prerequisite exists on CI.
import { readFileSync, existsSync } from 'node:fs';

let passed = 0, failed = 0, skipped = 0;
const skippedNames = [];
for (const file of process.argv.slice(2)) {
  if (!existsSync(file)) { failed++; console.error(`missing report ${file}`); continue; }
  const r = JSON.parse(readFileSync(file, 'utf8'));
  passed += r.numPassedTests;
  failed += r.numFailedTests + (r.numFailedTestSuites ?? 0);
  for (const suite of r.testResults ?? []) {
    for (const t of suite.assertionResults ?? []) {
      if (t.status === 'skipped' || t.status === 'pending' || t.status === 'todo') {
        skipped++;
        skippedNames.push(`${suite.name}: ${t.fullName}`);
      }
    }
  }
}
for (const n of skippedNames) console.log(`skipped: ${n}`);
console.log(`skip count: ${skipped}`);
console.log(`${passed} passed, ${failed} failed, ${skipped} skipped`);
process.exit(failed > 0 || (process.env.WRAITH_CI && skipped > 0) ? 1 : 0);
