#!/usr/bin/env bash
# The Debian PostgreSQL cluster the tests use, with a role and database `icerelay_test` that log in
# by password over TCP on 127.0.0.1 (Debian's default pg_hba.conf allows that; nothing is edited).
# Must run as root (or as a user allowed to run pg_ctlcluster and become `postgres`).
#
# Usage:
#   bash scripts/postgres.sh start   # installs the apt package if missing; idempotent
#   bash scripts/postgres.sh stop    # idempotent
#   eval "$(bash scripts/postgres.sh env)"
# ICERELAY_PG_VERSION picks a cluster version when several are installed (default: the newest).
set -euo pipefail

cluster=main
role=icerelay_test
password=icerelay_test
database=icerelay_test

install_if_missing() {
  if command -v pg_lsclusters >/dev/null && [ -n "$(ls /usr/lib/postgresql 2>/dev/null)" ]; then
    return 0
  fi
  echo "postgres: installing the postgresql package" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q >&2
  apt-get install -y -q postgresql >&2
}

pg_version() {
  if [ -n "${ICERELAY_PG_VERSION:-}" ]; then
    echo "$ICERELAY_PG_VERSION"
  else
    ls /usr/lib/postgresql | sort -n | tail -n 1
  fi
}

# Prints one field of `pg_lsclusters` for our cluster: 3 = port, 4 = status.
cluster_field() {
  pg_lsclusters --no-header | awk -v v="$(pg_version)" -v c="$cluster" '$1 == v && $2 == c { print $'"$1"' }'
}

as_postgres() {
  # runuser needs no password prompt or sudo, unlike su/sudo on minimal images.
  runuser -u postgres -- "$@"
}

psql_admin() {
  as_postgres psql --quiet --no-psqlrc -v ON_ERROR_STOP=1 --port "$(cluster_field 3)" "$@"
}

start() {
  install_if_missing
  local version
  version=$(pg_version)
  if [ -z "$(cluster_field 2)" ]; then
    # The package creates `main` on install; an image built without it needs it made here.
    pg_createcluster "$version" "$cluster" >&2
  fi
  if [ "$(cluster_field 4)" != online ]; then
    pg_ctlcluster "$version" "$cluster" start
  fi
  local port
  port=$(cluster_field 3)
  for _ in $(seq 1 100); do
    pg_isready --quiet --host 127.0.0.1 --port "$port" && break
    sleep 0.2
  done
  pg_isready --quiet --host 127.0.0.1 --port "$port" || {
    echo "postgres: cluster $version/$cluster does not answer on 127.0.0.1:$port" >&2
    return 1
  }
  # CREATEDB so tests may make throw-away databases of their own. The password is reset every time,
  # so a role left from an older run still matches the URL printed by `env`.
  psql_admin <<SQL
DO \$\$
BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '$role') THEN
    CREATE ROLE $role LOGIN CREATEDB;
  END IF;
END
\$\$;
ALTER ROLE $role WITH LOGIN CREATEDB PASSWORD '$password';
SQL
  if [ -z "$(psql_admin --tuples-only --no-align -c "SELECT 1 FROM pg_database WHERE datname = '$database'")" ]; then
    psql_admin -c "CREATE DATABASE $database OWNER $role"
  fi
  echo "postgres: cluster $version/$cluster online on 127.0.0.1:$port, database $database ready" >&2
}

stop() {
  if ! command -v pg_lsclusters >/dev/null || [ "$(cluster_field 4)" != online ]; then
    echo "postgres: not running" >&2
    return 0
  fi
  pg_ctlcluster "$(pg_version)" "$cluster" stop
  echo "postgres: stopped" >&2
}

print_env() {
  local port=5432
  if command -v pg_lsclusters >/dev/null && [ -n "$(cluster_field 3)" ]; then port=$(cluster_field 3); fi
  echo "export ICERELAY_TEST_POSTGRES_URL=postgres://$role:$password@127.0.0.1:$port/$database"
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  env) print_env ;;
  *)
    echo "usage: $0 start|stop|env" >&2
    exit 2
    ;;
esac
