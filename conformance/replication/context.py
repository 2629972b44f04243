"""What the write scenarios and the checks share: the command line, the catalogs (source through the
proxy, replica at /replicas/<name>), Spark, the tables each scenario made, and the results."""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import traceback
import urllib.error
import urllib.parse
import urllib.request
from collections import Counter
from dataclasses import dataclass, field

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "common"))

import engines  # noqa: E402
from steprunner import Skip  # noqa: E402

SOURCE = "src"  # Spark catalog names
REPLICA = "rep"


@dataclass
class Case:
    """One table a scenario wrote, and what the checks need to know about it."""

    scenario: str
    source: tuple[str, ...]  # identifier at the source (namespace levels + name)
    spark_rows: bool = False  # also compare rows read by Spark (position deletes, deletion vectors)
    renamed_from: tuple[str, ...] | None = None  # the name it had before a rename
    # Recorded before the source expired snapshots: snapshot id -> snapshot (as dumped), and the rows.
    expired: dict[int, dict] = field(default_factory=dict)
    expired_log: list[tuple[int, int]] = field(default_factory=list)  # (snapshot id, timestamp) entries
    recorded_rows: dict[int, dict[str, list]] = field(default_factory=dict)  # id -> engine -> rows

    @property
    def label(self) -> str:
        return ".".join(self.source[1:])  # without the run namespace


@dataclass
class Result:
    subject: str
    check: str
    status: str  # PASS, FAIL, SKIP
    seconds: float
    detail: str


class Context:
    def __init__(self, args: argparse.Namespace, namespace: str):
        self.args = args
        self.ns = namespace
        self.cases: list[Case] = []
        self.namespaces: list[tuple[str, ...]] = []  # namespaces whose properties are checked
        self.results: list[Result] = []
        self.source = None  # PyIceberg catalogs, connected by setup()
        self.replica = None
        self._spark = None

    # --- names -------------------------------------------------------------------------------------

    def ident(self, *parts: str) -> tuple[str, ...]:
        return (self.ns, *parts)

    def replica_ident(self, source: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(self.args.replica_namespace_prefix) + tuple(source)

    def add_case(self, scenario: str, *parts: str, **kw) -> Case:
        case = Case(scenario, self.ident(*parts), **kw)
        self.cases.append(case)
        return case

    @staticmethod
    def spark_name(catalog: str, ident: tuple[str, ...]) -> str:
        return ".".join([catalog, *(f"`{p}`" for p in ident)])

    def src(self, *parts: str) -> str:
        """A source table's name in Spark SQL."""
        return self.spark_name(SOURCE, self.ident(*parts))

    # --- engines -----------------------------------------------------------------------------------

    def replica_args(self) -> argparse.Namespace:
        a = self.args
        return argparse.Namespace(catalog_url=a.replica_url, warehouse=None,
                                  s3_endpoint=a.replica_s3_endpoint or a.s3_endpoint)

    def connect(self) -> None:
        self.source = engines.pyiceberg_catalog(self.args, "source")
        self.replica = engines.pyiceberg_catalog(self.replica_args(), "replica")

    @property
    def spark(self):
        """One Spark session with two catalogs: `src` (the proxy) and `rep` (the replica)."""
        if self._spark is None:
            spark = engines.spark_session(self.args, catalog=SOURCE)
            props = engines.catalog_props(self.replica_args())
            if self.args.dest_prefix.startswith(("s3://", "s3a://")):
                props["io-impl"] = "org.apache.iceberg.aws.s3.S3FileIO"
            spark.conf.set(f"spark.sql.catalog.{REPLICA}", "org.apache.iceberg.spark.SparkCatalog")
            spark.conf.set(f"spark.sql.catalog.{REPLICA}.type", "rest")
            spark.conf.set(f"spark.sql.catalog.{REPLICA}.cache-enabled", "false")
            for k, v in props.items():
                spark.conf.set(f"spark.sql.catalog.{REPLICA}.{k}", v)
            print(f"  Spark {spark.version} started", flush=True)
            self._spark = spark
        return self._spark

    def sql(self, statement: str):
        return self.spark.sql(statement)

    def stop(self) -> None:
        if self._spark is not None:
            engines.stop_spark(self._spark)
            self._spark = None

    # --- waiting for replication -------------------------------------------------------------------

    def wait_replicated(self, cases: list[Case] | None = None, why: str = "") -> dict[tuple, dict]:
        """Polls GET /admin/v1/replication/status until the given tables (None: every table and
        namespace of the run) are settled: `completed`, `failed` or `paused`, or failed
        --give-up-after times in a row; at most --timeout seconds. Returns entity (namespace levels
        + name) -> its status entry for the replica."""
        args = self.args
        deadline = time.monotonic() + args.timeout
        if cases is not None:
            wanted = {c.source for c in cases}
        else:  # the run's tables (those the scenarios got to create), and whatever else the run recorded
            wanted = {c.source for c in self.cases if self.source.table_exists(c.source)}
        print(f"waiting for the replication of {len(wanted) if cases is not None else 'every table and namespace'} "
              f"of the run to {args.replica}{' (' + why + ')' if why else ''}", flush=True)
        last_print = 0.0
        while True:
            code, body = self.http_json(args.catalog_url + "/admin/v1/replication/status")
            if code != 200 or not isinstance(body, dict):
                raise AssertionError(f"GET /admin/v1/replication/status answered {code}: {str(body)[:300]}")
            states = {entity_of(t): t for t in body.get("tables", [])
                      if t.get("destination") == args.replica and t["entity"]["namespace"][:1] == [self.ns]}
            watched = set(wanted) | (set(states) if cases is None else set())
            unsettled = sorted(w for w in watched if not settled(states.get(w), args.give_up_after))
            now = time.monotonic()
            if not unsettled or now >= deadline:
                break
            if now - last_print >= 10:
                counts = Counter((states[w]["state"] if w in states else "not listed yet") for w in watched)
                print(f"  {len(unsettled)} of {len(watched)} not settled yet "
                      f"({', '.join(f'{n} {k}' for k, n in sorted(counts.items()))})", flush=True)
                last_print = now
            time.sleep(0.5)
        not_done = sorted(w for w in watched if (states.get(w) or {}).get("state") != "completed")
        if not not_done:
            print(f"  all {len(watched)} completed", flush=True)
        else:
            timed_out = f" (gave up waiting after {args.timeout:g} s)" if unsettled else ""
            print(f"  not completed{timed_out}:", flush=True)
            for w in not_done:
                s = states.get(w)
                print(f"    {'.'.join(w)}: {describe_state(s) if s else 'no replication status'}", flush=True)
        return states

    # --- HTTP (admin API, raw load results) -----------------------------------------------------------

    def http_json(self, url: str, query: dict | None = None) -> tuple[int, object]:
        if query:
            url += "?" + urllib.parse.urlencode(query)
        req = urllib.request.Request(url, headers={"Accept": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=60) as r:
                raw = r.read()
                return r.status, json.loads(raw) if raw else None
        except urllib.error.HTTPError as e:
            raw = e.read()
            try:
                return e.code, json.loads(raw) if raw else None
            except ValueError:
                return e.code, raw.decode("utf8", "replace")

    # --- results -----------------------------------------------------------------------------------

    def record(self, subject: str, check: str, fn) -> bool:
        """Runs one check (fn raises AssertionError/any error to fail, Skip to skip); True if it passed."""
        start = time.monotonic()
        try:
            detail = fn() or ""
            status = "PASS"
        except Skip as e:
            status, detail = "SKIP", str(e)
        except Exception as e:  # any error is a failed check; the run goes on
            traceback.print_exc()
            status, detail = "FAIL", f"{type(e).__name__}: {e}"
        self.results.append(Result(subject, check, status, time.monotonic() - start, str(detail)))
        first = str(detail).splitlines()[0] if detail else ""
        print(f"--- {subject} / {check}: {status} {first[:300]}", flush=True)
        return status == "PASS"

    def report(self) -> int:
        results = self.results
        sw = max([len(r.subject) for r in results] + [7])
        cw = max([len(r.check) for r in results] + [5])
        print()
        print(f"{'subject'.ljust(sw)}  {'check'.ljust(cw)}  result  seconds  detail")
        for r in results:
            first = r.detail.splitlines()[0] if r.detail else ""
            print(f"{r.subject.ljust(sw)}  {r.check.ljust(cw)}  {r.status.ljust(6)}  {r.seconds:7.1f}  {first[:160]}")
        passed = sum(1 for r in results if r.status == "PASS")
        failed = sum(1 for r in results if r.status == "FAIL")
        skipped = sum(1 for r in results if r.status == "SKIP")
        if self.args.report:
            with open(self.args.report, "w") as f:
                json.dump({
                    "icerelay": self.args.catalog_url, "replica": self.args.replica,
                    "replicaUrl": self.args.replica_url, "destPrefix": self.args.dest_prefix,
                    "namespace": self.ns,
                    "summary": {"passed": passed, "failed": failed, "skipped": skipped},
                    "results": [r.__dict__ for r in results],
                }, f, indent=2)
                f.write("\n")
        print()
        print(f"replication: {passed} passed, {failed} failed, {skipped} skipped", flush=True)
        return 1 if failed or not passed else 0


def entity_of(status: dict) -> tuple[str, ...]:
    """A status entry's entity as namespace levels (+ table name)."""
    e = status["entity"]
    return tuple(e["namespace"]) + ((e["name"],) if e.get("name") is not None else ())


def settled(status: dict | None, give_up_after: int) -> bool:
    """Nothing more to wait for: completed, failed or paused, or failing again and again."""
    if status is None:
        return False
    if status["state"] in ("completed", "failed", "paused"):
        return True
    return bool(status.get("lastError")) and (status.get("attempts") or 0) >= give_up_after


def describe_state(state: dict) -> str:
    return (f"{state['state']}, {state.get('eventsBehind')} events behind, {state.get('attempts')} attempts; "
            f"lastError: {state.get('lastError')}")
