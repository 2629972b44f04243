#!/usr/bin/env bash
# Benchmarks the proxy against direct access to the same upstream (the built-in catalog), in one
# run: loadTable and commit at concurrency 1 and 64, p50/p99 and throughput, ratio proxy / direct.
# The proxy writes every commit's intent and outcome to its outbox (SQLite) as in production.
# A bare pass-through proxy (passthrough-proxy.ts) runs beside it: the cost of any extra hop here.
# Writes bench/proxy/results.md and results.json.
# With --pin, the upstream catalog runs alone on CPU 1 and everything else (client, proxy, pass-through)
# on CPU 0, as if the upstream were another machine (in production it is): the hop then competes with
# the client, not with the upstream, for CPU. Writes bench/proxy/results-pinned.md and .json.
# With --client wrk (after --pin, if given), the load comes from wrk (Debian package wrk), a C load
# generator that takes little CPU, instead of the Node.js client: outputs get a -wrk suffix.
# Usage: bash bench/proxy/run.sh [--pin] [--client node|wrk] [--duration-ms N]
set -euo pipefail
cd "$(dirname "$0")/../.."
[ "${1:-}" = "--help" ] && { sed -n '2,12p' "$0" | sed 's/^# //'; exit 0; }
pin_upstream="" pin_rest="" out=bench/proxy/results
if [ "${1:-}" = "--pin" ]; then
  shift
  [ "$(nproc)" -ge 2 ] || { echo "--pin needs 2 CPUs" >&2; exit 2; }
  pin_upstream="taskset -c 1" pin_rest="taskset -c 0" out=bench/proxy/results-pinned
fi
client=node
if [ "${1:-}" = "--client" ]; then client=$2; fi
if [ "$client" = wrk ]; then
  command -v wrk > /dev/null || { echo "--client wrk needs wrk (apt-get install wrk)" >&2; exit 2; }
  out=$out-wrk
fi

catalog_port=18381
proxy_port=18382
passthrough_port=18383
data=$(mktemp -d "${TMPDIR:-/tmp}/icerelay-bench-proxy-XXXXXX")
mkdir -p .tmp
cleanup() {
  kill "${catalog_pid:-}" "${proxy_pid:-}" "${passthrough_pid:-}" 2>/dev/null || true
  rm -rf "$data"
}
trap cleanup EXIT
wait_for() { for _ in $(seq 1 100); do curl -sf "$1/v1/config" > /dev/null && return 0; sleep 0.2; done; echo "$1 did not start" >&2; return 1; }

ICERELAY_PORT=$catalog_port ICERELAY_DATA_DIR="$data/catalog" $pin_upstream node --import tsx src/main.ts --catalog-only > .tmp/bench-proxy-catalog.log 2>&1 &
catalog_pid=$!
wait_for "http://127.0.0.1:$catalog_port"
ICERELAY_PORT=$proxy_port ICERELAY_DATA_DIR="$data/proxy" ICERELAY_UPSTREAM_URL="http://127.0.0.1:$catalog_port" \
  $pin_rest node --import tsx src/main.ts > .tmp/bench-proxy.log 2>&1 &
proxy_pid=$!
$pin_rest node --import tsx bench/proxy/passthrough-proxy.ts "$passthrough_port" "http://127.0.0.1:$catalog_port" &
passthrough_pid=$!
wait_for "http://127.0.0.1:$proxy_port"
wait_for "http://127.0.0.1:$passthrough_port"

{
  echo "# Proxy benchmark: through Icerelay's proxy vs direct to the same upstream"
  echo
  echo "Command: \`bash bench/proxy/run.sh ${pin_upstream:+--pin }$*\` on $(nproc) cores, $(date -u +%Y-%m-%d)."
  echo "Icerelay code measured: $(git rev-parse --short HEAD)$(git diff --quiet -- src || echo ', with uncommitted changes in src/')."
  echo "Upstream: the built-in catalog (SQLite, local warehouse). Proxy: SQLite outbox, intent + outcome per commit."
  echo "Passthrough: a bare Node.js pass-through proxy (bench/proxy/passthrough-proxy.ts), no outbox: the cost of the hop alone."
  if [ "$client" = wrk ]; then
    echo "wrk (one connection and thread per table, keep-alive) drives all three, taking turns in 5 rounds per measurement; p50/p99 are medians of the rounds' percentiles; ratios are proxy / peer."
  else
    echo "One Node.js client (keep-alive) drives all three, taking turns in 5 rounds per measurement; ratios are proxy / peer."
  fi
  if [ -n "$pin_upstream" ]; then
    echo "Pinned: the catalog alone on CPU 1 (as if on its own machine); client, proxy and pass-through share CPU 0."
  else
    echo "Client, proxy and catalog share the machine's cores."
  fi
  echo
  $pin_rest npx tsx bench/catalog/catalog-bench.ts --concurrency 1,64 "$@" --out "$out.json" \
    proxy="http://127.0.0.1:$proxy_port" passthrough="http://127.0.0.1:$passthrough_port" direct="http://127.0.0.1:$catalog_port"
} > "$out.md.tmp"
mv "$out.md.tmp" "$out.md"
cat "$out.md"
