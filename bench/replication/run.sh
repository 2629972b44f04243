#!/usr/bin/env bash
# Replication benchmark, in one run; writes bench/replication/results.md and results.json.
# 1. Metadata rewrite throughput (manifest entries/s): Icerelay's rewriter vs Apache Iceberg's
#    rewrite_table_path Spark procedure on the same Spark-built table, taking turns in rounds, median.
# 2. Replication lag of small commits: `npm start` on a free port and a fresh data folder, a PyIceberg
#    client appending 1-row commits through the proxy and polling the replica `local` for each.
# 3. Backfill (1,000 tables vs an AWS SDK copy loop): its own benchmark, bench/backfill/run.sh.
#
# Usage: bash bench/replication/run.sh [options]
#   --files N          manifest entries in the rewrite table            (100000)
#   --commits N        commits (one manifest each) they are spread over (100)
#   --rounds N         rewrite rounds per side, after one warm-up each  (3)
#   --lag-commits N    appends in the lag measurement                   (200)
#   --poll-ms N        replica poll interval                            (5)
#   --port P           port for `npm start` (ICERELAY_PORT)              (18481)
#   --config F         pass `--config F` to `npm start`, e.g. replicas on S3; ICERELAY_PORT and
#                      ICERELAY_DATA_DIR are still set (they override the file). The PyIceberg client
#                      takes S3 settings from the load results or the AWS_* environment variables.
#   --replica NAME     the replica polled: GET /replicas/NAME/v1/...     (local)
#   --only rewrite|lag measure one part only (the other is marked "not measured in this run")
#   --no-profile       skip the CPU profile of Icerelay's rewrite (default: profiled after the rounds)
#   --profile-server   CPU-profile the server during the lag measurement (started as `node --cpu-prof
#                      --import tsx src/main.ts`, what `npm start` runs; adds a little overhead)
#   --rev REV          run Icerelay's code as of git revision REV (git archive of src/, spec/, package.json,
#                      tsconfig.json into the scratch folder), not the working tree: for numbers that
#                      belong to a commit while src/ has uncommitted edits     (the working tree)
#   --out-dir D        where results.md / results.json go              (bench/replication)
#   --keep             keep the scratch folder (.tmp/bench-replication/run-*)
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$PWD
usage() { sed -n '2,28p' "$0" | sed 's/^# \{0,1\}//'; }

files=100000 commits=100 rounds=3 lag_commits=200 poll_ms=5 port=18481 config="" only="" profile=1 out_dir=bench/replication keep=0 rev="" replica=local profile_server=0
args=("$@")
while [ $# -gt 0 ]; do
  case "$1" in
    -h|--help) usage; exit 0 ;;
    --files) files=$2; shift ;;
    --commits) commits=$2; shift ;;
    --rounds) rounds=$2; shift ;;
    --lag-commits) lag_commits=$2; shift ;;
    --poll-ms) poll_ms=$2; shift ;;
    --port) port=$2; shift ;;
    --config) config=$2; shift ;;
    --only) only=$2; shift; [[ $only == rewrite || $only == lag ]] || { echo "--only takes rewrite or lag" >&2; exit 2; } ;;
    --no-profile) profile=0 ;;
    --profile-server) profile_server=1 ;;
    --rev) rev=$2; shift ;;
    --replica) replica=$2; shift ;;
    --out-dir) out_dir=$2; shift ;;
    --keep) keep=1 ;;
    *) echo "unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
  shift
done
[ "$port" = 8181 ] && { echo "port 8181 is reserved for the default server; pick another" >&2; exit 2; }
config_arg=$config
[ -n "$config" ] && config=$(cd "$(dirname "$config")" && pwd)/$(basename "$config")

# shellcheck source=../../conformance/common/lib.sh
source conformance/common/lib.sh
python=$(conformance_python)
mkdir -p .tmp/bench-replication
scratch=$(mktemp -d "$root/.tmp/bench-replication/run-XXXXXX")
server_pid=""
stop_server() {
  if [ -n "$server_pid" ]; then
    kill -TERM -- "-$server_pid" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 -- "-$server_pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL -- "-$server_pid" 2>/dev/null || true
    server_pid=""
  fi
}
cleanup() {
  stop_server
  if [ "$keep" = 1 ]; then echo "scratch kept: $scratch" >&2; else rm -rf "$scratch"; fi
}
trap cleanup EXIT

# The Icerelay code measured: the working tree, or a clean export of --rev.
code=$root
if [ -n "$rev" ]; then
  code="$scratch/code"
  mkdir -p "$code/bench/replication"
  git archive "$rev" src spec package.json tsconfig.json | tar -x -C "$code"
  ln -s "$root/node_modules" "$code/node_modules"
  cp bench/replication/rewrite-worker.ts "$code/bench/replication/"
  code_desc="$(git rev-parse --short "$rev") (\`git archive\`, working tree not used)"
else
  dirty=$(git status --porcelain -- src package.json | awk '{print $2}' | paste -sd, - || true)
  code_desc="working tree at $(git rev-parse --short HEAD)${dirty:+, with uncommitted changes in $dirty}"
fi

load() { cut -d' ' -f1-3 /proc/loadavg; }
load_start=$(load)
java_version=$(java -version 2>&1 | head -1)

if [ "$only" != lag ]; then
  echo "== metadata rewrite: building the table, then $rounds rounds per side" >&2
  conformance_spark_jars "$python" local
  mkdir -p "$scratch/classes"
  javac -d "$scratch/classes" -cp "$CONFORMANCE_SPARK_JARS" bench/replication/ManifestEntries.java
  jar cf "$scratch/manifest-entries.jar" -C "$scratch/classes" .
  BENCH_SPARK_JARS="$CONFORMANCE_SPARK_JARS,$scratch/manifest-entries.jar" "$python" bench/replication/rewrite_bench.py \
    --work "$scratch/rewrite" --files "$files" --commits "$commits" --rounds "$rounds" --out "$scratch/rewrite.json" --repo "$code" \
    2> >(grep --line-buffered -v -E '^(WARNING|Using Spark|Setting default log level|To adjust logging)|WARN |NativeCodeLoader' >&2)
  if [ "$profile" = 1 ]; then
    echo "== CPU profile of Icerelay's rewrite (2 warm runs)" >&2
    job=$("$python" -c "import json,sys; j=json.load(open(sys.argv[1]))['job']; j['outDir']=sys.argv[2]; print(json.dumps(j))" \
      "$scratch/rewrite.json" "$scratch/profile-out")
    (cd "$code" && node --import tsx bench/replication/rewrite-worker.ts --job "$job" --repeat 2 --profile "$scratch/rewrite.cpuprofile" > /dev/null)
    npx tsx bench/replication/profile-summary.ts "$scratch/rewrite.cpuprofile" --top 20 > "$scratch/profile.md"
  fi
fi

if [ "$only" != rewrite ]; then
  echo "== replication lag: $lag_commits commits through the proxy on port $port, replica $replica" >&2
  if curl -s -o /dev/null "http://127.0.0.1:$port/"; then echo "port $port is in use; pick another with --port" >&2; exit 1; fi
  start_args=()
  [ -n "$config" ] && start_args=(-- --config "$config")
  # A session of its own, so that stopping it stops npm, tsx and node and nothing else.
  # `npm start` runs `tsx src/main.ts`; to profile, the same entry point under `node --cpu-prof` (not
  # allowed in NODE_OPTIONS), written when the server exits on SIGTERM.
  start=(npm start "${start_args[@]}")
  [ "$profile_server" = 1 ] && start=(node --cpu-prof --cpu-prof-dir="$scratch/server-prof" --import tsx src/main.ts "${start_args[@]:1}")
  (cd "$code" && ICERELAY_PORT=$port ICERELAY_DATA_DIR="$scratch/data" exec setsid "${start[@]}" > "$scratch/server.log" 2>&1) &
  server_pid=$!
  for _ in $(seq 1 150); do curl -sf "http://127.0.0.1:$port/v1/config" > /dev/null && break; sleep 0.2; done
  curl -sf "http://127.0.0.1:$port/v1/config" > /dev/null || { echo "the server did not start; its log:" >&2; cat "$scratch/server.log" >&2; exit 1; }
  "$python" bench/replication/lag_bench.py --url "http://127.0.0.1:$port" --replica-url "http://127.0.0.1:$port/replicas/$replica" --commits "$lag_commits" --poll-ms "$poll_ms" --out "$scratch/lag.json"
  stop_server
  if [ "$profile_server" = 1 ]; then
    # The largest profile is the server's (npm and tsx's launcher write small ones).
    server_profile=$(ls -S "$scratch"/server-prof/*.cpuprofile | head -1)
    npx tsx bench/replication/profile-summary.ts "$server_profile" --top 25 > "$scratch/server-profile.md"
  fi
fi

LOAD_START=$load_start JAVA_VERSION=$java_version CONFIG_ARG=$config_arg ICEBERG_VERSION=$ICEBERG_VERSION CODE_DESC=$code_desc \
  "$python" - "$scratch/machine.json" <<'EOF'
import datetime, json, os, platform, subprocess, sys
import pyiceberg, pyspark
cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), platform.processor())
mem_kb = int(next(l for l in open("/proc/meminfo") if l.startswith("MemTotal")).split()[1])
json.dump({
    "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
    "nproc": len(os.sched_getaffinity(0)), "cpu": cpu, "memory": f"{mem_kb / 1024 / 1024:.0f} GiB",
    "os": f"{platform.system()} {platform.release()}",
    "loadStart": os.environ["LOAD_START"], "loadEnd": " ".join(open("/proc/loadavg").read().split()[:3]),
    "node": subprocess.check_output(["node", "--version"], text=True).strip(), "java": os.environ["JAVA_VERSION"],
    "spark": pyspark.__version__, "iceberg": os.environ["ICEBERG_VERSION"], "pyiceberg": pyiceberg.__version__,
    "config": os.environ["CONFIG_ARG"] or None, "code": os.environ["CODE_DESC"],
}, open(sys.argv[1], "w"), indent=2)
EOF

command="bash bench/replication/run.sh${args[*]:+ ${args[*]}}"
"$python" bench/replication/report.py --machine "$scratch/machine.json" --rewrite "$scratch/rewrite.json" --profile "$scratch/profile.md" \
  --lag "$scratch/lag.json" --server-profile "$scratch/server-profile.md" --command "$command" --out-dir "$out_dir"
echo "wrote $out_dir/results.md and $out_dir/results.json" >&2
