"""Runs the connection snippets of docs/connect.md against a running Icerelay.

A snippet is a fenced code block right after a `<!-- snippet: <engine>-<role> -->` line; role is
`writer` (commits to the writer endpoint) or `replica` (reads the replica endpoint). Each is run as
written, with only `http://127.0.0.1:8181` replaced by the catalog URL given. For each engine:

- `<engine>_writer`: the writer snippet runs; it must add a snapshot to `analytics.events`
  (read back from the writer endpoint), and the replica must then catch up with it
  (`/admin/v1/replication/status` shows the table completed at the replica);
- `<engine>_replica`: the replica snippet runs; what it prints must contain the table's row count
  at the source (the current snapshot's `total-records`).

Python snippets run in a fresh interpreter (this one); DuckDB's SQL snippets run in DuckDB's
Python package, with its extensions loaded from the duckdb-ext-* wheels (scripts/requirements.txt)
instead of DuckDB's download site, which the test machines do not reach. Trino's run through a
Trino server (`--trino-url`) that conformance/docs/trino.sh starts with the page's catalog files
(`--write-trino-catalogs`); for Trino the page's S3 endpoint, keys (`...`) and warehouse
(`s3://my-bucket/warehouse`) are replaced by the test's too.

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
# Run only when asked: it needs a Trino server and an Icerelay on S3 (conformance/docs/trino.sh).
OPTIONAL_ENGINES = ["trino"]
DOC_S3_ENDPOINT = "http://127.0.0.1:9000"
DOC_WAREHOUSE = "s3://my-bucket/warehouse"
REPO = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
MARKER = re.compile(r"^<!-- snippet: ([a-z0-9-]+) -->\n```([a-z]+)\n(.*?)\n```", re.S | re.M)


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="conformance/docs", description=__doc__.split("\n\n")[0])
    p.add_argument("catalog_url", help="the running Icerelay, e.g. http://127.0.0.1:8181")
    p.add_argument("--engine", action="append", choices=ENGINES + OPTIONAL_ENGINES,
                   help=f"run only this engine's snippets (repeatable; default: {', '.join(ENGINES)})")
    p.add_argument("--doc", default=os.path.join(REPO, "docs", "connect.md"), help="the page to take the snippets from")
    p.add_argument("--replica", default="local", help="the replica the snippets read (default: local)")
    p.add_argument("--timeout", type=float, default=300, help="seconds a snippet, or replication, may take")
    p.add_argument("--trino-url", help="the Trino server that runs the Trino snippets")
    p.add_argument("--s3-endpoint", help="the S3 endpoint put in place of the page's (Trino)")
    p.add_argument("--warehouse", help="the s3:// warehouse put in place of the page's (Trino)")
    p.add_argument("--write-trino-catalogs", metavar="DIR", help="write the page's Trino catalog files into DIR and exit")
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
        # Trino's SQL names catalogs; their files name the endpoint.
        if DOC_URL not in code and not (name.startswith("trino-") and language == "sql"):
            raise AssertionError(f"snippet {name} does not name the endpoint {DOC_URL}")
        code = code.replace(DOC_URL, self.base)
        if name.startswith("trino-"):
            code = self.fill_s3(code)
        return language, code

    def fill_s3(self, code: str) -> str:
        """The test's S3 endpoint, keys and warehouse in place of the page's examples."""
        if self.args.s3_endpoint:
            code = code.replace(DOC_S3_ENDPOINT, self.args.s3_endpoint)
        if self.args.warehouse:
            code = code.replace(DOC_WAREHOUSE, self.args.warehouse.rstrip("/"))
        code = code.replace("s3.region=us-east-1", f"s3.region={os.environ.get('AWS_REGION') or 'us-east-1'}")
        code = code.replace("s3.aws-access-key=...", f"s3.aws-access-key={os.environ.get('AWS_ACCESS_KEY_ID', '')}")
        return code.replace("s3.aws-secret-key=...", f"s3.aws-secret-key={os.environ.get('AWS_SECRET_ACCESS_KEY', '')}")

    def write_trino_catalogs(self, folder: str) -> None:
        """`<folder>/icerelay.properties` and `replica.properties`, as the page says to write them."""
        for snippet, file in (("trino-writer-catalog", "icerelay.properties"), ("trino-replica-catalog", "replica.properties")):
            language, code = self.code(snippet)
            if language != "properties":
                raise SystemExit(f"snippet {snippet} is `{language}`, not `properties`")
            with open(os.path.join(folder, file), "w", encoding="utf-8") as f:
                f.write(code + "\n")

    def run(self, name: str) -> str:
        """Runs a snippet as written; returns what it printed. Fails with its output if it fails."""
        language, code = self.code(name)
        if language == "python":
            with tempfile.TemporaryDirectory(prefix="icerelay-snippet-") as cwd:
                done = subprocess.run([sys.executable, "-c", code], cwd=cwd, capture_output=True, text=True, timeout=self.args.timeout)
            if done.returncode != 0:
                raise AssertionError(f"snippet {name} exited {done.returncode}:\n{done.stdout}\n{done.stderr[-4000:]}")
            return done.stdout
        if language == "sql" and name.startswith("duckdb-"):
            return run_duckdb(code)
        if language == "sql" and name.startswith("trino-"):
            if not self.args.trino_url:
                raise AssertionError("the Trino snippets need --trino-url (conformance/docs/trino.sh starts one)")
            return run_trino(self.args.trino_url, code, self.args.timeout)
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


def run_trino(base: str, sql: str, timeout: float) -> str:
    """Runs the statements one by one through Trino's HTTP protocol; returns the last one's rows."""
    rows: list = []
    for statement in [s.strip() for s in sql.split(";") if s.strip()]:
        rows = trino_statement(base.rstrip("/"), statement, timeout)
    return "\n".join(" ".join(str(v) for v in row) for row in rows)


def trino_statement(base: str, statement: str, timeout: float) -> list:
    headers = {"X-Trino-User": "icerelay-docs"}
    request = urllib.request.Request(f"{base}/v1/statement", data=statement.encode(), headers=headers, method="POST")
    deadline = time.monotonic() + timeout
    answer = json.loads(urllib.request.urlopen(request, timeout=60).read())
    rows: list = []
    while True:
        rows += answer.get("data", [])
        if "error" in answer:
            causes, info = [], answer["error"].get("failureInfo")
            while info:
                causes.append(info.get("message"))
                info = info.get("cause")
            raise AssertionError(f"Trino: {statement}: {answer['error']['message']} (causes: {causes})")
        if "nextUri" not in answer:
            return rows
        if time.monotonic() > deadline:
            raise AssertionError(f"Trino: {statement}: no result within {timeout} s")
        time.sleep(0.05)
        answer = json.loads(urllib.request.urlopen(urllib.request.Request(answer["nextUri"], headers=headers), timeout=60).read())


def main() -> int:
    args = parse_args()
    docs = Docs(args)
    if args.write_trino_catalogs:
        docs.write_trino_catalogs(args.write_trino_catalogs)
        return 0
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
