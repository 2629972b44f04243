#!/usr/bin/env bash
# A real S3-compatible server on loopback for the tests: moto (from the project venv, see
# scripts/python-env.sh). Its state is in memory, so a restart starts with no buckets.
#
# Usage:
#   bash scripts/s3-server.sh start   # idempotent; returns once the server answers
#   bash scripts/s3-server.sh stop    # idempotent
#   eval "$(bash scripts/s3-server.sh env)"
# Port: ICERELAY_S3_PORT (default 9100).
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
port=${ICERELAY_S3_PORT:-9100}
endpoint="http://127.0.0.1:$port"
state_dir="$root/.tmp"
pid_file="$state_dir/s3-server-$port.pid"
log_file="$state_dir/s3-server-$port.log"

answers() {
  curl --silent --output /dev/null --max-time 2 "$endpoint/" 2>/dev/null
}

# The pid from the pid file, if that process is still our moto (not a recycled pid).
running_pid() {
  local pid
  pid=$(cat "$pid_file" 2>/dev/null) || return 1
  [ -n "$pid" ] && ps -p "$pid" -o command= 2>/dev/null | grep -q moto_server && echo "$pid"
}

start() {
  if running_pid >/dev/null && answers; then
    echo "s3-server: already running at $endpoint (pid $(running_pid))" >&2
    return 0
  fi
  if answers; then
    # Not ours (no pid file): maybe started by hand. Refuse rather than guess what it is.
    echo "s3-server: something already answers at $endpoint but was not started by this script;" \
      "stop it or choose another port with ICERELAY_S3_PORT" >&2
    return 1
  fi
  local venv
  venv=$(bash "$root/scripts/python-env.sh")
  mkdir -p "$state_dir"
  # setsid: the server outlives this shell and does not get the terminal's Ctrl-C (nohup where
  # setsid is missing, e.g. macOS).
  local detach=nohup
  if command -v setsid >/dev/null; then detach=setsid; fi
  "$detach" "$venv/bin/moto_server" -H 127.0.0.1 -p "$port" >"$log_file" 2>&1 </dev/null &
  echo $! >"$pid_file"
  for _ in $(seq 1 150); do
    if answers; then
      echo "s3-server: running at $endpoint (pid $(cat "$pid_file"), log $log_file)" >&2
      return 0
    fi
    if ! running_pid >/dev/null; then
      echo "s3-server: moto exited during start-up; last lines of $log_file:" >&2
      tail -n 20 "$log_file" >&2
      rm -f "$pid_file"
      return 1
    fi
    sleep 0.2
  done
  echo "s3-server: no answer from $endpoint after 30s; see $log_file" >&2
  return 1
}

stop() {
  local pid
  if ! pid=$(running_pid); then
    rm -f "$pid_file"
    echo "s3-server: not running" >&2
    return 0
  fi
  kill "$pid"
  for _ in $(seq 1 50); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  if kill -0 "$pid" 2>/dev/null; then kill -9 "$pid"; fi
  rm -f "$pid_file"
  echo "s3-server: stopped (pid $pid)" >&2
}

print_env() {
  # moto accepts any credentials; these fixed values keep the SDK from looking for real ones.
  echo "export ICERELAY_TEST_S3_ENDPOINT=$endpoint"
  echo "export AWS_ACCESS_KEY_ID=icerelay-test"
  echo "export AWS_SECRET_ACCESS_KEY=icerelay-test"
  echo "export AWS_REGION=us-east-1"
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
