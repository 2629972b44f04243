#!/usr/bin/env bash
# The Trino snippets of docs/connect.md against a running Icerelay whose warehouse and replica
# are on S3: fetches Trino's server from Maven Central (once, into .tmp/trino), writes the page's
# two catalog files into its etc/catalog (only the Icerelay URL, the S3 endpoint and the keys
# filled in), starts it on loopback, runs the writer and replica SQL snippets through it
# (conformance/docs/snippets.py --engine trino) and stops it.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=../common/lib.sh
source "$here/../common/lib.sh"

usage() {
  cat <<'USAGE'
Usage: conformance/docs/trino.sh <icerelay-url> --s3-endpoint URL --warehouse s3://BUCKET/PREFIX

<icerelay-url> must serve its tables from S3 (catalog.warehouse, the --warehouse given here) and its
replica `local` from S3 too: Trino reads files only through its own file systems. S3 keys come
from AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY, the region from AWS_REGION (default us-east-1).

Environment: TRINO_VERSION (default 476), TRINO_JAVA_HOME (default: the first JDK 24 or newer
under /usr/lib/jvm or /opt), TRINO_PORT (default 18090).
Ends with `docs-snippets: N passed, N failed, N skipped`; exit status 0 if every snippet passed.
USAGE
}

case "${1:-}" in
  -h|--help) usage; exit 0 ;;
  ""|-*) usage >&2; exit 2 ;;
esac
icerelay_url=$1; shift
s3_endpoint='' warehouse=''
while [ $# -gt 0 ]; do
  case "$1" in
    --s3-endpoint) s3_endpoint=$2; shift 2 ;;
    --warehouse) warehouse=$2; shift 2 ;;
    *) echo "unknown argument $1" >&2; usage >&2; exit 2 ;;
  esac
done
if [ -z "$s3_endpoint" ] || [ -z "$warehouse" ]; then usage >&2; exit 2; fi

version=${TRINO_VERSION:-476}
port=${TRINO_PORT:-18090}
root=$CONFORMANCE_ROOT/.tmp/trino
server=$root/trino-server-$version

# Trino 476 runs on Java 24 or newer; the tests' own JDK is 17.
java_home=${TRINO_JAVA_HOME:-}
if [ -z "$java_home" ]; then
  for candidate in /usr/lib/jvm/* /opt/*; do
    release="$candidate/release"
    [ -x "$candidate/bin/java" ] && [ -f "$release" ] || continue
    major=$(sed -n 's/^JAVA_VERSION="\([0-9]*\).*/\1/p' "$release")
    if [ "${major:-0}" -ge 24 ]; then java_home=$candidate; break; fi
  done
fi
if [ -z "$java_home" ]; then
  echo "trino: no JDK 24 or newer found under /usr/lib/jvm or /opt (Trino $version needs one); set TRINO_JAVA_HOME" >&2
  echo "docs-snippets: 0 passed, 1 failed, 0 skipped"
  exit 1
fi

if [ ! -f "$server/.unpacked" ]; then
  rm -rf "$server"
  mkdir -p "$root"
  echo "fetching io.trino:trino-server:$version (about 800 MB, once)" >&2
  mvn -B -q -Dstyle.color=never org.apache.maven.plugins:maven-dependency-plugin:3.8.1:copy \
    -Dartifact="io.trino:trino-server:$version:tar.gz" -DoutputDirectory="$root" >&2
  # tar itself: the archive's jars are hard links, which Maven's unpack leaves empty.
  tar -xzf "$root/trino-server-$version.tar.gz" -C "$root"
  rm -f "$root/trino-server-$version.tar.gz"
  touch "$server/.unpacked"
fi

python=$(conformance_python)
home=$(mktemp -d "${TMPDIR:-/tmp}/icerelay-trino-XXXXXX")
mkdir -p "$home/etc/catalog" "$home/plugin" "$home/data"
# Only the Iceberg connector: Trino starts faster without the other fifty plugins.
ln -s "$server/plugin/iceberg" "$home/plugin/iceberg"
cat > "$home/etc/node.properties" <<EOF
node.environment=docs
node.id=docs-1
node.data-dir=$home/data
node.internal-address=127.0.0.1
EOF
cat > "$home/etc/config.properties" <<EOF
coordinator=true
node-scheduler.include-coordinator=true
http-server.http.port=$port
discovery.uri=http://127.0.0.1:$port
plugin.dir=$home/plugin
query.max-memory=1GB
query.max-memory-per-node=512MB
EOF
printf '%s\n' -server -Xmx2G -XX:+UseG1GC -XX:+ExitOnOutOfMemoryError -Djdk.attach.allowAttachSelf=true > "$home/etc/jvm.config"
"$python" "$here/snippets.py" "$icerelay_url" --write-trino-catalogs "$home/etc/catalog" \
  --s3-endpoint "$s3_endpoint" --warehouse "$warehouse"

JAVA_HOME=$java_home PATH="$java_home/bin:$PATH" "$server/bin/launcher" run --etc-dir="$home/etc" --data-dir="$home/data" > "$home/server.log" 2>&1 &
trino_pid=$!
stop_trino() {
  kill "$trino_pid" 2>/dev/null || true
  wait "$trino_pid" 2>/dev/null || true
  rm -rf "$home"
}
trap stop_trino EXIT

for _ in $(seq 1 600); do
  if grep -q 'SERVER STARTED' "$home/server.log"; then break; fi
  if ! kill -0 "$trino_pid" 2>/dev/null; then break; fi
  sleep 0.5
done
if ! grep -q 'SERVER STARTED' "$home/server.log"; then
  echo "trino did not start; the end of its log:" >&2
  tail -40 "$home/server.log" >&2
  echo "docs-snippets: 0 passed, 1 failed, 0 skipped"
  exit 1
fi

"$python" "$here/snippets.py" "$icerelay_url" --engine trino --trino-url "http://127.0.0.1:$port" \
  --s3-endpoint "$s3_endpoint" --warehouse "$warehouse"
