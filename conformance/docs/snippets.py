"""Runs the connection snippets of docs/connect.md against a running Icerelay.

A snippet is a fenced code block right after a `<!-- snippet: <engine>-<role> -->` line; role is
`writer` (commits to the writer endpoint) or `replica` (reads the replica endpoint). Each is run as
written, with only `http://127.0.0.1:8181` replaced by the catalog URL given. For each engine:

- `<engine>_writer`: the writer snippet runs; it must add a snapshot to `analytics.events`
  (read back from the writer endpoint), and the replica must then catch up with it
  (`/admin/v1/replication/status` shows the table completed at the replica);
- `<engine>_replica`: the replica snippet runs; what it prints must contain the table's row count
  at the source (the current snapshot's `total-records`).

Python snippets run in a fresh interpreter (this one); SQL snippets (DuckDB) run in DuckDB's
Python package, with its extensions loaded from the duckdb-ext-* wheels (scripts/requirements.txt)
instead of DuckDB's download site, which the test machines do not reach.

Ends with `docs-snippets: N passed, N failed, N skipped`.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "common"))
from steprunner import Runner  # noqa: E402

DOC_URL = "http://127.0.0.1:8181"
TABLE = "analytics.events"
ENGINES = ["pyiceberg", "duckdb", "spark"]
REPO = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
MARKER = re.compile(r"^<!-- snippet: ([a-z0-9-]+) -->\n```([a-z]+)\n(.*?)\n```", re.S | re.M)


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="conformance/docs", description=__doc__.split("\n\n")[0])
    p.add_argument("catalog_url", help="the running Icerelay, e.g. http://127.0.0.1:8181")
    p.add_argument("--engine", action="append", choices=ENGINES, help="run only this engine's snippets (repeatable)")
    p.add_argument("--doc", default=os.path.join(REPO, "docs", "connect.md"), help="the page to take the snippets from")
    p.add_argument("--replica", default="local", help="the replica the snippets read (default: local)")
    p.add_argument("--timeout", type=float, default=300, help="seconds a snippet, or replication, may take")
    return p.parse_args()


def read_snippets(path: str) -> dict[str, tuple[str, str]]:
    """name -> (language, code) of every marked block."""
    with open(path, encoding="utf-8") as f:
        text = f.read()
    found: dict[str, tuple[str, str]] = {}
    for name, language, code in MARKER.findall(text):
        if name in found:
            raise SystemExit(f"{path}: snippet {name} is marked twice")
        found[name] = (language, code)
    return found


def get_json(url: str):
    with urllib.request.urlopen(url, timeout=30) as answer:
        return json.loads(answer.read())


class Docs:
    def __init__(self, args: argparse.Namespace):
        self.args = args
        self.base = args.catalog_url.rstrip("/")
        self.snippets = read_snippets(args.doc)

    def code(self, name: str) -> tuple[str, str]:
        if name not in self.snippets:
            raise AssertionError(f"{self.args.doc} has no snippet marked `<!-- snippet: {name} -->`")
        language, code = self.snippets[name]
        if DOC_URL not in code:
            raise AssertionError(f"snippet {name} does not name the endpoint {DOC_URL}")
        return language, code.replace(DOC_URL, self.base)

    def run(self, name: str) -> str:
        """Runs a snippet as written; returns what it printed. Fails with its output if it fails."""
        language, code = self.code(name)
        if language == "python":
            with tempfile.TemporaryDirectory(prefix="icerelay-snippet-") as cwd:
                done = subprocess.run([sys.executable, "-c", code], cwd=cwd, capture_output=True, text=True, timeout=self.args.timeout)
            if done.returncode != 0:
                raise AssertionError(f"snippet {name} exited {done.returncode}:\n{done.stdout}\n{done.stderr[-4000:]}")
            return done.stdout
        if language == "sql":
            return run_duckdb(code)
        raise AssertionError(f"snippet {name}: no way to run a `{language}` block")

    def table(self) -> dict | None:
        ns, name = TABLE.split(".")
        try:
            return get_json(f"{self.base}/v1/namespaces/{ns}/tables/{name}")["metadata"]
        except urllib.error.HTTPError as e:
            if e.code == 404:
                return None
            raise

    def snapshot_ids(self) -> list:
        metadata = self.table()
        return [s["snapshot-id"] for s in (metadata or {}).get("snapshots", [])]

    def source_rows(self) -> int:
        """The table's rows at the writer endpoint, counted by PyIceberg (not every engine's
        snapshot summary carries `total-records`)."""
        from pyiceberg.catalog.rest import RestCatalog

        return RestCatalog("source", uri=self.base).load_table(TABLE).scan().to_arrow().num_rows

    def wait_for_replica(self) -> None:
        """Until the replica has applied every recorded commit of the table (or a failure is shown)."""
        deadline = time.monotonic() + self.args.timeout
        query = urllib.parse.urlencode({"table": TABLE})
        rows = []
        while time.monotonic() < deadline:
            rows = [r for r in get_json(f"{self.base}/admin/v1/replication/status?{query}")["tables"]
                    if r["destination"] == self.args.replica and r["entity"].get("name") == TABLE.split(".")[1]]
            if any(r["state"] == "failed" for r in rows):
                raise AssertionError(f"replication of {TABLE} failed: {rows}")
            if rows and all(r["state"] == "completed" and r["eventsBehind"] == 0 for r in rows):
                return
            time.sleep(0.25)
        raise AssertionError(f"{TABLE} not replicated to {self.args.replica} within {self.args.timeout} s: {rows}")

    def writer(self, engine: str) -> None:
        before = self.snapshot_ids()
        self.run(f"{engine}-writer")
        added = [s for s in self.snapshot_ids() if s not in before]
        if not added:
            raise AssertionError(f"the {engine} writer snippet added no snapshot to {TABLE}")
        self.wait_for_replica()

    def replica(self, engine: str) -> None:
        expected = self.source_rows()
        printed = self.run(f"{engine}-replica")
        if not re.search(rf"(?<![\d.]){expected}(?![\d.])", printed):
            raise AssertionError(f"the {engine} replica snippet printed no {expected} (the source's row count):\n{printed}")


def duckdb_extension_dir() -> str:
    """The extensions the duckdb-ext-* wheels ship (iceberg, httpfs, avro), for DuckDB's version."""
    import duckdb_ext  # namespace package of the duckdb-ext-* wheels

    return os.path.join(list(duckdb_ext.__path__)[0], "extensions")


def run_duckdb(sql: str) -> str:
    """Runs the statements in a fresh in-memory DuckDB; returns the last statement's rows as text."""
    import duckdb

    con = duckdb.connect()
    try:
        con.execute(f"SET extension_directory = '{duckdb_extension_dir()}'")
        con.execute("SET autoinstall_known_extensions = false")
        result = con.sql(sql)
        rows = result.fetchall() if result is not None else []
        return "\n".join(" ".join(str(v) for v in row) for row in rows)
    finally:
        con.close()


def main() -> int:
    args = parse_args()
    docs = Docs(args)
    runner = Runner("docs-snippets")
    for engine in args.engine or ENGINES:
        def writer(engine=engine):
            docs.writer(engine)

        def replica(engine=engine):
            docs.replica(engine)

        writer.__name__, replica.__name__ = f"{engine}_writer", f"{engine}_replica"
        runner.scenario(writer)
        runner.scenario(replica)
    return runner.run()


if __name__ == "__main__":
    sys.exit(main())
