"""N-commit workload through Icerelay's proxy, checked against the proxy's outbox.

PyIceberg makes N commits on one table (appends, overwrites, deletes, schema, partition-spec and
property changes, a tag) and Spark makes N on another (INSERT, DELETE, UPDATE, MERGE, ALTER TABLE).
Midway, each table also gets one commit that the catalog rejects with 409: two PyIceberg table
objects loaded at the same version both change the schema (the second fails its
assert-current-schema-id), and a plain HTTP commit carries a stale assert-ref-snapshot-id.

Checked against `GET /admin/v1/outbox?table=ns.t` (which lists every event of the table, whatever
its status):
- after every commit: exactly the new metadata files of the table (metadata-log + current, as
  loaded from the catalog) appear as new `committed` events, with those metadata-locations and the
  snapshot ids the commit added;
- after a rejected commit: exactly one new event, `rejected`, with no metadata-location and no
  snapshot ids, and the table's metadata-location is unchanged;
- at the end: the table's events are numbered 1..M without gaps; the `committed` ones are exactly
  one per metadata file (the create, then each commit), in the table's metadata-log order; the
  `rejected` ones are exactly the provoked rejections; nothing else (no intent, unknown); every
  snapshot of the table was announced by exactly one event.

Run through run.sh (it fetches the Iceberg Spark runtime). The catalog URL must be Icerelay's proxy
(the admin API is served on the same port).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import urllib.error
import urllib.parse
import urllib.request

# PySpark turns TIMESTAMP values into naive datetimes in the Python process's zone: make that UTC.
os.environ["TZ"] = "UTC"
time.tzset()
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "common"))

import pyarrow as pa  # noqa: E402
from pyiceberg.exceptions import CommitFailedException  # noqa: E402
from pyiceberg.partitioning import PartitionField, PartitionSpec  # noqa: E402
from pyiceberg.schema import Schema  # noqa: E402
from pyiceberg.serializers import FromInputFile  # noqa: E402
from pyiceberg.transforms import BucketTransform, IdentityTransform  # noqa: E402
from pyiceberg.types import DoubleType, LongType, NestedField, StringType  # noqa: E402

import engines  # noqa: E402
from steprunner import Runner, check  # noqa: E402


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="conformance/workload", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("catalog_url", help="Icerelay proxy base URL, e.g. http://127.0.0.1:8181")
    p.add_argument("--warehouse", help="`warehouse` catalog property (default: not sent)")
    p.add_argument("--s3-endpoint", help="S3-compatible endpoint for data files, e.g. http://127.0.0.1:9000")
    p.add_argument("--commits", type=int, default=int(os.environ.get("WORKLOAD_COMMITS", "12")),
                   help="commits per engine, besides the create (default 12, or WORKLOAD_COMMITS)")
    p.add_argument("--only", action="append", metavar="CHECK", help="run only this check (repeatable)")
    p.add_argument("--keep", action="store_true", help="do not drop the namespace and tables afterwards")
    a = p.parse_args()
    # 100 = the default write.metadata.previous-versions-max: beyond it the metadata-log is cut.
    if not 2 <= a.commits <= 90:
        p.error("--commits must be from 2 to 90")
    a.catalog_url = a.catalog_url.rstrip("/")
    return a


args = parse_args()
NS = engines.unique_name("workload")
PY_TABLE = (NS, "py_events")
SPARK_TABLE = (NS, "spark_events")
runner = Runner("workload")
catalog = None  # connected in setup()
_spark = None  # started by the first Spark check

# Per table: successful commits made (the create included), provoked rejections (their sequences).
made: dict[tuple, int] = {PY_TABLE: 0, SPARK_TABLE: 0}
rejected: dict[tuple, list[int]] = {PY_TABLE: [], SPARK_TABLE: []}

# Of the N commits per engine: FIRST_HALF, then the winning commit of the conflict check, then the rest.
FIRST_HALF = args.commits // 2


# --- catalog and outbox access ----------------------------------------------------------------

def http(method: str, path: str, body: dict | None = None, query: dict | None = None) -> tuple[int, object]:
    url = args.catalog_url + path + ("?" + urllib.parse.urlencode(query) if query else "")
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, method=method,
                                 headers={"Content-Type": "application/json", "Accept": "application/json"})
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


def outbox(table: tuple) -> list[dict]:
    """Every outbox event of the table (the listing is newest-N, oldest first; N covers them all)."""
    status, body = http("GET", "/admin/v1/outbox", query={"table": ".".join(table), "limit": "10000"})
    if status != 200 or not isinstance(body, dict) or not isinstance(body.get("events"), list):
        raise AssertionError(f"GET /admin/v1/outbox?table={'.'.join(table)} answered {status}: {str(body)[:300]}")
    return body["events"]


def last_sequence(table: tuple) -> int:
    events = outbox(table)
    return events[-1]["sequence"] if events else 0


def metadata_files(table: tuple) -> tuple[list[str], object]:
    """The table's metadata files, oldest first (metadata-log, then the current one), and the table."""
    t = catalog.load_table(table)
    return [e.metadata_file for e in t.metadata.metadata_log] + [t.metadata_location], t


_snapshot_cache: dict[str, set[int]] = {}


def snapshots_in(t, location: str) -> set[int]:
    """Snapshot ids in a metadata file, read with the table's FileIO."""
    if location not in _snapshot_cache:
        meta = FromInputFile.table_metadata(t.io.new_input(location))
        _snapshot_cache[location] = {s.snapshot_id for s in meta.snapshots}
    return _snapshot_cache[location]


def describe(e: dict) -> str:
    return (f"#{e.get('sequence')} {e.get('kind')} {e.get('status')} "
            f"{e.get('metadataLocation')} {e.get('addedSnapshotIds')}")


class Tracker:
    """Runs commits on one table and checks, after each, that the outbox got exactly its events."""

    def __init__(self, table: tuple):
        self.table = table
        self.problems: list[str] = []
        self.files, t = metadata_files(table)
        self.snapshots = {s.snapshot_id for s in t.metadata.snapshots}
        self.sequence = last_sequence(table)

    def commit(self, what: str, action) -> None:
        action()
        made[self.table] += 1
        files, t = metadata_files(self.table)
        if files[: len(self.files)] != self.files:
            self.problems.append(f"{what}: the metadata-log no longer starts with the earlier files")
        new_files = files[len(self.files):]
        events = [e for e in outbox(self.table) if e["sequence"] > self.sequence]
        snapshots = {s.snapshot_id for s in t.metadata.snapshots}
        added = sorted(str(s) for s in snapshots - self.snapshots)
        got = [(e["status"], e["kind"], e["metadataLocation"], sorted(e["addedSnapshotIds"])) for e in events]
        want = [("committed", "commit-table", f, []) for f in new_files]
        if want:
            want[-1] = ("committed", "commit-table", new_files[-1], added)
        if len(new_files) != 1:
            self.problems.append(f"{what}: the engine made {len(new_files)} commits (1 expected)")
        if got != want:
            self.problems.append(f"{what}: outbox events {got} != expected {want}")
        print(f"  {what}: {len(new_files)} commit(s), events: {'; '.join(describe(e) for e in events) or 'none'}",
              flush=True)
        self.files, self.snapshots = files, snapshots
        self.sequence = max([self.sequence] + [e["sequence"] for e in events])

    def rejected(self, what: str, attempt) -> None:
        """`attempt` makes a commit the catalog must reject (and raises if it was not rejected)."""
        attempt()
        files, _ = metadata_files(self.table)
        events = [e for e in outbox(self.table) if e["sequence"] > self.sequence]
        got = [(e["sequence"], e["status"], e["kind"], e["metadataLocation"], e["addedSnapshotIds"], e["entity"])
               for e in events]
        entity = {"namespace": list(self.table[:-1]), "name": self.table[-1]}
        want = [(self.sequence + 1, "rejected", "commit-table", None, [], entity)]
        print(f"  {what}: events: {'; '.join(describe(e) for e in events) or 'none'}", flush=True)
        if got != want:
            self.problems.append(f"{what}: outbox events {got} != expected {want}")
        if files != self.files:
            self.problems.append(f"{what}: the rejected commit changed the metadata files: {files[len(self.files) - 1:]}")
        rejected[self.table].append(self.sequence + 1)
        self.sequence = max([self.sequence] + [e["sequence"] for e in events])
        self.files = files

    def done(self) -> None:
        """Raises the problems found since the last call (the commits go on regardless)."""
        problems, self.problems = self.problems, []
        if problems:
            raise AssertionError(f"{len(problems)} problem(s):\n    " + "\n    ".join(problems[:8]))


def outbox_matches_metadata_log(table: tuple) -> None:
    files, t = metadata_files(table)
    events = outbox(table)
    print(f"  {'.'.join(table)}: {len(files)} metadata files, {len(events)} outbox events", flush=True)
    check([e["sequence"] for e in events], list(range(1, len(events) + 1)), "event sequences (1..M, no gaps)")
    check(sorted({e["status"] for e in events} - {"committed", "rejected"}), [], "events neither committed nor rejected")
    committed = [e for e in events if e["status"] == "committed"]
    check(len(files), made[table], "metadata files (create + commits) vs commits the engine made")
    check(len(committed), len(files), "committed events vs metadata files (create + commits)")
    check([e["metadataLocation"] for e in committed], files,
          "metadata-locations of the committed events, in order, vs metadata-log + current")
    check([e["kind"] for e in committed], ["create-table"] + ["commit-table"] * (len(files) - 1),
          "kinds of the committed events")
    check([e["sequence"] for e in events if e["status"] == "rejected"], rejected[table],
          "sequences of rejected events vs the provoked rejections")
    check([e for e in events if e["status"] == "rejected" and (e["metadataLocation"] or e["addedSnapshotIds"])], [],
          "rejected events with a metadata-location or snapshot ids")
    previous: set[int] = set()
    for n, (e, f) in enumerate(zip(committed, files)):
        now = snapshots_in(t, f)
        check(sorted(e["addedSnapshotIds"]), sorted(str(s) for s in now - previous),
              f"snapshot ids of committed event {n} (#{e['sequence']}) vs those its metadata file added")
        previous = now
    announced = [s for e in committed for s in e["addedSnapshotIds"]]
    check(sorted(announced), sorted(str(s.snapshot_id) for s in t.metadata.snapshots),
          "every snapshot of the table announced by exactly one event")


# --- PyIceberg ----------------------------------------------------------------------------------

PY_SCHEMA = Schema(
    NestedField(1, "id", LongType(), required=False),
    NestedField(2, "cat", StringType(), required=False),
    NestedField(3, "amount", DoubleType(), required=False),
)
_py_tracker: Tracker | None = None
_next_id = 0


def py_rows(t, n: int, cat: str) -> pa.Table:
    """n new rows in the table's current schema (columns not set here are null)."""
    global _next_id
    schema = t.schema().as_arrow()
    rows = []
    for _ in range(n):
        _next_id += 1
        values = {"id": _next_id, "cat": cat, "amount": _next_id + 0.5, "value": _next_id + 0.25,
                  "note": f"n{_next_id}"}
        rows.append({name: values.get(name) for name in schema.names})
    return pa.Table.from_pylist(rows, schema=schema)


def py_operations(t) -> list[tuple[str, object]]:
    """The PyIceberg commits, in order; `t` is refreshed by every commit it makes."""
    def set_props(**props):
        with t.transaction() as tx:
            tx.set_properties(**props)

    def add_column(name, typ):
        with t.update_schema() as u:
            u.add_column(name, typ)

    def rename_column(old, new):
        with t.update_schema() as u:
            u.rename_column(old, new)

    def add_bucket():
        with t.update_spec() as u:
            u.add_field("id", BucketTransform(4), "id_bucket")

    def tag(name):
        with t.manage_snapshots() as ms:
            ms.create_tag(t.current_snapshot().snapshot_id, name)

    ops = [
        ("append", lambda: t.append(pa.concat_tables([py_rows(t, 3, "a"), py_rows(t, 3, "b")]))),
        ("overwrite cat = 'a'", lambda: t.overwrite(py_rows(t, 2, "a"), overwrite_filter="cat == 'a'")),
        ("delete cat = 'b' (whole partition)", lambda: t.delete("cat == 'b'")),
        ("add column note", lambda: add_column("note", StringType())),
        ("append with the new column", lambda: t.append(py_rows(t, 2, "c"))),
        ("set properties", lambda: set_props(**{"workload.step": "7"})),
        ("row-level delete", lambda: t.delete(f"id == {_next_id}")),
        ("create tag", lambda: tag("wl_tag")),
        ("rename column amount -> value", lambda: rename_column("amount", "value")),
        ("add partition field bucket(4, id)", add_bucket),
        ("full overwrite", lambda: t.overwrite(py_rows(t, 2, "d"))),
    ]
    while len(ops) < args.commits - 1:
        ops.append(("append", lambda: t.append(py_rows(t, 1, "e"))))
    return ops[: args.commits - 1]


def commit_numbers(half: int) -> range:
    """Numbers of the commits of the first (0) or second (1) half; FIRST_HALF + 1 is the conflict's winner."""
    return range(1, FIRST_HALF + 1) if half == 0 else range(FIRST_HALF + 2, args.commits + 1)


def operations_of(ops: list, half: int) -> list:
    return list(zip(commit_numbers(half), ops[:FIRST_HALF] if half == 0 else ops[FIRST_HALF:]))


def py_commits(half: int) -> None:
    if _py_tracker is None:
        raise AssertionError("the PyIceberg table was not created")
    # py_operations' closures hold this table object: every commit updates it in place.
    for n, (what, action) in operations_of(py_operations(catalog.load_table(PY_TABLE)), half):
        _py_tracker.commit(f"pyiceberg commit {n} ({what})", action)
    _py_tracker.done()


@runner.scenario
def pyiceberg_create():
    global _py_tracker
    catalog.create_table(PY_TABLE, schema=PY_SCHEMA,
                         partition_spec=PartitionSpec(PartitionField(2, 1000, IdentityTransform(), "cat")),
                         properties={"format-version": "2"})
    made[PY_TABLE] += 1
    _py_tracker = Tracker(PY_TABLE)
    events = outbox(PY_TABLE)
    check([(e["sequence"], e["kind"], e["status"], e["metadataLocation"], e["addedSnapshotIds"]) for e in events],
          [(1, "create-table", "committed", _py_tracker.files[0], [])], "outbox events after the create")


@runner.scenario
def pyiceberg_commits_first_half():
    py_commits(0)


@runner.scenario
def pyiceberg_conflict_rejected():
    """Two table objects at the same version change the schema: the first commits, the second gets 409."""
    if _py_tracker is None:
        raise AssertionError("the PyIceberg table was not created")
    winner, loser = catalog.load_table(PY_TABLE), catalog.load_table(PY_TABLE)

    def win():
        with winner.update_schema() as u:
            u.add_column("winner", StringType())

    def lose():
        try:
            with loser.update_schema() as u:
                u.add_column("loser", LongType())
        except CommitFailedException as e:
            print(f"  second schema change refused as expected: {str(e)[:200]}", flush=True)
            return
        raise AssertionError("the second schema change, based on a stale schema, was committed")

    _py_tracker.commit(f"pyiceberg commit {FIRST_HALF + 1} (schema change of the first table object)", win)
    _py_tracker.rejected("pyiceberg schema change of the second table object (stale schema)", lose)
    _py_tracker.done()


@runner.scenario
def pyiceberg_commits_second_half():
    py_commits(1)


@runner.scenario
def pyiceberg_outbox_matches_metadata_log():
    outbox_matches_metadata_log(PY_TABLE)


# --- Spark --------------------------------------------------------------------------------------

SPARK = "wl"
MERGE_ON_READ = ", ".join(f"'write.{op}.mode'='merge-on-read'" for op in ("delete", "update", "merge"))
_spark_tracker: Tracker | None = None


def spark():
    global _spark
    if _spark is None:
        _spark = engines.spark_session(args, catalog=SPARK)
        print(f"  Spark {_spark.version} started", flush=True)
    return _spark


def sql(statement: str):
    return spark().sql(statement)


def st(table: tuple) -> str:
    return f"{SPARK}.{'.'.join(table)}"


def spark_operations() -> list[tuple[str, str]]:
    name = st(SPARK_TABLE)
    ops = [
        ("INSERT", f"INSERT INTO {name} SELECT /*+ REPARTITION(1) */ * FROM VALUES "
                   "(1, 'a'), (2, 'b'), (3, 'c'), (4, 'd'), (5, 'e') AS v(id, data)"),
        ("DELETE (position deletes)", f"DELETE FROM {name} WHERE id = 2"),
        ("UPDATE", f"UPDATE {name} SET data = 'C' WHERE id = 3"),
        ("MERGE", f"""MERGE INTO {name} t USING (SELECT * FROM VALUES (1, 'one'), (4, NULL), (8, 'h') AS s(id, data)) s
                      ON t.id = s.id
                      WHEN MATCHED AND s.data IS NULL THEN DELETE
                      WHEN MATCHED THEN UPDATE SET t.data = s.data
                      WHEN NOT MATCHED THEN INSERT *"""),
        ("ALTER TABLE ADD COLUMNS", f"ALTER TABLE {name} ADD COLUMNS (extra STRING)"),
        ("INSERT with the new column", f"INSERT INTO {name} VALUES (9, 'i', 'x')"),
        ("ALTER TABLE SET TBLPROPERTIES", f"ALTER TABLE {name} SET TBLPROPERTIES ('workload.step'='8')"),
        ("ALTER TABLE RENAME COLUMN", f"ALTER TABLE {name} RENAME COLUMN data TO payload"),
        ("ALTER TABLE ADD PARTITION FIELD", f"ALTER TABLE {name} ADD PARTITION FIELD bucket(4, id)"),
        ("INSERT ... SELECT", f"INSERT INTO {name} SELECT id + 100, upper(payload), extra FROM {name}"),
        ("DELETE (whole files)", f"DELETE FROM {name} WHERE id > 100"),
    ]
    while len(ops) < args.commits - 1:
        n = len(ops)
        ops.append(("INSERT", f"INSERT INTO {name} VALUES ({1000 + n}, 'n{n}', NULL)"))
    return ops[: args.commits - 1]


def spark_commits(half: int) -> None:
    if _spark_tracker is None:
        raise AssertionError("the Spark table was not created")
    for n, (what, statement) in operations_of(spark_operations(), half):
        _spark_tracker.commit(f"spark commit {n} ({what})", lambda s=statement: sql(s).collect())
    _spark_tracker.done()


@runner.scenario
def spark_create():
    global _spark_tracker
    sql(f"CREATE TABLE {st(SPARK_TABLE)} (id BIGINT, data STRING) USING iceberg "
        f"TBLPROPERTIES ('format-version'='2', {MERGE_ON_READ})")
    made[SPARK_TABLE] += 1
    _spark_tracker = Tracker(SPARK_TABLE)
    events = outbox(SPARK_TABLE)
    check([(e["sequence"], e["kind"], e["status"], e["metadataLocation"], e["addedSnapshotIds"]) for e in events],
          [(1, "create-table", "committed", _spark_tracker.files[0], [])], "outbox events after the create")


@runner.scenario
def spark_commits_first_half():
    spark_commits(0)


@runner.scenario
def spark_stale_commit_rejected():
    """Spark moves main; then a plain HTTP commit asserting main's previous snapshot gets 409."""
    if _spark_tracker is None:
        raise AssertionError("the Spark table was not created")
    before = catalog.load_table(SPARK_TABLE)
    stale = before.current_snapshot().snapshot_id if before.current_snapshot() else None
    name = st(SPARK_TABLE)
    _spark_tracker.commit(f"spark commit {FIRST_HALF + 1} (INSERT that moves main)",
                          lambda: sql(f"INSERT INTO {name} SELECT * FROM {name} ORDER BY id LIMIT 1").collect())
    _, config = http("GET", "/v1/config", query={"warehouse": args.warehouse} if args.warehouse else None)
    prefix = ((config or {}).get("overrides") or {}).get("prefix") or ((config or {}).get("defaults") or {}).get("prefix")
    path = "/v1/" + (urllib.parse.quote(prefix, safe="") + "/" if prefix else "") + \
        f"namespaces/{urllib.parse.quote(NS, safe='')}/tables/{SPARK_TABLE[1]}"
    body = {
        "identifier": {"namespace": [NS], "name": SPARK_TABLE[1]},
        "requirements": [
            {"type": "assert-table-uuid", "uuid": str(before.metadata.table_uuid)},
            {"type": "assert-ref-snapshot-id", "ref": "main", "snapshot-id": stale},
        ],
        "updates": [{"action": "set-properties", "updates": {"workload.stale": "true"}}],
    }

    def attempt():
        status, answer = http("POST", path, body)
        print(f"  stale commit answered {status}: {str(answer)[:200]}", flush=True)
        check(status, 409, "HTTP status of a commit with a stale assert-ref-snapshot-id")

    _spark_tracker.rejected("plain HTTP commit with a stale assert-ref-snapshot-id", attempt)
    _spark_tracker.done()


@runner.scenario
def spark_commits_second_half():
    spark_commits(1)


@runner.scenario
def spark_outbox_matches_metadata_log():
    outbox_matches_metadata_log(SPARK_TABLE)


# --- run ----------------------------------------------------------------------------------------

def setup():
    global catalog
    status, _ = http("GET", "/admin/v1/outbox", query={"limit": "1"})
    if status != 200:
        raise SystemExit(f"{args.catalog_url}/admin/v1/outbox answered {status}: is this Icerelay's proxy?")
    catalog = engines.pyiceberg_catalog(args, "workload")
    catalog.create_namespace(NS, {"purpose": "icerelay workload"})
    print(f"namespace {NS} at {args.catalog_url}, {args.commits} commits per engine", flush=True)


def teardown():
    try:
        if catalog and not args.keep:
            engines.drop_run_namespace(catalog, NS)
    finally:
        if _spark is not None:
            engines.stop_spark(_spark)


if __name__ == "__main__":
    sys.exit(runner.run(args.only, setup=setup, teardown=teardown))
