#!/usr/bin/env bash
# The whole test suite (`npm test`): starts the real services the tests use (PostgreSQL, an
# S3-compatible server), runs the unit and integration tests, then proves Icerelay with real
# clients: Apache Iceberg's REST Compatibility Kit on SQLite and on Postgres, PyIceberg and Spark
# with the warehouse on local disk and on S3, an N-commit workload checked against the outbox, and
# the same runners directly against the built-in catalog and Apache's REST fixture and through the
# proxy in front of each, with identical results required.
#
# Usage: bash scripts/test.sh [--unit-only]
#   --unit-only   run the vitest suites only (with the services), skip the conformance runners
# Ends with one line: "icerelay: N passed, N failed, N skipped"; exits non-zero if anything failed.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "${1:-}" = "--help" ] || [ "${1:-}" = "-h" ]; then
  sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//'
  exit 0
fi
unit_only=false
[ "${1:-}" = "--unit-only" ] && unit_only=true

mkdir -p .tmp
summary_file=.tmp/test-summary.txt
: > "$summary_file"
failures=0

# Records a runner's closing "name: N passed, N failed, N skipped" line for the final total.
record() { grep -E '^[A-Za-z-]+: [0-9]+ passed, [0-9]+ failed' "$1" | tail -1 >> "$summary_file" || true; }
step() { echo; echo "=== $* ==="; }

step "services"
bash scripts/postgres.sh start
bash scripts/s3-server.sh start
eval "$(bash scripts/postgres.sh env)"
eval "$(bash scripts/s3-server.sh env)"

step "unit and integration tests (vitest)"
vitest_status=0
npx vitest run --reporter=default --reporter=json --outputFile=.tmp/vitest.json || vitest_status=$?
node -e '
  const r = require("./.tmp/vitest.json");
  // A test file that fails before any of its tests runs (an import or a beforeAll error) has no
  // failed test of its own: count it as one failure.
  const brokenFiles = r.testResults.filter((f) => f.status === "failed" && !f.assertionResults.some((a) => a.status === "failed")).length;
  console.log(`vitest: ${r.numPassedTests} passed, ${r.numFailedTests + brokenFiles} failed, ${r.numPendingTests + r.numTodoTests} skipped`);
' | tee -a "$summary_file"
if [ "$vitest_status" -ne 0 ]; then
  failures=$((failures + 1))
  # vitest also fails a run whose tests all passed when an error escaped them (an unhandled
  # rejection, a worker that died): count that as a failure of its own so the total says so.
  if grep -qE '^vitest: [0-9]+ passed, 0 failed' "$summary_file"; then
    echo "vitest exited with status $vitest_status although no test failed: see 'Unhandled Errors' above" >&2
    echo "vitest-errors: 0 passed, 1 failed, 0 skipped" >> "$summary_file"
  fi
fi

if [ "$unit_only" = false ]; then
  # shellcheck source=scripts/conformance-suite.sh
  source scripts/conformance-suite.sh
  run_conformance_suite || failures=$((failures + 1))
fi

echo
echo "=== summary ==="
cat "$summary_file"
node -e '
  const lines = require("fs").readFileSync(".tmp/test-summary.txt", "utf8").trim().split("\n").filter(Boolean);
  const total = { passed: 0, failed: 0, skipped: 0 };
  for (const line of lines) for (const k of Object.keys(total)) total[k] += Number((line.match(new RegExp(`(\\d+) ${k}`)) || [0, 0])[1]);
  console.log(`icerelay: ${total.passed} passed, ${total.failed} failed, ${total.skipped} skipped`);
  process.exitCode = total.failed > 0 ? 1 : 0;
' || failures=$((failures + 1))
[ "$failures" -eq 0 ]
