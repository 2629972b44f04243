#!/usr/bin/env bash
# Read-only replica conformance: writes through PyIceberg and Spark against a replica endpoint
# (e.g. http://127.0.0.1:8181/replicas/local) must fail cleanly with ForbiddenException, reads work.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=../common/lib.sh
source "$here/../common/lib.sh"

usage() {
  cat <<'USAGE'
Usage: conformance/replica/run.sh <replica-url> [--only SCENARIO]...

Runs write attempts (create namespace, create table, drop, rename, commit) with PyIceberg and
Spark against a read-only replica endpoint and checks each fails with a Forbidden error and leaves
the replica unchanged; ends with `replica-readonly: N passed, N failed, N skipped`.
Exit status: 0 if every scenario passed.
USAGE
}

case "${1:-}" in
  -h|--help) usage; exit 0 ;;
  ""|-*) usage >&2; exit 2 ;;
esac

python=$(conformance_python)
conformance_spark_jars "$python" local
exec "$python" "$here/readonly_writes.py" "$@"
