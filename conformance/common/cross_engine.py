"""Cross-engine scenarios: each engine reads exactly what the other wrote, through the same REST catalog.

Run through cross_engine.sh (it fetches the Iceberg runtime jar for Spark).
"""

from __future__ import annotations

import os
import sys
import time
from datetime import date, datetime, timezone
from decimal import Decimal

# PySpark turns TIMESTAMP values into naive datetimes in the Python process's zone: make that UTC.
os.environ["TZ"] = "UTC"
time.tzset()
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import pyarrow as pa  # noqa: E402
from pyiceberg.partitioning import PartitionField, PartitionSpec  # noqa: E402
from pyiceberg.schema import Schema  # noqa: E402
from pyiceberg.transforms import BucketTransform, DayTransform, IdentityTransform  # noqa: E402
from pyiceberg.types import (  # noqa: E402
    BooleanType,
    DateType,
    DecimalType,
    LongType,
    NestedField,
    StringType,
    TimestampType,
    TimestamptzType,
)

import engines  # noqa: E402
from steprunner import Runner, Skip, check  # noqa: E402

args = engines.parse_args("cross-engine", __doc__)
catalog = None  # connected in setup()
spark = None
NS = engines.unique_name("conf_cross")
runner = Runner("cross-engine")

# The same columns on both sides: id, cat, flag, d, ts (no zone), tstz (UTC), amount.
SCHEMA = Schema(
    NestedField(1, "id", LongType(), required=False),
    NestedField(2, "cat", StringType(), required=False),
    NestedField(3, "flag", BooleanType(), required=False),
    NestedField(4, "d", DateType(), required=False),
    NestedField(5, "ts", TimestampType(), required=False),
    NestedField(6, "tstz", TimestamptzType(), required=False),
    NestedField(7, "amount", DecimalType(10, 2), required=False),
)
SPARK_COLUMNS = ("id BIGINT, cat STRING, flag BOOLEAN, d DATE, ts TIMESTAMP_NTZ, tstz TIMESTAMP, "
                 "amount DECIMAL(10,2)")
MERGE_ON_READ = ", ".join(f"'write.{op}.mode'='merge-on-read'" for op in ("delete", "update", "merge"))


def row(i: int, cat: str, *extra) -> tuple:
    """A row with values derived from its id; tstz is UTC."""
    return (i, cat, i % 2 == 0, date(2024, 1, i), datetime(2024, 1, i, 8, 30),
            datetime(2024, 1, i, 9, 45, tzinfo=timezone.utc), Decimal(f"{i}.25")) + extra


def spark_literal(r: tuple) -> str:
    """A row as a Spark SQL VALUES tuple."""
    i, cat, flag, d, ts, tstz, amount, *extra = r
    parts = [str(i), f"'{cat}'", str(flag).lower(), f"DATE '{d}'", f"TIMESTAMP_NTZ '{ts:%Y-%m-%d %H:%M:%S}'",
             f"TIMESTAMP '{tstz:%Y-%m-%d %H:%M:%S}+00:00'", f"CAST({amount} AS DECIMAL(10,2))"]
    parts += ["NULL" if e is None else f"'{e}'" for e in extra]
    return "(" + ", ".join(parts) + ")"


def normalized(rows) -> list[tuple]:
    """Sorted rows with zone-aware datetimes as naive UTC, the form both engines can produce."""
    def norm(v):
        if isinstance(v, datetime) and v.tzinfo is not None:
            return v.astimezone(timezone.utc).replace(tzinfo=None)
        return v
    return engines.sorted_rows(tuple(norm(v) for v in r) for r in rows)


def spark_rows(query: str) -> list[tuple]:
    return normalized(spark.sql(query).collect())


def py_rows(table, **scan) -> list[tuple]:
    return normalized(tuple(r.values()) for r in table.scan(**scan).to_arrow().to_pylist())


def arrow(table, rows: list[tuple]) -> pa.Table:
    schema = table.schema().as_arrow()
    return pa.Table.from_pylist([dict(zip(schema.names, r)) for r in rows], schema=schema)


@runner.scenario
def pyiceberg_writes_spark_reads():
    spec = PartitionSpec(PartitionField(2, 1000, IdentityTransform(), "cat"),
                         PartitionField(5, 1001, DayTransform(), "ts_day"))
    t = catalog.create_table((NS, "from_py"), schema=SCHEMA, partition_spec=spec)
    name = f"rc.{NS}.from_py"
    first = [row(1, "a"), row(2, "a"), row(3, "b")]
    t.append(arrow(t, first))
    s1 = t.current_snapshot().snapshot_id
    check(spark_rows(f"SELECT * FROM {name}"), normalized(first), "Spark reads the first append")

    t.append(arrow(t, [row(4, "b"), row(5, "c")]))
    t.delete("id == 2")
    current = [row(1, "a"), row(3, "b"), row(4, "b"), row(5, "c")]
    check(spark_rows(f"SELECT * FROM {name}"), normalized(current), "Spark reads after append + delete")

    with t.update_schema() as u:
        u.add_column("note", StringType())
    with t.update_spec() as u:
        u.add_field("id", BucketTransform(4), "id_bucket")
    t.append(arrow(t, [row(6, "a", "new")]))
    current = [r + (None,) for r in current] + [row(6, "a", "new")]
    check(spark_rows(f"SELECT * FROM {name}"), normalized(current), "Spark reads after schema and spec change")
    check(spark_rows(f"SELECT id FROM {name} WHERE cat = 'a'"), [(1,), (6,)], "Spark partition-filtered read")
    # Time travel reads with the snapshot's schema: no `note` column yet.
    check(spark_rows(f"SELECT * FROM {name} VERSION AS OF {s1}"), normalized(first),
          "Spark time travel to PyIceberg's first snapshot")


def spark_merge_on_read(version: int, table: str) -> tuple[str, list[tuple], int]:
    """Spark writes a merge-on-read table with row-level deletes; returns (name, rows, first snapshot)."""
    name = f"rc.{NS}.{table}"
    spark.sql(f"CREATE TABLE {name} ({SPARK_COLUMNS}) USING iceberg PARTITIONED BY (cat) "
              f"TBLPROPERTIES ('format-version'='{version}', {MERGE_ON_READ})")
    data = [row(1, "a"), row(2, "a"), row(3, "b"), row(4, "b"), row(5, "b")]
    spark.sql(f"INSERT INTO {name} SELECT /*+ REPARTITION(1) */ * FROM VALUES "
              + ", ".join(spark_literal(r) for r in data))
    first = spark.sql(f"SELECT snapshot_id FROM {name}.refs WHERE name = 'main'").collect()[0][0]
    spark.sql(f"DELETE FROM {name} WHERE id = 2")
    spark.sql(f"UPDATE {name} SET flag = NOT flag WHERE id = 3")
    spark.sql(f"ALTER TABLE {name} ADD COLUMN note STRING")
    spark.sql(f"INSERT INTO {name} VALUES {spark_literal(row(6, 'c', 'new'))}")
    r3 = list(row(3, "b"))
    r3[2] = not r3[2]
    expected = [row(1, "a", None), tuple(r3) + (None,), row(4, "b", None), row(5, "b", None), row(6, "c", "new")]
    check(spark_rows(f"SELECT * FROM {name}"), normalized(expected), "Spark reads its own writes")
    kinds = spark_rows(f"SELECT DISTINCT content FROM {name}.delete_files")
    check(kinds, [(1,)], "Spark wrote position deletes")
    return name, expected, first


@runner.scenario
def spark_writes_pyiceberg_reads_v2():
    name, expected, first = spark_merge_on_read(2, "from_spark_v2")
    t = catalog.load_table((NS, "from_spark_v2"))
    check(py_rows(t), normalized(expected), "PyIceberg reads Spark's rows (position deletes applied)")
    check(py_rows(t, snapshot_id=first),  # with the snapshot's schema: no `note` column yet
          normalized([row(i, c) for i, c in ((1, "a"), (2, "a"), (3, "b"), (4, "b"), (5, "b"))]),
          "PyIceberg time travel to Spark's first snapshot")
    check(py_rows(t, row_filter="cat == 'b'"), normalized([r for r in expected if r[1] == "b"]),
          "PyIceberg filtered read")


@runner.scenario
def spark_writes_pyiceberg_reads_v3_deletion_vectors():
    name, expected, _ = spark_merge_on_read(3, "from_spark_v3")
    check(spark_rows(f"SELECT DISTINCT file_format FROM {name}.delete_files"), [("PUFFIN",)], "deletion vectors")
    t = catalog.load_table((NS, "from_spark_v3"))
    try:
        got = py_rows(t)
    except NotImplementedError as e:  # PyIceberg releases without deletion-vector reads
        raise Skip(f"PyIceberg cannot read deletion vectors: {e}")
    check(got, normalized(expected), "PyIceberg reads Spark's rows (deletion vectors applied)")


@runner.scenario
def branches_both_ways():
    name = f"rc.{NS}.refs"
    spark.sql(f"CREATE TABLE {name} (id BIGINT, cat STRING) USING iceberg TBLPROPERTIES ('format-version'='2')")
    spark.sql(f"INSERT INTO {name} VALUES (1, 'a')")
    spark.sql(f"ALTER TABLE {name} CREATE TAG v1")
    spark.sql(f"ALTER TABLE {name} CREATE BRANCH dev")
    spark.sql(f"INSERT INTO {name}.branch_dev VALUES (2, 'dev')")
    spark.sql(f"INSERT INTO {name} VALUES (3, 'main')")
    t = catalog.load_table((NS, "refs"))
    check(py_rows(t), [(1, "a"), (3, "main")], "PyIceberg reads main")
    check(py_rows(t, snapshot_id=t.snapshot_by_name("dev").snapshot_id), [(1, "a"), (2, "dev")],
          "PyIceberg reads Spark's branch")
    check(py_rows(t, snapshot_id=t.snapshot_by_name("v1").snapshot_id), [(1, "a")], "PyIceberg reads Spark's tag")

    # PyIceberg writes to the existing branch and to main; Spark reads both.
    t.append(pa.Table.from_pylist([{"id": 4, "cat": "py-dev"}], schema=t.schema().as_arrow()), branch="dev")
    t.append(pa.Table.from_pylist([{"id": 5, "cat": "py-main"}], schema=t.schema().as_arrow()))
    check(spark_rows(f"SELECT * FROM {name}.branch_dev"), [(1, "a"), (2, "dev"), (4, "py-dev")],
          "Spark reads PyIceberg's write to the branch")
    check(spark_rows(f"SELECT * FROM {name}"), [(1, "a"), (3, "main"), (5, "py-main")],
          "Spark reads PyIceberg's write to main")
    check(spark_rows(f"SELECT * FROM {name} VERSION AS OF 'v1'"), [(1, "a")], "Spark reads the tag")


def setup():
    global catalog, spark
    catalog = engines.pyiceberg_catalog(args)
    catalog.create_namespace(NS, {"purpose": "icerelay conformance"})
    spark = engines.spark_session(args, catalog="rc")
    print(f"namespace {NS} at {args.catalog_url} (Spark {spark.version})", flush=True)


def teardown():
    try:
        if catalog and not args.keep:
            engines.drop_run_namespace(catalog, NS)
    finally:
        if spark is not None:
            engines.stop_spark(spark)


if __name__ == "__main__":
    sys.exit(runner.run(args.only, setup=setup, teardown=teardown, results_file=args.results_json))
