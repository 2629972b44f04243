#!/usr/bin/env bash
# Conformance part of the test suite, sourced by scripts/test.sh: serves the built-in catalog in
# each configuration (SQLite / Postgres state, local / S3 warehouse) on a spare port and runs the
# conformance runners against it. Each runner's closing line is recorded in $summary_file.

# Serves the built-in catalog in the background with the extra environment given as arguments.
# Sets CATALOG_URL and CATALOG_PID.
start_catalog() {
  local port=$1; shift
  local data_dir
  data_dir=$(mktemp -d "${TMPDIR:-/tmp}/icerelay-conformance-XXXXXX")
  env ICERELAY_PORT="$port" ICERELAY_DATA_DIR="$data_dir" "$@" npx tsx src/main.ts > ".tmp/catalog-$port.log" 2>&1 &
  CATALOG_PID=$!
  CATALOG_URL="http://127.0.0.1:$port"
  for _ in $(seq 1 100); do
    if curl -sf "$CATALOG_URL/v1/config" > /dev/null; then return 0; fi
    if ! kill -0 "$CATALOG_PID" 2>/dev/null; then break; fi
    sleep 0.2
  done
  echo "the catalog did not start; its log:" >&2
  cat ".tmp/catalog-$port.log" >&2
  return 1
}

stop_catalog() {
  kill "$CATALOG_PID" 2>/dev/null || true
  wait "$CATALOG_PID" 2>/dev/null || true
}

# Runs one runner, keeps its output in .tmp/<name>.log, records its closing line.
run_runner() {
  local name=$1; shift
  echo "--- $name: $*"
  local status=0
  "$@" 2>&1 | tee ".tmp/$name.log" || status=$?
  record ".tmp/$name.log"
  if ! grep -qE '^[A-Za-z-]+: [0-9]+ passed, [0-9]+ failed' ".tmp/$name.log"; then
    echo "$name: 0 passed, 1 failed, 0 skipped" >> "$summary_file"
  fi
  return "$status"
}

# A fresh Postgres database per run, so one run's leftovers never meet the next.
fresh_postgres_url() {
  local db="icerelay_conf_$(date +%s)_$RANDOM"
  psql "$ICERELAY_TEST_POSTGRES_URL" -qc "create database $db" >&2
  echo "${ICERELAY_TEST_POSTGRES_URL%/*}/$db"
}

run_conformance_suite() {
  local failed=0 port=18181

  step "RCK against the built-in catalog on SQLite"
  start_catalog $port
  run_runner rck-sqlite bash conformance/rck/run.sh "$CATALOG_URL" || failed=1
  stop_catalog

  step "RCK against the built-in catalog on Postgres"
  start_catalog $port ICERELAY_DATABASE_URL="$(fresh_postgres_url)"
  run_runner rck-postgres bash conformance/rck/run.sh "$CATALOG_URL" || failed=1
  stop_catalog

  step "PyIceberg, Spark and cross-engine with the warehouse on local disk"
  start_catalog $port
  run_runner pyiceberg-local bash conformance/pyiceberg/run.sh "$CATALOG_URL" || failed=1
  run_runner spark-local bash conformance/spark/run.sh "$CATALOG_URL" || failed=1
  run_runner cross-engine-local bash conformance/common/cross_engine.sh "$CATALOG_URL" || failed=1
  stop_catalog

  step "PyIceberg, Spark and cross-engine with the warehouse on S3"
  local bucket="icerelay-conformance"
  curl -sf -X PUT "$ICERELAY_TEST_S3_ENDPOINT/$bucket" > /dev/null || true
  start_catalog $port ICERELAY_WAREHOUSE="s3://$bucket/wh-$RANDOM" ICERELAY_S3_ENDPOINT="$ICERELAY_TEST_S3_ENDPOINT" ICERELAY_VEND_CREDENTIALS=true
  run_runner pyiceberg-s3 bash conformance/pyiceberg/run.sh "$CATALOG_URL" --s3-endpoint "$ICERELAY_TEST_S3_ENDPOINT" || failed=1
  run_runner spark-s3 bash conformance/spark/run.sh "$CATALOG_URL" --s3-endpoint "$ICERELAY_TEST_S3_ENDPOINT" || failed=1
  run_runner cross-engine-s3 bash conformance/common/cross_engine.sh "$CATALOG_URL" --s3-endpoint "$ICERELAY_TEST_S3_ENDPOINT" || failed=1
  stop_catalog

  return $failed
}
