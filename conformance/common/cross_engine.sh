#!/usr/bin/env bash
# Cross-engine conformance: each engine (PyIceberg, Spark) reads exactly what the other wrote.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lib.sh
source "$here/lib.sh"

usage() {
  cat <<'USAGE'
Usage: conformance/common/cross_engine.sh <catalog-url> [--warehouse W] [--s3-endpoint URL] [--only SCENARIO]... [--keep]

Writes tables with PyIceberg and reads them with Spark, and the reverse (appends, deletes,
position deletes and deletion vectors, schema changes, branches, time travel), with exact row checks.
Prints a table ending in `cross-engine: N passed, N failed, N skipped`.
Options as in conformance/spark/run.sh --help.
USAGE
}

case "${1:-}" in
  -h|--help) usage; exit 0 ;;
  ""|-*) usage >&2; exit 2 ;;
esac

python=$(conformance_python)
if conformance_wants_s3 "$@"; then storage=s3; else storage=local; fi
conformance_spark_jars "$python" "$storage"
exec "$python" "$here/cross_engine.py" "$@"
