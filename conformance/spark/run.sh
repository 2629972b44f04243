#!/usr/bin/env bash
# Spark conformance: runs conformance/spark/scenarios.py (PySpark + Iceberg runtime) against an Iceberg REST catalog.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=../common/lib.sh
source "$here/../common/lib.sh"

usage() {
  cat <<'USAGE'
Usage: conformance/spark/run.sh <catalog-url> [--warehouse W] [--s3-endpoint URL] [--only SCENARIO]... [--keep] [--results-json FILE]

Runs Spark SQL scenarios (CREATE TABLE v2/v3, INSERT, CTAS/RTAS, merge-on-read DELETE/UPDATE/MERGE
with position deletes and deletion vectors, ALTER TABLE, branches and tags, time travel,
DROP TABLE PURGE) through Iceberg's REST catalog client, with exact row checks, and prints a table
ending in `spark: N passed, N failed, N skipped`.

  --warehouse W        `warehouse` catalog property (default: not sent; the server picks locations)
  --s3-endpoint URL    data files on S3 at URL (S3FileIO, path-style); credentials from
                       AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY, region from AWS_REGION (default us-east-1)
  --only SCENARIO      run only this scenario (repeatable)
  --keep               keep the run's namespace and tables
  --results-json FILE  also write each scenario's outcome to FILE as JSON
Environment: ICEBERG_VERSION (default in conformance/common/lib.sh). Jars are fetched once with
Maven into .tmp/conformance-jars; later runs work offline.
Exit status: 0 if every scenario passed or was skipped and at least one passed.
USAGE
}

case "${1:-}" in
  -h|--help) usage; exit 0 ;;
  ""|-*) usage >&2; exit 2 ;;
esac

python=$(conformance_python)
if conformance_wants_s3 "$@"; then storage=s3; else storage=local; fi
conformance_spark_jars "$python" "$storage"
exec "$python" "$here/scenarios.py" "$@"
