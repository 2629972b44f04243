#!/usr/bin/env bash
# Creates (once) the project's Python virtualenv in .venv with scripts/requirements.txt, and prints its path.
# Usage: PY=$(bash scripts/python-env.sh)/bin/python
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
venv="$root/.venv"
stamp="$venv/.requirements.sha"
want=$(sha256sum "$root/scripts/requirements.txt" | cut -d' ' -f1)
if [ ! -x "$venv/bin/python" ] || [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  python3 -m venv "$venv" >&2
  "$venv/bin/pip" install --quiet -r "$root/scripts/requirements.txt" >&2
  echo "$want" > "$stamp"
fi
echo "$venv"
