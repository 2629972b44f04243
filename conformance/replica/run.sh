#!/usr/bin/env bash
# Read-only replica conformance: writes through PyIceberg and Spark against a replica endpoint
# (e.g. http://127.0.0.1:8181/replicas/local) must fail cleanly with ForbiddenException, reads work.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=../common/lib.sh
source "$here/../common/lib.sh"

usage() {
  cat <<'USAGE'
Usage: conformance/replica/run.sh <replica-url> [--only SCENARIO]... [--results-json FILE]

Runs write attempts (create namespace, create table, drop, rename, commit) with PyIceberg and
Spark against a read-only replica endpoint and checks each fails with a Forbidden error and leaves
the replica unchanged; both engines read the replica's tables (up to 5); ends with
`replica-readonly: N passed, N failed, N skipped`.

  --only SCENARIO      run only this scenario, or those matching a pattern such as 'pyiceberg_*'
                       (repeatable); Spark and its jars are needed only when a spark_* one is chosen
  --results-json FILE  also write each scenario's outcome to FILE as JSON
Exit status: 0 if every scenario passed.
USAGE
}

# Whether the chosen scenarios include a Spark one (all are chosen without --only).
wants_spark() {
  local only=0 a
  while [ $# -gt 0 ]; do
    a=$1; shift
    case "$a" in
      --only) only=1; [[ ${1:-} == spark* ]] && return 0; shift || true ;;
      --only=*) only=1; [[ ${a#--only=} == spark* ]] && return 0 ;;
    esac
  done
  [ "$only" = 0 ]
}

case "${1:-}" in
  -h|--help) usage; exit 0 ;;
  ""|-*) usage >&2; exit 2 ;;
esac

python=$(conformance_python)
if wants_spark "$@"; then conformance_spark_jars "$python" local; fi
exec "$python" "$here/readonly_writes.py" "$@"
