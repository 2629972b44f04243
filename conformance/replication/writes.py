"""The write scenarios: PyIceberg and Spark commits through Icerelay's proxy, in the run's namespace.

Each scenario makes one or more tables (registered as `Case`s for the checks) and checks just enough
of what it wrote to be sure it covers what it says (e.g. that a merge-on-read DELETE really wrote
position deletes); whether the replica is faithful is for verify.py to say.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Callable

import pyarrow as pa
from pyiceberg.expressions import EqualTo
from pyiceberg.partitioning import PartitionField, PartitionSpec
from pyiceberg.schema import Schema
from pyiceberg.table.sorting import NullOrder, SortDirection, SortField, SortOrder
from pyiceberg.transforms import BucketTransform, DayTransform, IdentityTransform
from pyiceberg.types import DoubleType, FloatType, IntegerType, LongType, NestedField, StringType, TimestampType

import engines
import verify
from context import Context, describe_state
from steprunner import check

SCENARIOS: list[tuple[str, str, Callable[[Context], None]]] = []  # (name, engine, function)


def scenario(engine: str):
    def register(fn: Callable[[Context], None]):
        SCENARIOS.append((fn.__name__, engine, fn))
        return fn
    return register


# --- PyIceberg ------------------------------------------------------------------------------------

EVENTS = Schema(
    NestedField(1, "id", LongType(), required=False),
    NestedField(2, "category", StringType(), required=False),
    NestedField(3, "ts", TimestampType(), required=False),
    NestedField(4, "amount", DoubleType(), required=False),
)
BY_CATEGORY = PartitionSpec(PartitionField(2, 1000, IdentityTransform(), "category"))


def ev(i: int, cat: str, day: int = 1) -> tuple:
    return (i, cat, datetime(2024, 1, day, 12, 0), i + 0.5)


def arrow(table, rows: list[tuple]) -> pa.Table:
    """Rows (tuples in schema order) in the current schema of a table or transaction."""
    schema = (table.table_metadata.schema() if hasattr(table, "table_metadata") else table.schema()).as_arrow()
    return pa.Table.from_pylist([dict(zip(schema.names, r)) for r in rows], schema=schema)


def py_rows(table) -> list[tuple]:
    return verify.pyiceberg_rows(table, None)


@scenario("pyiceberg")
def py_partitioned_and_sorted(ctx: Context):
    """Identity + bucket + day partitioning; a sort order, then a sort order change."""
    spec = PartitionSpec(
        PartitionField(2, 1000, IdentityTransform(), "category"),
        PartitionField(1, 1001, BucketTransform(4), "id_bucket"),
        PartitionField(3, 1002, DayTransform(), "ts_day"),
    )
    data = [ev(1, "a", 1), ev(2, "a", 2), ev(3, "b", 1), ev(4, "b", 1)]
    ctx.add_case("py_partitioned_and_sorted", "py_partitioned")
    t = ctx.source.create_table(ctx.ident("py_partitioned"), schema=EVENTS, partition_spec=spec)
    t.append(arrow(t, data))
    t.append(arrow(t, [ev(5, "c", 3)]))

    ctx.add_case("py_partitioned_and_sorted", "py_sorted")
    order = SortOrder(SortField(source_id=1, transform=IdentityTransform(), direction=SortDirection.DESC,
                                null_order=NullOrder.NULLS_LAST))
    s = ctx.source.create_table(ctx.ident("py_sorted"), schema=EVENTS, sort_order=order)
    s.append(arrow(s, data))
    with s.update_sort_order() as u:
        u.asc("category", IdentityTransform())
        u.desc("ts", DayTransform())
    s.append(arrow(s, [ev(6, "d", 4)]))
    check(len(s.sort_orders()), 2, "sort orders after the change")


@scenario("pyiceberg")
def py_append_overwrite_delete(ctx: Context):
    """The PyIceberg sequence: appends, full and filtered overwrites, partition and row deletes, a tag and a branch."""
    ctx.add_case("py_append_overwrite_delete", "py_sequence")
    t = ctx.source.create_table(ctx.ident("py_sequence"), schema=EVENTS, partition_spec=BY_CATEGORY,
                                properties={"format-version": "2", "write.delete.mode": "merge-on-read"})
    t.append(arrow(t, [ev(1, "a"), ev(2, "b")]))
    t.append(arrow(t, [ev(3, "a"), ev(4, "c")]))
    t.overwrite(arrow(t, [ev(10, "c")]))
    t.append(arrow(t, [ev(1, "a"), ev(2, "a"), ev(3, "b"), ev(4, "b"), ev(5, "c")]))
    t.overwrite(arrow(t, [ev(20, "a")]), overwrite_filter=EqualTo("category", "a"))  # whole files
    t.overwrite(arrow(t, [ev(30, "b")]), overwrite_filter="id == 3")  # a file rewritten without the row
    t.delete("category == 'c'")  # whole partition
    t.delete("id == 4")  # part of a file
    with t.transaction() as tx:
        tx.set_properties(**{"replication.step": "9", "owner": "conformance"})
    with t.manage_snapshots() as ms:
        ms.create_tag(t.current_snapshot().snapshot_id, "py_tag")
    with t.manage_snapshots() as ms:
        ms.create_branch(t.current_snapshot().snapshot_id, "py_branch")
    t.append(arrow(t, [ev(40, "d")]), branch="py_branch")
    t.append(arrow(t, [ev(50, "e")]))
    check(py_rows(t), engines.sorted_rows([ev(20, "a"), ev(30, "b"), ev(50, "e")]), "rows at the end")


@scenario("pyiceberg")
def py_schema_evolution(ctx: Context):
    """Add, rename and drop columns; widen int -> long and float -> double."""
    ctx.add_case("py_schema_evolution", "py_evolving")
    schema = Schema(
        NestedField(1, "id", IntegerType(), required=False),
        NestedField(2, "name", StringType(), required=False),
        NestedField(3, "score", FloatType(), required=False),
        NestedField(4, "drop_me", StringType(), required=False),
    )
    t = ctx.source.create_table(ctx.ident("py_evolving"), schema=schema)
    t.append(arrow(t, [(1, "a", 1.5, "x"), (2, "b", 2.25, "y")]))
    with t.update_schema() as u:
        u.add_column("extra", StringType())
    t.append(arrow(t, [(3, "c", 3.75, "z", "e3")]))
    with t.update_schema() as u:
        u.rename_column("name", "full_name")
    with t.update_schema() as u:
        u.delete_column("drop_me")
    t.append(arrow(t, [(4, "d", 4.5, "e4")]))
    with t.update_schema() as u:
        u.update_column("id", LongType())
        u.update_column("score", DoubleType())
    t.append(arrow(t, [(2**40, "e", 0.1, "e5")]))
    check(len(t.schemas()), 5, "schemas after 4 changes")


@scenario("pyiceberg")
def py_partition_evolution(ctx: Context):
    """Add a partition field, then drop the first one."""
    ctx.add_case("py_partition_evolution", "py_spec_evolution")
    t = ctx.source.create_table(ctx.ident("py_spec_evolution"), schema=EVENTS, partition_spec=BY_CATEGORY)
    t.append(arrow(t, [ev(1, "a"), ev(2, "b")]))
    with t.update_spec() as u:
        u.add_field("id", BucketTransform(4), "id_bucket")
    t.append(arrow(t, [ev(3, "a"), ev(4, "c")]))
    with t.update_spec() as u:
        u.remove_field("category")
    t.append(arrow(t, [ev(5, "e")]))
    check(len(t.specs()), 3, "partition specs")


@scenario("pyiceberg")
def py_staged_create(ctx: Context):
    """create_table_transaction: stage-create, then one commit with the first append."""
    ctx.add_case("py_staged_create", "py_staged")
    with ctx.source.create_table_transaction(ctx.ident("py_staged"), schema=EVENTS, partition_spec=BY_CATEGORY) as tx:
        tx.append(arrow(tx, [ev(1, "a"), ev(2, "b")]))
    t = ctx.source.load_table(ctx.ident("py_staged"))
    t.append(arrow(t, [ev(3, "c")]))


@scenario("pyiceberg")
def py_rename_table(ctx: Context):
    """A table renamed after its first commits, then written under its new name."""
    ctx.add_case("py_rename_table", "py_after_rename", renamed_from=ctx.ident("py_before_rename"))
    t = ctx.source.create_table(ctx.ident("py_before_rename"), schema=EVENTS)
    t.append(arrow(t, [ev(1, "a")]))
    t.append(arrow(t, [ev(2, "b")]))
    ctx.source.rename_table(ctx.ident("py_before_rename"), ctx.ident("py_after_rename"))
    t = ctx.source.load_table(ctx.ident("py_after_rename"))
    t.append(arrow(t, [ev(3, "c")]))


@scenario("pyiceberg")
def py_namespaces(ctx: Context):
    """Namespace properties (set, updated, removed), a nested namespace with a table."""
    inner = ctx.ident("inner")
    ctx.source.update_namespace_properties((ctx.ns,), updates={"team": "replication", "comment": "to be removed"})
    ctx.source.update_namespace_properties((ctx.ns,), removals={"comment"}, updates={"team": "replication-2"})
    ctx.source.create_namespace(inner, {"owner": "conformance", "level": "2", "gone": "soon"})
    ctx.source.update_namespace_properties(inner, removals={"gone"}, updates={"level": "two", "added": "1"})
    ctx.namespaces += [(ctx.ns,), inner]
    ctx.add_case("py_namespaces", "inner", "py_nested")
    t = ctx.source.create_table(inner + ("py_nested",), schema=EVENTS)
    t.append(arrow(t, [ev(1, "a"), ev(2, "b")]))


# --- Spark ----------------------------------------------------------------------------------------

MERGE_ON_READ = ", ".join(f"'write.{op}.mode'='merge-on-read'" for op in ("delete", "update", "merge"))


def sql_rows(ctx: Context, query: str) -> list[tuple]:
    return engines.sorted_rows(ctx.sql(query).collect())


@scenario("spark")
def spark_format_versions(ctx: Context):
    """CREATE TABLE v2 and v3 (row lineage), INSERT, INSERT ... SELECT."""
    for version in (2, 3):
        ctx.add_case("spark_format_versions", f"fmt_v{version}")
        name = ctx.src(f"fmt_v{version}")
        ctx.sql(f"CREATE TABLE {name} (id BIGINT, data STRING) USING iceberg "
                f"TBLPROPERTIES ('format-version'='{version}')")
        ctx.sql(f"INSERT INTO {name} VALUES (1, 'a'), (2, 'b')")
        ctx.sql(f"INSERT INTO {name} SELECT id + 10, upper(data) FROM {name}")


@scenario("spark")
def spark_insert_overwrite(ctx: Context):
    """Dynamic INSERT OVERWRITE of a partitioned table."""
    ctx.add_case("spark_insert_overwrite", "spark_partitioned")
    name = ctx.src("spark_partitioned")
    ctx.sql(f"CREATE TABLE {name} (id BIGINT, cat STRING) USING iceberg PARTITIONED BY (cat)")
    ctx.sql(f"INSERT INTO {name} VALUES (1, 'a'), (2, 'a'), (3, 'b')")
    ctx.spark.conf.set("spark.sql.sources.partitionOverwriteMode", "dynamic")
    try:
        ctx.sql(f"INSERT OVERWRITE {name} VALUES (9, 'a')")
    finally:
        ctx.spark.conf.unset("spark.sql.sources.partitionOverwriteMode")
    check(sql_rows(ctx, f"SELECT * FROM {name}"), [(3, "b"), (9, "a")], "rows after dynamic overwrite")


@scenario("spark")
def spark_ctas_rtas(ctx: Context):
    """CTAS (staged create), then CREATE OR REPLACE and REPLACE ... AS SELECT (new schemas, same table)."""
    ctx.add_case("spark_ctas_rtas", "ctas")
    name = ctx.src("ctas")
    ctx.sql(f"CREATE TABLE {name} USING iceberg TBLPROPERTIES ('format-version'='2') "
            f"AS SELECT * FROM VALUES (1, 'x'), (2, 'y') AS v(id, data)")
    ctx.sql(f"CREATE OR REPLACE TABLE {name} USING iceberg AS SELECT 'z' AS data, 3L AS id, true AS flag")
    ctx.sql(f"REPLACE TABLE {name} USING iceberg AS SELECT 4L AS id")
    check(sql_rows(ctx, f"SELECT * FROM {name}"), [(4,)], "rows after REPLACE")


def merge_on_read(ctx: Context, scenario_name: str, table: str, version: int, delete_format: str) -> None:
    ctx.add_case(scenario_name, table, spark_rows=True)
    name = ctx.src(table)
    ctx.sql(f"CREATE TABLE {name} (id BIGINT, data STRING) USING iceberg "
            f"TBLPROPERTIES ('format-version'='{version}', {MERGE_ON_READ})")
    # One data file, so deletes of single rows are row-level (no whole-file drop).
    ctx.sql(f"INSERT INTO {name} SELECT /*+ REPARTITION(1) */ * FROM VALUES "
            f"(1, 'a'), (2, 'b'), (3, 'c'), (4, 'd'), (5, 'e') AS v(id, data)")
    ctx.sql(f"DELETE FROM {name} WHERE id = 2")
    ctx.sql(f"UPDATE {name} SET data = 'C' WHERE id = 3")
    ctx.sql(f"""MERGE INTO {name} t USING (SELECT * FROM VALUES (1, 'one'), (4, NULL), (6, 'f') AS s(id, data)) s
                ON t.id = s.id
                WHEN MATCHED AND s.data IS NULL THEN DELETE
                WHEN MATCHED THEN UPDATE SET t.data = s.data
                WHEN NOT MATCHED THEN INSERT *""")
    check(sql_rows(ctx, f"SELECT * FROM {name}"), [(1, "one"), (3, "C"), (5, "e"), (6, "f")], "rows after MERGE")
    check(sql_rows(ctx, f"SELECT DISTINCT content, file_format FROM {name}.delete_files"), [(1, delete_format)],
          "kinds of delete files (content 1: position deletes)")


@scenario("spark")
def spark_mor_v2_position_deletes(ctx: Context):
    """Merge-on-read DELETE, UPDATE, MERGE on a v2 table: position-delete Parquet files."""
    merge_on_read(ctx, "spark_mor_v2_position_deletes", "mor_v2", 2, "PARQUET")


@scenario("spark")
def spark_mor_v3_deletion_vectors(ctx: Context):
    """Merge-on-read DELETE, UPDATE, MERGE on a v3 table: deletion vectors in Puffin files."""
    merge_on_read(ctx, "spark_mor_v3_deletion_vectors", "mor_v3", 3, "PUFFIN")


@scenario("spark")
def spark_schema_partition_sort_evolution(ctx: Context):
    """ADD/RENAME/DROP COLUMN, type widening, ADD/REPLACE/DROP PARTITION FIELD, WRITE ORDERED BY."""
    ctx.add_case("spark_schema_partition_sort_evolution", "spark_evolving")
    name = ctx.src("spark_evolving")
    ctx.sql(f"CREATE TABLE {name} (id INT, name STRING, score FLOAT, ts TIMESTAMP, gone STRING) USING iceberg "
            "TBLPROPERTIES ('format-version'='2')")
    ctx.sql(f"INSERT INTO {name} VALUES (1, 'a', 1.5, TIMESTAMP '2024-01-01 10:00:00', 'g')")
    ctx.sql(f"ALTER TABLE {name} ADD COLUMNS (extra STRING)")
    ctx.sql(f"ALTER TABLE {name} RENAME COLUMN name TO full_name")
    ctx.sql(f"ALTER TABLE {name} DROP COLUMN gone")
    ctx.sql(f"ALTER TABLE {name} ALTER COLUMN id TYPE BIGINT")
    ctx.sql(f"ALTER TABLE {name} ALTER COLUMN score TYPE DOUBLE")
    ctx.sql(f"INSERT INTO {name} VALUES (2, 'b', 2.5, TIMESTAMP '2024-01-02 10:00:00', 'x')")
    ctx.sql(f"ALTER TABLE {name} ADD PARTITION FIELD bucket(4, id)")
    ctx.sql(f"INSERT INTO {name} VALUES (3, 'c', 3.5, TIMESTAMP '2024-01-03 10:00:00', 'y')")
    ctx.sql(f"ALTER TABLE {name} ADD PARTITION FIELD days(ts) AS ts_day")
    ctx.sql(f"INSERT INTO {name} VALUES (4, 'd', 4.5, TIMESTAMP '2024-02-04 10:00:00', 'z')")
    ctx.sql(f"ALTER TABLE {name} REPLACE PARTITION FIELD ts_day WITH months(ts) AS ts_month")
    ctx.sql(f"INSERT INTO {name} VALUES (5, 'e', 5.5, TIMESTAMP '2024-03-05 10:00:00', 'w')")
    ctx.sql(f"ALTER TABLE {name} DROP PARTITION FIELD bucket(4, id)")
    ctx.sql(f"ALTER TABLE {name} WRITE ORDERED BY id DESC NULLS LAST")
    ctx.sql(f"INSERT INTO {name} VALUES (6, 'f', 6.5, TIMESTAMP '2024-03-06 10:00:00', 'v')")
    ctx.sql(f"ALTER TABLE {name} WRITE LOCALLY ORDERED BY full_name, ts")
    ctx.sql(f"INSERT INTO {name} VALUES (7, 'g', 7.5, TIMESTAMP '2024-04-07 10:00:00', 'u')")
    t = ctx.source.load_table(ctx.ident("spark_evolving"))
    check((len(t.schemas()) >= 6, len(t.specs()) >= 5, len(t.sort_orders()) >= 3), (True, True, True),
          f"schemas ({len(t.schemas())}), specs ({len(t.specs())}), sort orders ({len(t.sort_orders())})")


@scenario("spark")
def spark_branches_and_tags(ctx: Context):
    """Tag, branch, write to the branch, WAP branch, fast_forward, a tag with retention, a dropped branch."""
    ctx.add_case("spark_branches_and_tags", "refs")
    name = ctx.src("refs")
    ident = f"{ctx.ns}.refs"
    ctx.sql(f"CREATE TABLE {name} (id BIGINT) USING iceberg TBLPROPERTIES ('format-version'='2')")
    ctx.sql(f"INSERT INTO {name} VALUES (1)")
    ctx.sql(f"ALTER TABLE {name} CREATE TAG v1")
    ctx.sql(f"ALTER TABLE {name} CREATE BRANCH dev")
    ctx.sql(f"INSERT INTO {name}.branch_dev VALUES (2)")
    ctx.sql(f"INSERT INTO {name} VALUES (3)")
    ctx.sql(f"ALTER TABLE {name} SET TBLPROPERTIES ('write.wap.enabled'='true')")
    ctx.sql(f"ALTER TABLE {name} CREATE BRANCH audit")
    ctx.spark.conf.set("spark.wap.branch", "audit")
    try:
        ctx.sql(f"INSERT INTO {name} VALUES (4)")
    finally:
        ctx.spark.conf.unset("spark.wap.branch")
    ctx.sql(f"CALL src.system.fast_forward('{ident}', 'main', 'audit')")
    ctx.sql(f"ALTER TABLE {name} CREATE TAG v2 RETAIN 7 DAYS")
    ctx.sql(f"ALTER TABLE {name} CREATE BRANCH scratch")
    ctx.sql(f"ALTER TABLE {name} DROP BRANCH scratch")
    ctx.sql(f"ALTER TABLE {name} CREATE BRANCH kept WITH SNAPSHOT RETENTION 3 SNAPSHOTS")
    check(sql_rows(ctx, f"SELECT name, type FROM {name}.refs"),
          [("audit", "BRANCH"), ("dev", "BRANCH"), ("kept", "BRANCH"), ("main", "BRANCH"), ("v1", "TAG"), ("v2", "TAG")],
          "refs")
    check(sql_rows(ctx, f"SELECT * FROM {name}"), [(1,), (3,), (4,)], "main after fast_forward")


@scenario("spark")
def spark_time_travel_rollback(ctx: Context):
    """Inserts, a DELETE and an UPDATE, then rollback_to_snapshot: main points to an older snapshot."""
    ctx.add_case("spark_time_travel_rollback", "travel")
    name = ctx.src("travel")
    ctx.sql(f"CREATE TABLE {name} (id BIGINT, data STRING) USING iceberg")
    ctx.sql(f"INSERT INTO {name} VALUES (1, 'a')")
    ctx.sql(f"INSERT INTO {name} VALUES (2, 'b'), (3, 'c')")
    second = ctx.sql(f"SELECT snapshot_id FROM {name}.refs WHERE name = 'main'").collect()[0][0]
    ctx.sql(f"DELETE FROM {name} WHERE id = 2")
    ctx.sql(f"UPDATE {name} SET data = 'z' WHERE id = 1")
    ctx.sql(f"CALL src.system.rollback_to_snapshot('{ctx.ns}.travel', {second})")
    check(sql_rows(ctx, f"SELECT * FROM {name}"), [(1, "a"), (2, "b"), (3, "c")], "rows after rollback")


@scenario("spark")
def spark_statistics(ctx: Context):
    """compute_table_stats (a Puffin statistics file) and compute_partition_stats."""
    ctx.add_case("spark_statistics", "stats")
    name = ctx.src("stats")
    ctx.sql(f"CREATE TABLE {name} (id BIGINT, cat STRING) USING iceberg PARTITIONED BY (cat) "
            "TBLPROPERTIES ('format-version'='2')")
    ctx.sql(f"INSERT INTO {name} VALUES (1, 'a'), (2, 'a'), (3, 'b')")
    ctx.sql(f"CALL src.system.compute_table_stats(table => '{ctx.ns}.stats')").collect()
    ctx.sql(f"INSERT INTO {name} VALUES (4, 'c')")
    ctx.sql(f"CALL src.system.compute_table_stats(table => '{ctx.ns}.stats')").collect()
    ctx.sql(f"CALL src.system.compute_partition_stats(table => '{ctx.ns}.stats')").collect()
    t = ctx.source.load_table(ctx.ident("stats"))
    check((len(t.metadata.statistics), len(t.metadata.partition_statistics)), (2, 1),
          "statistics and partition statistics files")


@scenario("spark")
def spark_expire_snapshots(ctx: Context):
    """expire_snapshots at the source (retain_last 2) once the replica has every snapshot; it keeps them.

    Before: inserts, a copy-on-write DELETE, compaction (rewrite_data_files); after: one more insert.
    """
    case = ctx.add_case("spark_expire_snapshots", "expiring")
    name = ctx.src("expiring")
    ident = f"{ctx.ns}.expiring"
    ctx.sql(f"CREATE TABLE {name} (id BIGINT, data STRING) USING iceberg TBLPROPERTIES ('format-version'='2')")
    for i in range(1, 5):
        ctx.sql(f"INSERT INTO {name} VALUES ({i}, 'v{i}'), ({i + 100}, 'w{i}')")
    ctx.sql(f"DELETE FROM {name} WHERE id = 102")
    ctx.sql(f"CALL src.system.rewrite_data_files(table => '{ident}', options => map('min-input-files', '2'))").collect()
    ctx.sql(f"INSERT INTO {name} VALUES (5, 'v5')")
    t = ctx.source.load_table(ctx.ident("expiring"))
    before = len(t.snapshots())
    # Expiring at the source deletes the expired snapshots' files: the replica must have them first.
    states = ctx.wait_replicated([case], why="before expiring snapshots at the source")
    state = states.get(case.source)
    if not state or state["state"] != "completed":
        raise AssertionError("the table did not replicate before the expiry: "
                             f"{describe_state(state) if state else 'no replication status'}")
    verify.record_history(ctx, case)
    older_than = (datetime.now(timezone.utc) + timedelta(seconds=1)).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]
    ctx.sql(f"CALL src.system.expire_snapshots(table => '{ident}', older_than => TIMESTAMP '{older_than}', "
            "retain_last => 2)").collect()
    ctx.sql(f"INSERT INTO {name} VALUES (6, 'v6')")
    t = ctx.source.load_table(ctx.ident("expiring"))
    gone = [s for s in case.expired if t.snapshot_by_id(s) is None]
    check(len(t.snapshots()), 3, f"snapshots at the source after expiring {before} down to 2 and one more insert")
    for snapshot_id in list(case.expired):  # keep only what the source really expired
        if snapshot_id not in gone:
            del case.expired[snapshot_id]
    print(f"  expired {len(gone)} of {before} snapshots at the source", flush=True)
