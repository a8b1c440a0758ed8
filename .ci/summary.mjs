// Prints "N passed, N failed, N skipped" from vitest's JSON report. When npm test stopped before
// vitest ran (typecheck or lint failed), that step counts as one failure.
import fs from 'node:fs';

const [file, status] = process.argv.slice(2);
if (!fs.existsSync(file)) {
  console.log(`0 passed, ${status === '0' ? 0 : 1} failed, 0 skipped`);
} else {
  const r = JSON.parse(fs.readFileSync(file, 'utf8'));
  const failed = r.numFailedTests + (r.numFailedTestSuites ?? 0) - failedSuitesWithFailedTests(r);
  console.log(`${r.numPassedTests} passed, ${failed} failed, ${r.numPendingTests + r.numTodoTests} skipped`);
}

/** A suite that failed only because its tests failed is already counted by those tests. */
function failedSuitesWithFailedTests(r) {
  return r.testResults.filter((s) => s.status === 'failed' && s.assertionResults.some((a) => a.status === 'failed')).length;
}
