#!/usr/bin/env bash
# PyIceberg conformance: runs conformance/pyiceberg/scenarios.py against an Iceberg REST catalog.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=../common/lib.sh
source "$here/../common/lib.sh"

usage() {
  cat <<'USAGE'
Usage: conformance/pyiceberg/run.sh <catalog-url> [--warehouse W] [--s3-endpoint URL] [--only SCENARIO]... [--keep] [--results-json FILE]

Runs PyIceberg scenarios (namespaces, partitioned/sorted tables, append, overwrite, delete,
schema and partition evolution, time travel, staged create, rename, drop) against the catalog,
with exact row checks, and prints a table ending in `pyiceberg: N passed, N failed, N skipped`.

  --warehouse W        `warehouse` catalog property (default: not sent; the server picks locations)
  --s3-endpoint URL    data files on S3 at URL (path-style); credentials from AWS_ACCESS_KEY_ID /
                       AWS_SECRET_ACCESS_KEY, region from AWS_REGION (default us-east-1)
  --only SCENARIO      run only this scenario (repeatable)
  --keep               keep the run's namespace and tables
  --results-json FILE  also write each scenario's outcome to FILE as JSON
Exit status: 0 if every scenario passed or was skipped and at least one passed.
USAGE
}

case "${1:-}" in
  -h|--help) usage; exit 0 ;;
  ""|-*) usage >&2; exit 2 ;;
esac

python=$(conformance_python)
exec "$python" "$here/scenarios.py" "$@"
