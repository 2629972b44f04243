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
  CATALOG_URL="http://127.0.0.1:$port"
  if curl -s -o /dev/null "$CATALOG_URL/v1/config"; then
    echo "port $port is already in use; stop whatever listens there" >&2
    return 1
  fi
  # node itself (not npx) so that CATALOG_PID is the server and stop_catalog really stops it.
  env ICERELAY_PORT="$port" ICERELAY_DATA_DIR="$data_dir" "$@" node --import tsx src/main.ts > ".tmp/catalog-$port.log" 2>&1 &
  CATALOG_PID=$!
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
  for _ in $(seq 1 50); do curl -s -o /dev/null "$CATALOG_URL/v1/config" || return 0; sleep 0.1; done
  echo "the catalog at $CATALOG_URL did not stop" >&2
  return 1
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

# Serves the catalog with the given environment and runs the given runner commands against it
# (each as "name command args..." with CATALOG_URL substituted for @URL).
with_catalog() {
  local env_args=() failed=0
  while [ "$1" != "--" ]; do env_args+=("$1"); shift; done
  shift
  if ! start_catalog 18181 "${env_args[@]}"; then
    echo "catalog-start: 0 passed, 1 failed, 0 skipped" >> "$summary_file"
    return 1
  fi
  while [ $# -gt 0 ]; do
    local name=$1 command=$2; shift 2
    run_runner "$name" bash -c "${command//@URL/$CATALOG_URL}" || failed=1
  done
  stop_catalog || failed=1
  return $failed
}

run_conformance_suite() {
  local failed=0 s3=$ICERELAY_TEST_S3_ENDPOINT bucket=icerelay-conformance

  step "RCK against the built-in catalog on SQLite"
  with_catalog -- rck-sqlite "bash conformance/rck/run.sh @URL" || failed=1

  step "RCK against the built-in catalog on Postgres"
  with_catalog ICERELAY_DATABASE_URL="$(fresh_postgres_url)" -- rck-postgres "bash conformance/rck/run.sh @URL" || failed=1

  step "PyIceberg, Spark and cross-engine with the warehouse on local disk"
  with_catalog -- \
    pyiceberg-local "bash conformance/pyiceberg/run.sh @URL" \
    spark-local "bash conformance/spark/run.sh @URL" \
    cross-engine-local "bash conformance/common/cross_engine.sh @URL" || failed=1

  step "PyIceberg, Spark and cross-engine with the warehouse on S3"
  curl -sf -X PUT "$s3/$bucket" > /dev/null || true
  with_catalog ICERELAY_WAREHOUSE="s3://$bucket/wh-$RANDOM" ICERELAY_S3_ENDPOINT="$s3" ICERELAY_VEND_CREDENTIALS=true -- \
    pyiceberg-s3 "bash conformance/pyiceberg/run.sh @URL --s3-endpoint $s3" \
    spark-s3 "bash conformance/spark/run.sh @URL --s3-endpoint $s3" \
    cross-engine-s3 "bash conformance/common/cross_engine.sh @URL --s3-endpoint $s3" || failed=1

  return $failed
}
