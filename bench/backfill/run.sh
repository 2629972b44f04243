#!/usr/bin/env bash
# Backfill benchmark: Icerelay replicating N small Iceberg tables that existed before replication
# (its reconciliation at start observes them, the shipper ships them) versus a plain AWS SDK copy
# loop of exactly the same objects, on S3-compatible servers (moto) on loopback, in one run.
# Variants: server-side (destination bucket on the same S3 server: CopyObject) and stream
# (destination on a second S3 server: GetObject + PutObject). Sides take turns in rounds, each into
# a fresh bucket; medians and the throughput ratio Icerelay / peer. Setup is not timed.
# Writes bench/backfill/results.md and results.json.
#
# Usage: bash bench/backfill/run.sh [options]
#   --tables N           tables in the source                                  (1000)
#   --rounds N           rounds per variant, each side once per round          (3)
#   --files-per-table N  data files per table (16-64 KiB of random bytes each)  (4)
#   --concurrency N      Icerelay's replication.concurrency (tables at once)    (16)
#   --peer-concurrency N copies at once in the SDK loop  (concurrency x files-per-table)
#   --variants LIST      server-side,stream or one of them                     (server-side,stream)
#   --poll-ms N          how often Icerelay's completion is checked (ms)         (100)
#   --observers LIST     how: status (GET /admin/v1/replication/status), db (the
#                        outbox rows in the state database, read by the benchmark),
#                        each in runs of its own                                 (status,db)
#   --sql-timing         time Icerelay's SQLite statements; the costliest are logged
#   --cpu-prof           one more Icerelay run of the first variant with node --cpu-prof (not in
#                        the medians); the profile is in the scratch folder (see --keep)
#   --out-dir D          where results.md / results.json go                    (bench/backfill)
#   --keep               keep the scratch folder (.tmp/bench-backfill/run-*)
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$PWD
usage() { sed -n '2,25p' "$0" | sed 's/^# \{0,1\}//'; }

tables=1000 rounds=3 files_per_table=4 concurrency=16 peer_concurrency="" variants=server-side,stream poll_ms=100
observers=status,db out_dir=bench/backfill keep=0 cpu_prof=0 sql_timing=0
args=("$@")
while [ $# -gt 0 ]; do
  case "$1" in
    -h|--help) usage; exit 0 ;;
    --tables) tables=$2; shift ;;
    --rounds) rounds=$2; shift ;;
    --files-per-table) files_per_table=$2; shift ;;
    --concurrency) concurrency=$2; shift ;;
    --peer-concurrency) peer_concurrency=$2; shift ;;
    --variants) variants=$2; shift ;;
    --poll-ms) poll_ms=$2; shift ;;
    --observers) observers=$2; shift ;;
    --sql-timing) sql_timing=1 ;;
    --cpu-prof) cpu_prof=1 ;;
    --out-dir) out_dir=$2; shift ;;
    --keep) keep=1 ;;
    *) echo "unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
  shift
done
[ -n "$peer_concurrency" ] || peer_concurrency=$((concurrency * files_per_table))

# Free loopback ports (never 8181 or 9100: those belong to the default server and the shared moto).
free_port() {
  node -e "const s=require('net').createServer();s.listen(0,'127.0.0.1',()=>{const p=s.address().port;s.close(()=>console.log(p))})"
}
port_a=$(free_port)
port_b=$(free_port)
while [ "$port_b" = "$port_a" ]; do port_b=$(free_port); done

mkdir -p .tmp/bench-backfill
work=$(mktemp -d "$root/.tmp/bench-backfill/run-XXXXXX")
started_a=0 started_b=0
cleanup() {
  [ "$started_a" = 1 ] && ICERELAY_S3_PORT=$port_a bash scripts/s3-server.sh stop || true
  [ "$started_b" = 1 ] && ICERELAY_S3_PORT=$port_b bash scripts/s3-server.sh stop || true
  if [ "$keep" = 1 ]; then echo "scratch folder kept: $work" >&2; else rm -rf "$work"; fi
}
trap cleanup EXIT

ICERELAY_S3_PORT=$port_a bash scripts/s3-server.sh start
started_a=1
endpoint2_args=()
if [[ $variants == *stream* ]]; then
  ICERELAY_S3_PORT=$port_b bash scripts/s3-server.sh start
  started_b=1
  endpoint2_args=(--endpoint-2 "http://127.0.0.1:$port_b" --s3-log-2 "$root/.tmp/s3-server-$port_b.log" --s3-pid-2 "$root/.tmp/s3-server-$port_b.pid")
fi
# moto accepts any credentials; fixed ones keep the SDK from looking for real ones.
export AWS_ACCESS_KEY_ID=icerelay-bench AWS_SECRET_ACCESS_KEY=icerelay-bench AWS_REGION=us-east-1

profile_args=()
[ "$cpu_prof" = 1 ] && profile_args=(--cpu-prof)
[ "$sql_timing" = 1 ] && profile_args+=(--sql-timing)
node --import tsx bench/backfill/backfill-bench.ts \
  --tables "$tables" --rounds "$rounds" --files-per-table "$files_per_table" \
  --concurrency "$concurrency" --peer-concurrency "$peer_concurrency" --variants "$variants" --poll-ms "$poll_ms" --observers "$observers" \
  --endpoint "http://127.0.0.1:$port_a" --s3-log "$root/.tmp/s3-server-$port_a.log" --s3-pid "$root/.tmp/s3-server-$port_a.pid" "${endpoint2_args[@]}" \
  --work "$work" --out-dir "$out_dir" "${profile_args[@]}" \
  --command "bash bench/backfill/run.sh${args[*]:+ ${args[*]}}"
