#!/usr/bin/env bash
# The connection snippets of docs/connect.md, run as written against a running Icerelay.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=../common/lib.sh
source "$here/../common/lib.sh"

usage() {
  cat <<'USAGE'
Usage: conformance/docs/run.sh <icerelay-url> [--engine pyiceberg|duckdb|spark]... [--replica NAME]

Runs each engine's writer snippet of docs/connect.md against the Icerelay at <icerelay-url> (the
snippets' http://127.0.0.1:8181 replaced by it), checks it added a snapshot to analytics.events
and that the replica caught up, then runs the engine's replica snippet and checks it printed the
source's row count. Ends with `docs-snippets: N passed, N failed, N skipped`.

  --engine E       only this engine's snippets (repeatable; default: all three)
  --replica NAME   the replica the snippets read (default: local)
Spark fetches Iceberg's runtime from Maven Central itself (spark.jars.packages, as the snippet
says) into its Ivy cache on first use. The Trino snippets need a Trino server and an Icerelay on
S3: conformance/docs/trino.sh runs them.
Exit status: 0 if every snippet passed.
USAGE
}

case "${1:-}" in
  -h|--help) usage; exit 0 ;;
  ""|-*) usage >&2; exit 2 ;;
esac

python=$(conformance_python)
exec "$python" "$here/snippets.py" "$@"
