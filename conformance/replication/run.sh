#!/usr/bin/env bash
# Replication conformance: writes through Icerelay's proxy with PyIceberg and Spark, waits for the
# replica to catch up, and checks the replica table by table against the source (replication.py).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=../common/lib.sh
source "$here/../common/lib.sh"

usage() {
  cat <<'USAGE'
Usage: conformance/replication/run.sh <icerelay-url> --replica NAME --dest-prefix PREFIX
         [--s3-endpoint URL] [--replica-s3-endpoint URL] [--warehouse W] [--only SCENARIO]...
         [--timeout SECONDS] [--give-up-after N] [--report FILE] [--keep]

Through Icerelay's proxy at <icerelay-url>, PyIceberg and Spark write a fresh namespace of tables:
appends, overwrites and deletes, partitioned and sorted tables, a staged create, CTAS/RTAS,
merge-on-read DELETE/UPDATE/MERGE with position deletes (v2) and deletion vectors (v3), schema,
partition and sort order evolution, branches, tags, WAP and fast-forward, rollback, compaction,
table statistics, expire_snapshots at the source (after the replica has the snapshots), a rename,
namespace properties and a nested namespace. Then it polls
GET <icerelay-url>/admin/v1/replication/status until every table and namespace of the run is
`completed` for the replica, and checks each table loaded from the source and from the replica
<icerelay-url>/replicas/<NAME>:
  replicated       the table's replication completed (else its state and lastError)
  metadata         table UUID, format version, properties, current ids, statistics
  snapshots        every source snapshot, and every one the source expired, with the same fields
  refs             the same branches and tags
  schemas/specs/orders   the same schemas, partition specs and sort orders, history included
  manifests        per snapshot, the same manifests and entries (paths relative to the table)
  rows (pyiceberg) the same rows at every replica snapshot (rows recorded before an expiry)
  rows (spark)     the same, read by Spark (tables with position deletes or deletion vectors)
  files            the replica's metadata files, manifest lists, manifests, data, delete and
                   statistics files: under PREFIX, present, of the recorded sizes
  delete files     position-delete `file_path` values and deletion-vector referenced data files
                   under PREFIX
plus the rename and the namespace properties. Prints one row per check and table, ending in
`replication: N passed, N failed, N skipped`.

  --replica NAME            the replica destination (served at <icerelay-url>/replicas/NAME)
  --dest-prefix PREFIX      where the replica's files must be, e.g. file:///data/replicas/local/
                            or s3://replica-bucket/warehouse/
  --s3-endpoint URL         source data on S3 at URL (path-style); credentials from
                            AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY, region from AWS_REGION
  --replica-s3-endpoint URL the replica's S3 endpoint (default: --s3-endpoint); its load results
                            must name it as s3.endpoint
  --replica-namespace-prefix NS   levels the destination puts in front of replicated namespaces
  --warehouse W             `warehouse` property for the source catalog (default: not sent)
  --only SCENARIO           write and check only this scenario's tables (repeatable; --list)
  --list                    list the scenarios and exit
  --timeout SECONDS         how long to wait for replication (default 300)
  --give-up-after N         stop waiting for a table whose replication failed N times in a row (default 3)
  --report FILE             also write the results as JSON to FILE
  --keep                    keep the run's source namespace and tables (the replica always keeps its copies)
Environment: ICEBERG_VERSION (default in conformance/common/lib.sh).
Exit status: 0 if every check passed.
USAGE
}

case "${1:-}" in
  -h|--help) usage; exit 0 ;;
  --list) ;;
  ""|-*) usage >&2; exit 2 ;;
esac

python=$(conformance_python)
storage=local
for a in "$@"; do
  case "$a" in --s3-endpoint*|--replica-s3-endpoint*|s3://*|s3a://*) storage=s3 ;; esac
done
conformance_spark_jars "$python" "$storage"
exec "$python" "$here/replication.py" "$@"
