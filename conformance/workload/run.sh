#!/usr/bin/env bash
# N-commit workload through Icerelay's proxy, checked against the proxy's outbox (workload.py).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=../common/lib.sh
source "$here/../common/lib.sh"

usage() {
  cat <<'USAGE'
Usage: conformance/workload/run.sh <proxy-url> [--s3-endpoint URL] [--warehouse W] [--commits N] [--only CHECK]... [--keep]

Through Icerelay's proxy at <proxy-url>, PyIceberg makes N commits on one table (appends,
overwrites, deletes, schema, spec and property changes, a tag) and Spark N on another (INSERT,
DELETE, UPDATE, MERGE, ALTER TABLE); midway each table also gets one commit the catalog rejects
with 409 (a stale schema from a second PyIceberg table object; a plain HTTP commit with a stale
assert-ref-snapshot-id). Then checks GET <proxy-url>/admin/v1/outbox?table=ns.t: after each commit
exactly its event, `committed`, with the new metadata-location and added snapshot ids; after each
rejection exactly one `rejected` event and no new metadata file; at the end one committed event per
metadata file of the table (create + commits, metadata-log order), the rejections, nothing else.
Prints a table ending in `workload: N passed, N failed, N skipped`.

  --s3-endpoint URL    data files on S3 at URL (as in conformance/spark/run.sh)
  --warehouse W        `warehouse` catalog property (default: not sent)
  --commits N          commits per engine besides the create, 2-90 (default 12, or WORKLOAD_COMMITS)
  --only CHECK         run only this check (repeatable; the checks build on each other)
  --keep               keep the run's namespace and tables
Environment: ICEBERG_VERSION (default in conformance/common/lib.sh).
Exit status: 0 if every check passed.
USAGE
}

case "${1:-}" in
  -h|--help) usage; exit 0 ;;
  ""|-*) usage >&2; exit 2 ;;
esac

python=$(conformance_python)
if conformance_wants_s3 "$@"; then storage=s3; else storage=local; fi
conformance_spark_jars "$python" "$storage"
exec "$python" "$here/workload.py" "$@"
