"""Spark SQL scenarios against an Iceberg REST catalog, each with exact row checks after every step.

Run through run.sh (it fetches the Iceberg runtime jar). All tables live in one namespace unique to
the run, dropped at the end.
"""

from __future__ import annotations

import os
import sys
from datetime import datetime as ts

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "common"))

import engines  # noqa: E402
from steprunner import Runner, check  # noqa: E402

args = engines.parse_args("spark", __doc__)
spark = None  # started in setup(), so a Spark or catalog failure is reported as failed scenarios
NS = engines.unique_name("conf_spark")
runner = Runner("spark")

MERGE_ON_READ = ", ".join(f"'write.{op}.mode'='merge-on-read'" for op in ("delete", "update", "merge"))


def t(name: str) -> str:
    return f"rc.{NS}.{name}"


def sql(statement: str):
    return spark.sql(statement)


def rows(query: str) -> list[tuple]:
    return engines.sorted_rows(sql(query).collect())


def expect(query: str, expected: list[tuple], what: str) -> None:
    check(rows(query), engines.sorted_rows(expected), what)


def current_snapshot(table: str) -> int:
    return sql(f"SELECT snapshot_id FROM {table}.refs WHERE name = 'main'").collect()[0][0]


def table_property(table: str, key: str) -> str:
    return {r[0]: r[1] for r in sql(f"SHOW TBLPROPERTIES {table}").collect()}.get(key)


@runner.scenario
def namespaces():
    inner = f"rc.{NS}.inner"
    sql(f"CREATE NAMESPACE {inner} WITH DBPROPERTIES ('team'='conformance')")
    check(rows(f"SHOW NAMESPACES IN rc.{NS}"), [(f"{NS}.inner",)], "nested namespaces")
    sql(f"ALTER NAMESPACE {inner} SET DBPROPERTIES ('added'='1')")
    props = dict(rows(f"DESCRIBE NAMESPACE EXTENDED {inner}"))
    shown = props.get("Properties", "")
    check(("(added,1)" in shown, "(team,conformance)" in shown), (True, True), f"namespace properties in {shown!r}")
    sql(f"DROP NAMESPACE {inner}")
    check(rows(f"SHOW NAMESPACES IN rc.{NS}"), [], "nested namespaces after drop")


def create_and_insert(version: int) -> None:
    name = t(f"fmt_v{version}")
    sql(f"CREATE TABLE {name} (id BIGINT, data STRING) USING iceberg TBLPROPERTIES ('format-version'='{version}')")
    check(table_property(name, "format-version"), str(version), "format-version")
    expect(f"SELECT * FROM {name}", [], "rows of a new table")
    sql(f"INSERT INTO {name} VALUES (1, 'a'), (2, 'b')")
    expect(f"SELECT * FROM {name}", [(1, "a"), (2, "b")], "rows after INSERT")
    sql(f"INSERT INTO {name} SELECT id + 10, upper(data) FROM {name}")
    expect(f"SELECT * FROM {name}", [(1, "a"), (2, "b"), (11, "A"), (12, "B")], "rows after INSERT ... SELECT")
    check(rows(f"SELECT operation FROM {name}.snapshots"), [("append",), ("append",)], "snapshot operations")


@runner.scenario
def create_table_v2():
    create_and_insert(2)


@runner.scenario
def create_table_v3():
    create_and_insert(3)


@runner.scenario
def insert_overwrite_partitions():
    name = t("partitioned")
    sql(f"CREATE TABLE {name} (id BIGINT, cat STRING) USING iceberg PARTITIONED BY (cat)")
    sql(f"INSERT INTO {name} VALUES (1, 'a'), (2, 'a'), (3, 'b')")
    expect(f"SELECT * FROM {name}", [(1, "a"), (2, "a"), (3, "b")], "rows after INSERT")
    # Dynamic overwrite replaces only the partitions the query writes.
    spark.conf.set("spark.sql.sources.partitionOverwriteMode", "dynamic")
    try:
        sql(f"INSERT OVERWRITE {name} VALUES (9, 'a')")
    finally:
        spark.conf.unset("spark.sql.sources.partitionOverwriteMode")
    expect(f"SELECT * FROM {name}", [(9, "a"), (3, "b")], "rows after dynamic INSERT OVERWRITE")
    expect(f"SELECT partition.cat, record_count FROM {name}.partitions", [("a", 1), ("b", 1)], "partitions")


@runner.scenario
def ctas_and_rtas():
    # CTAS uses a staged create (stage-create: true, then a commit with assert-create).
    name = t("ctas")
    sql(f"CREATE TABLE {name} USING iceberg TBLPROPERTIES ('format-version'='2') "
        f"AS SELECT * FROM VALUES (1, 'x'), (2, 'y') AS v(id, data)")
    expect(f"SELECT * FROM {name}", [(1, "x"), (2, "y")], "rows after CTAS")
    check(rows(f"SELECT operation FROM {name}.snapshots"), [("append",)], "snapshots after CTAS")
    # RTAS replaces schema and data in one commit and keeps the history.
    sql(f"CREATE OR REPLACE TABLE {name} USING iceberg AS SELECT 'z' AS data, 3L AS id, true AS flag")
    expect(f"SELECT * FROM {name}", [("z", 3, True)], "rows after CREATE OR REPLACE ... AS SELECT")
    check(len(rows(f"SELECT * FROM {name}.snapshots")), 2, "snapshots kept by RTAS")
    sql(f"REPLACE TABLE {name} USING iceberg AS SELECT 4L AS id")
    expect(f"SELECT * FROM {name}", [(4,)], "rows after REPLACE TABLE ... AS SELECT")


def merge_on_read(version: int, delete_format: str) -> None:
    name = t(f"mor_v{version}")
    sql(f"CREATE TABLE {name} (id BIGINT, data STRING) USING iceberg "
        f"TBLPROPERTIES ('format-version'='{version}', {MERGE_ON_READ})")
    # One data file, so deletes of single rows must be row-level (no whole-file drop).
    sql(f"INSERT INTO {name} SELECT /*+ REPARTITION(1) */ * FROM VALUES "
        f"(1, 'a'), (2, 'b'), (3, 'c'), (4, 'd'), (5, 'e') AS v(id, data)")
    expect(f"SELECT * FROM {name}", [(1, "a"), (2, "b"), (3, "c"), (4, "d"), (5, "e")], "rows after INSERT")

    sql(f"DELETE FROM {name} WHERE id = 2")
    expect(f"SELECT * FROM {name}", [(1, "a"), (3, "c"), (4, "d"), (5, "e")], "rows after DELETE")
    check(rows(f"SELECT content, file_format, record_count FROM {name}.delete_files"), [(1, delete_format, 1)],
          "delete files after DELETE (content=1: position deletes)")
    check(rows(f"SELECT content FROM {name}.files WHERE content = 0"), [(0,)], "data files after DELETE")

    sql(f"UPDATE {name} SET data = 'C' WHERE id = 3")
    expect(f"SELECT * FROM {name}", [(1, "a"), (3, "C"), (4, "d"), (5, "e")], "rows after UPDATE")

    sql(f"""MERGE INTO {name} t USING (SELECT * FROM VALUES (1, 'one'), (4, NULL), (6, 'f') AS s(id, data)) s
            ON t.id = s.id
            WHEN MATCHED AND s.data IS NULL THEN DELETE
            WHEN MATCHED THEN UPDATE SET t.data = s.data
            WHEN NOT MATCHED THEN INSERT *""")
    expect(f"SELECT * FROM {name}", [(1, "one"), (3, "C"), (5, "e"), (6, "f")], "rows after MERGE INTO")
    deletes = rows(f"SELECT DISTINCT content, file_format FROM {name}.delete_files")
    check(deletes, [(1, delete_format)], "kinds of delete files after MERGE")
    ops = [r[0] for r in rows(f"SELECT operation FROM {name}.snapshots")]
    check(sorted(ops), ["append", "delete", "overwrite", "overwrite"], "snapshot operations")


@runner.scenario
def merge_on_read_v2_position_deletes():
    merge_on_read(2, "PARQUET")


@runner.scenario
def merge_on_read_v3_deletion_vectors():
    merge_on_read(3, "PUFFIN")


@runner.scenario
def alter_table():
    name = t("altered")
    sql(f"CREATE TABLE {name} (id INT, name STRING, score FLOAT, ts TIMESTAMP) USING iceberg")
    sql(f"INSERT INTO {name} VALUES (1, 'a', 1.5, TIMESTAMP '2024-01-01 10:00:00')")
    row1 = (1, "a", 1.5, ts(2024, 1, 1, 10))
    expect(f"SELECT * FROM {name}", [row1], "rows after INSERT")

    sql(f"ALTER TABLE {name} ADD COLUMNS (extra STRING)")
    expect(f"SELECT * FROM {name}", [row1 + (None,)], "rows after ADD COLUMNS")
    sql(f"ALTER TABLE {name} RENAME COLUMN name TO full_name")
    expect(f"SELECT id, full_name FROM {name}", [(1, "a")], "renamed column")
    sql(f"ALTER TABLE {name} DROP COLUMN score")
    check(sql(f"SELECT * FROM {name}").columns, ["id", "full_name", "ts", "extra"], "columns after DROP COLUMN")
    sql(f"ALTER TABLE {name} ALTER COLUMN id TYPE BIGINT")
    check(dict(sql(f"SELECT * FROM {name}").dtypes)["id"], "bigint", "id type after widening")

    sql(f"ALTER TABLE {name} ADD PARTITION FIELD bucket(4, id)")
    sql(f"INSERT INTO {name} VALUES (2, 'b', TIMESTAMP '2024-01-02 10:00:00', 'x')")
    sql(f"ALTER TABLE {name} ADD PARTITION FIELD days(ts)")
    sql(f"INSERT INTO {name} VALUES (3, 'c', TIMESTAMP '2024-01-03 10:00:00', 'y')")
    expect(f"SELECT * FROM {name}", [(1, "a", ts(2024, 1, 1, 10), None), (2, "b", ts(2024, 1, 2, 10), "x"),
                                     (3, "c", ts(2024, 1, 3, 10), "y")], "rows across three partition specs")
    expect(f"SELECT id FROM {name} WHERE ts >= TIMESTAMP '2024-01-02 00:00:00'", [(2,), (3,)], "filtered rows")
    check(rows(f"SELECT spec_id, record_count FROM {name}.files"), [(0, 1), (1, 1), (2, 1)],
          "(spec id, records) of data files")


@runner.scenario
def branches_and_tags():
    name = t("refs")
    sql(f"CREATE TABLE {name} (id BIGINT) USING iceberg TBLPROPERTIES ('format-version'='2')")
    sql(f"INSERT INTO {name} VALUES (1)")
    sql(f"ALTER TABLE {name} CREATE TAG v1")
    sql(f"ALTER TABLE {name} CREATE BRANCH dev")
    sql(f"INSERT INTO {name}.branch_dev VALUES (2)")
    sql(f"INSERT INTO {name} VALUES (3)")
    expect(f"SELECT * FROM {name}", [(1,), (3,)], "main")
    expect(f"SELECT * FROM {name}.branch_dev", [(1,), (2,)], "branch dev (branch_ selector)")
    expect(f"SELECT * FROM {name} VERSION AS OF 'dev'", [(1,), (2,)], "branch dev (VERSION AS OF)")
    expect(f"SELECT * FROM {name}.tag_v1", [(1,)], "tag v1 (tag_ selector)")
    expect(f"SELECT * FROM {name} VERSION AS OF 'v1'", [(1,)], "tag v1 (VERSION AS OF)")

    # Write-audit-publish: writes go to the branch named by spark.wap.branch until published.
    sql(f"ALTER TABLE {name} SET TBLPROPERTIES ('write.wap.enabled'='true')")
    sql(f"ALTER TABLE {name} CREATE BRANCH audit")
    spark.conf.set("spark.wap.branch", "audit")
    try:
        sql(f"INSERT INTO {name} VALUES (4)")
    finally:
        spark.conf.unset("spark.wap.branch")
    expect(f"SELECT * FROM {name}", [(1,), (3,)], "main after a WAP write")
    expect(f"SELECT * FROM {name}.branch_audit", [(1,), (3,), (4,)], "branch audit after a WAP write")
    sql(f"CALL rc.system.fast_forward('{NS}.refs', 'main', 'audit')")
    expect(f"SELECT * FROM {name}", [(1,), (3,), (4,)], "main after fast_forward")
    check(rows(f"SELECT name, type FROM {name}.refs"),
          [("audit", "BRANCH"), ("dev", "BRANCH"), ("main", "BRANCH"), ("v1", "TAG")], "refs")
    sql(f"ALTER TABLE {name} DROP TAG v1")
    sql(f"ALTER TABLE {name} DROP BRANCH dev")
    check(rows(f"SELECT name FROM {name}.refs"), [("audit",), ("main",)], "refs after DROP TAG/BRANCH")


@runner.scenario
def time_travel():
    name = t("travel")
    sql(f"CREATE TABLE {name} (id BIGINT, data STRING) USING iceberg")
    history: list[tuple[int, list[tuple]]] = []
    steps = [
        (f"INSERT INTO {name} VALUES (1, 'a')", [(1, "a")]),
        (f"INSERT INTO {name} VALUES (2, 'b'), (3, 'c')", [(1, "a"), (2, "b"), (3, "c")]),
        (f"DELETE FROM {name} WHERE id = 2", [(1, "a"), (3, "c")]),
        (f"UPDATE {name} SET data = 'z' WHERE id = 1", [(1, "z"), (3, "c")]),
    ]
    for statement, expected in steps:
        sql(statement)
        expect(f"SELECT * FROM {name}", expected, f"rows after: {statement}")
        history.append((current_snapshot(name), expected))
    for snapshot_id, expected in history:
        expect(f"SELECT * FROM {name} VERSION AS OF {snapshot_id}", expected, f"VERSION AS OF {snapshot_id}")
    first = history[0][0]
    expect(f"SELECT * FROM {name}.snapshot_id_{first}", history[0][1], "snapshot_id_ selector")
    sql(f"CALL rc.system.rollback_to_snapshot('{NS}.travel', {history[1][0]})")
    expect(f"SELECT * FROM {name}", history[1][1], "rows after rollback_to_snapshot")


@runner.scenario
def drop_table_purge():
    name = t("purged")
    sql(f"CREATE TABLE {name} (id BIGINT) USING iceberg")
    sql(f"INSERT INTO {name} VALUES (1), (2)")
    files = [r[0] for r in sql(f"SELECT file_path FROM {name}.files").collect()]
    check(len(files) > 0, True, "data files listed")
    check(all(engines.object_exists(args, f) for f in files), True, "data files exist before purge")
    sql(f"DROP TABLE {name} PURGE")
    check(rows(f"SHOW TABLES IN rc.{NS} LIKE 'purged'"), [], "tables after DROP TABLE PURGE")
    check(spark.catalog.tableExists(name), False, "table exists after purge")
    check([f for f in files if engines.object_exists(args, f)], [], "data files left after purge")
    sql(f"CREATE TABLE {name} (id BIGINT) USING iceberg")  # the name is free again
    expect(f"SELECT * FROM {name}", [], "rows of the re-created table")
    sql(f"DROP TABLE {name}")
    check(spark.catalog.tableExists(name), False, "table exists after DROP TABLE")


def setup():
    global spark
    spark = engines.spark_session(args, catalog="rc")
    sql(f"CREATE NAMESPACE rc.{NS} WITH DBPROPERTIES ('purpose'='icerelay conformance')")
    print(f"namespace {NS} at {args.catalog_url} (Spark {spark.version})", flush=True)


def teardown():
    if spark is None:
        return
    try:
        if not args.keep:
            for row in sql(f"SHOW TABLES IN rc.{NS}").collect():
                sql(f"DROP TABLE rc.{NS}.{row['tableName']} PURGE")
            for row in sql(f"SHOW NAMESPACES IN rc.{NS}").collect():
                sql(f"DROP NAMESPACE rc.{row[0]}")
            sql(f"DROP NAMESPACE IF EXISTS rc.{NS}")
    finally:
        engines.stop_spark(spark)


if __name__ == "__main__":
    sys.exit(runner.run(args.only, setup=setup, teardown=teardown, results_file=args.results_json))
