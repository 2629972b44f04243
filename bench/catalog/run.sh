#!/usr/bin/env bash
# Benchmarks the built-in catalog against Apache Iceberg's REST fixture (the Java reference server,
# JdbcCatalog on SQLite) on this machine, in one run: loadTable and commit at concurrency 1 and 32.
# Writes bench/catalog/results.md and results.json.
# Usage: bash bench/catalog/run.sh [--duration-ms N]
set -euo pipefail
cd "$(dirname "$0")/../.."
[ "${1:-}" = "--help" ] && { sed -n '2,5p' "$0" | sed 's/^# //'; exit 0; }

icerelay_port=18281
fixture_port=18282
data=$(mktemp -d "${TMPDIR:-/tmp}/icerelay-bench-XXXXXX")
mkdir -p .tmp
cleanup() {
  kill "${icerelay_pid:-}" 2>/dev/null || true
  bash conformance/fixture/stop.sh "$fixture_port" > /dev/null 2>&1 || true
  rm -rf "$data"
}
trap cleanup EXIT

ICERELAY_PORT=$icerelay_port ICERELAY_DATA_DIR="$data/icerelay" node --import tsx src/main.ts > .tmp/bench-icerelay.log 2>&1 &
icerelay_pid=$!
bash conformance/fixture/start.sh --warehouse "$data/fixture" "$fixture_port" > /dev/null
for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$icerelay_port/v1/config" > /dev/null && break; sleep 0.2; done

{
  echo "# Catalog benchmark: Icerelay built-in catalog vs Apache Iceberg REST fixture"
  echo
  echo "Command: \`bash bench/catalog/run.sh $*\` on $(nproc) cores, $(date -u +%Y-%m-%d)."
  echo "Icerelay: SQLite state, local warehouse. Fixture: iceberg-open-api 1.10.1 RESTCatalogServer, JdbcCatalog on SQLite, local warehouse."
  echo "Both on loopback, driven by one Node.js client (keep-alive). Commit = one set-properties commit per request, one table per worker."
  echo
  npx tsx bench/catalog/catalog-bench.ts "$@" --out bench/catalog/results.json \
    icerelay="http://127.0.0.1:$icerelay_port" fixture="http://127.0.0.1:$fixture_port"
} > bench/catalog/results.md.tmp
mv bench/catalog/results.md.tmp bench/catalog/results.md
cat bench/catalog/results.md
