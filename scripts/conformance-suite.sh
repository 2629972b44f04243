#!/usr/bin/env bash
# Conformance part of the test suite, sourced by scripts/test.sh: serves Icerelay (the proxy in
# front of the built-in catalog) in each configuration (SQLite / Postgres state, local / S3
# warehouse) on a spare port and runs the conformance runners against it; then runs them against
# the built-in catalog alone and against Apache's REST fixture directly and through the proxy,
# and requires the same outcome for every test. Each runner's closing line is recorded
# in $summary_file.
#
# Ports (override when something else uses them): ICERELAY_CONFORMANCE_PORT (18181) for the
# built-in catalog; ICERELAY_FIXTURE_PORT (18581) and ICERELAY_FIXTURE_PROXY_PORT (18582) for the
# fixture and the proxy in front of it. FIXTURE_ICEBERG_VERSION (1.11.0, the RCK's) picks the
# fixture's Iceberg release.

# Serves the built-in catalog in the background with the extra environment given as arguments
# (after an optional --catalog-only: the catalog alone, without the proxy in front).
# Sets CATALOG_URL, CATALOG_PID and CATALOG_DATA_DIR.
start_catalog() {
  local port=$1; shift
  local mode=()
  if [ "${1:-}" = --catalog-only ]; then mode=(--catalog-only); shift; fi
  local data_dir
  data_dir=$(mktemp -d "${TMPDIR:-/tmp}/icerelay-conformance-XXXXXX")
  CATALOG_URL="http://127.0.0.1:$port"
  CATALOG_DATA_DIR=$data_dir
  if curl -s -o /dev/null "$CATALOG_URL/v1/config"; then
    echo "port $port is already in use; stop whatever listens there" >&2
    return 1
  fi
  # node itself (not npx) so that CATALOG_PID is the server and stop_catalog really stops it.
  env ICERELAY_PORT="$port" ICERELAY_DATA_DIR="$data_dir" "$@" node --import tsx src/main.ts "${mode[@]}" > ".tmp/catalog-$port.log" 2>&1 &
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
  echo "catalog-stop: 0 passed, 1 failed, 0 skipped" >> "$summary_file"
  return 1
}

# Runs one runner whose own verdict is not recorded (a comparison of its results is): keeps its
# output in .tmp/<name>.log.
log_runner() {
  local name=$1; shift
  echo "--- $name: $*"
  "$@" 2>&1 | tee ".tmp/$name.log" || true
}

# Starts Apache's REST fixture on the port, with a fresh catalog and warehouse (start.sh wipes its
# state dir on every start). Sets FIXTURE_URL.
start_fixture() {
  local port=$1
  FIXTURE_URL="http://127.0.0.1:$port"
  if bash conformance/fixture/start.sh --version "${FIXTURE_ICEBERG_VERSION:-1.11.0}" "$port"; then return 0; fi
  echo "the REST fixture did not start; its log: .tmp/fixture/fixture-$port.log" >&2
  return 1
}

stop_fixture() {
  if bash conformance/fixture/stop.sh --clean "$1"; then return 0; fi
  echo "fixture-stop: 0 passed, 1 failed, 0 skipped" >> "$summary_file"
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
  elif [ "$status" -ne 0 ] && grep -qE '^[A-Za-z-]+: [0-9]+ passed, 0 failed' ".tmp/$name.log"; then
    # A runner that reports no failure yet exits non-zero (a crash while shutting down, say)
    # still fails the suite: record it so that the total names it.
    echo "$name exited with status $status although it reported no failure" >&2
    echo "$name-exit: 0 passed, 1 failed, 0 skipped" >> "$summary_file"
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
# (each as "name command args..." with CATALOG_URL substituted for @URL and its data folder for @DATA).
with_catalog() {
  local env_args=() failed=0
  while [ "$1" != "--" ]; do env_args+=("$1"); shift; done
  shift
  if ! start_catalog "${ICERELAY_CONFORMANCE_PORT:-18181}" "${env_args[@]}"; then
    echo "catalog-start: 0 passed, 1 failed, 0 skipped" >> "$summary_file"
    return 1
  fi
  while [ $# -gt 0 ]; do
    local name=$1 command=$2; shift 2
    command=${command//@URL/$CATALOG_URL}
    run_runner "$name" bash -c "${command//@DATA/$CATALOG_DATA_DIR}" || failed=1
  done
  stop_catalog || failed=1
  return $failed
}

# RCK, PyIceberg and Spark against Apache's REST fixture directly, then against a fresh fixture
# with the proxy in front (one fixture JVM per side, each with a fresh catalog and warehouse as
# the RCK needs); compare_results.py then requires every test to end the same way on both sides.
# The runners' own totals are not recorded: the fixture fails some tests by itself. Recorded: the
# comparison (one line, each compared test counted) and the workload run through the proxy.
run_fixture_comparison() {
  local fixture_port=${ICERELAY_FIXTURE_PORT:-18581} proxy_port=${ICERELAY_FIXTURE_PROXY_PORT:-18582}
  local reports=.tmp/fixture-compare failed=0 side url
  rm -rf "$reports" .tmp/{rck,pyiceberg,spark}-fixture-{direct,proxied}.log
  mkdir -p "$reports"
  for side in direct proxied; do
    if ! start_fixture "$fixture_port"; then
      echo "fixture-start: 0 passed, 1 failed, 0 skipped" >> "$summary_file"
      return 1
    fi
    url=$FIXTURE_URL
    if [ "$side" = proxied ]; then
      if ! start_catalog "$proxy_port" ICERELAY_UPSTREAM_URL="$FIXTURE_URL"; then
        echo "fixture-proxy-start: 0 passed, 1 failed, 0 skipped" >> "$summary_file"
        stop_fixture "$fixture_port"
        return 1
      fi
      url=$CATALOG_URL
    fi
    log_runner "rck-fixture-$side" env RCK_REPORTS_DIR="$reports/rck-$side" bash conformance/rck/run.sh "$url"
    log_runner "pyiceberg-fixture-$side" bash conformance/pyiceberg/run.sh "$url"
    log_runner "spark-fixture-$side" bash conformance/spark/run.sh "$url"
    if [ "$side" = proxied ]; then
      run_runner workload-fixture bash conformance/workload/run.sh "$url" || failed=1
      stop_catalog || failed=1
    fi
    stop_fixture "$fixture_port" || failed=1
  done
  run_runner fixture-proxy-vs-direct python3 conformance/common/compare_results.py --name fixture-proxy-vs-direct \
    "rck:rck:$reports/rck-direct:$reports/rck-proxied" \
    "pyiceberg:scenarios:.tmp/pyiceberg-fixture-direct.log:.tmp/pyiceberg-fixture-proxied.log" \
    "spark:scenarios:.tmp/spark-fixture-direct.log:.tmp/spark-fixture-proxied.log" || failed=1
  return $failed
}

# RCK, PyIceberg and Spark against the built-in catalog alone (no proxy), compared test by test
# with the runs through the proxy earlier in the suite (rck-sqlite, pyiceberg-local, spark-local).
run_builtin_comparison() {
  local reports=.tmp/builtin-compare failed=0
  if ! start_catalog "${ICERELAY_CONFORMANCE_PORT:-18181}" --catalog-only; then
    echo "catalog-start: 0 passed, 1 failed, 0 skipped" >> "$summary_file"
    return 1
  fi
  log_runner rck-builtin-direct env RCK_REPORTS_DIR="$reports/rck-direct" bash conformance/rck/run.sh "$CATALOG_URL"
  log_runner pyiceberg-builtin-direct bash conformance/pyiceberg/run.sh "$CATALOG_URL"
  log_runner spark-builtin-direct bash conformance/spark/run.sh "$CATALOG_URL"
  stop_catalog || failed=1
  run_runner builtin-proxy-vs-direct python3 conformance/common/compare_results.py --name builtin-proxy-vs-direct \
    "rck:rck:$reports/rck-direct:$reports/rck-proxied" \
    "pyiceberg:scenarios:.tmp/pyiceberg-builtin-direct.log:.tmp/pyiceberg-local.log" \
    "spark:scenarios:.tmp/spark-builtin-direct.log:.tmp/spark-local.log" || failed=1
  return $failed
}

run_conformance_suite() {
  local failed=0 s3=$ICERELAY_TEST_S3_ENDPOINT bucket=icerelay-conformance
  rm -rf .tmp/builtin-compare

  step "RCK against the built-in catalog on SQLite"
  with_catalog -- rck-sqlite "RCK_REPORTS_DIR=.tmp/builtin-compare/rck-proxied bash conformance/rck/run.sh @URL" || failed=1

  step "RCK against the built-in catalog on Postgres"
  with_catalog ICERELAY_DATABASE_URL="$(fresh_postgres_url)" -- rck-postgres "bash conformance/rck/run.sh @URL" || failed=1

  step "PyIceberg, Spark, cross-engine, workload, replication, read-only replica and the Spark snippets of docs/connect.md with the warehouse on local disk"
  with_catalog -- \
    pyiceberg-local "bash conformance/pyiceberg/run.sh @URL" \
    spark-local "bash conformance/spark/run.sh @URL" \
    cross-engine-local "bash conformance/common/cross_engine.sh @URL" \
    workload-local "bash conformance/workload/run.sh @URL" \
    replication-local "bash conformance/replication/run.sh @URL --replica local --dest-prefix file://@DATA/replicas/local/" \
    replica-readonly "bash conformance/replica/run.sh @URL/replicas/local" \
    docs-snippets-spark "bash conformance/docs/run.sh @URL --engine spark" || failed=1

  step "PyIceberg, Spark, cross-engine and replication (into a folder) with the warehouse on S3"
  curl -sf -X PUT "$s3/$bucket" > /dev/null || true
  with_catalog ICERELAY_WAREHOUSE="s3://$bucket/wh-$RANDOM" ICERELAY_S3_ENDPOINT="$s3" ICERELAY_VEND_CREDENTIALS=true -- \
    pyiceberg-s3 "bash conformance/pyiceberg/run.sh @URL --s3-endpoint $s3" \
    spark-s3 "bash conformance/spark/run.sh @URL --s3-endpoint $s3" \
    cross-engine-s3 "bash conformance/common/cross_engine.sh @URL --s3-endpoint $s3" \
    replication-s3 "bash conformance/replication/run.sh @URL --replica local --dest-prefix file://@DATA/replicas/local/ --s3-endpoint $s3" || failed=1

  step "The Trino snippets of docs/connect.md, with the warehouse and the replica on S3 (Trino reads no local folder)"
  local docs_prefix="docs-$RANDOM"
  printf 'replication:\n  destinations:\n    local: { warehouse: "s3://%s/%s/replicas/local" }\n' "$bucket" "$docs_prefix" > .tmp/docs-trino.yaml
  with_catalog ICERELAY_CONFIG=.tmp/docs-trino.yaml ICERELAY_WAREHOUSE="s3://$bucket/$docs_prefix/wh" ICERELAY_S3_ENDPOINT="$s3" -- \
    docs-snippets-trino "bash conformance/docs/trino.sh @URL --s3-endpoint $s3 --warehouse s3://$bucket/$docs_prefix/wh" || failed=1

  step "RCK, PyIceberg and Spark against the built-in catalog without the proxy: the same results as through it"
  run_builtin_comparison || failed=1

  step "RCK, PyIceberg and Spark against Apache's REST fixture, directly and through the proxy; workload through the proxy"
  run_fixture_comparison || failed=1

  return $failed
}
