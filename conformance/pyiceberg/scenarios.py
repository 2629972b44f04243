"""PyIceberg scenarios against an Iceberg REST catalog, each with exact row checks after every step.

Run through run.sh. All tables live in one namespace unique to the run, dropped at the end.
"""

from __future__ import annotations

import os
import sys
from datetime import date, datetime

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "common"))

import pyarrow as pa  # noqa: E402
from pyiceberg.exceptions import (  # noqa: E402
    NamespaceNotEmptyError,
    NoSuchNamespaceError,
    NoSuchTableError,
)
from pyiceberg.expressions import EqualTo  # noqa: E402
from pyiceberg.partitioning import PartitionField, PartitionSpec  # noqa: E402
from pyiceberg.schema import Schema  # noqa: E402
from pyiceberg.table.sorting import NullOrder, SortDirection, SortField, SortOrder  # noqa: E402
from pyiceberg.transforms import BucketTransform, DayTransform, IdentityTransform  # noqa: E402
from pyiceberg.types import (  # noqa: E402
    DoubleType,
    FloatType,
    IntegerType,
    LongType,
    NestedField,
    StringType,
    TimestampType,
)

import engines  # noqa: E402
from steprunner import Runner, check  # noqa: E402

args = engines.parse_args("pyiceberg", __doc__)
catalog = None  # connected in setup(), so an unreachable catalog is reported as failed scenarios
NS = engines.unique_name("conf_py")
runner = Runner("pyiceberg")

# id, category, ts, amount: the schema most scenarios use.
EVENTS = Schema(
    NestedField(1, "id", LongType(), required=False),
    NestedField(2, "category", StringType(), required=False),
    NestedField(3, "ts", TimestampType(), required=False),
    NestedField(4, "amount", DoubleType(), required=False),
)
BY_CATEGORY = PartitionSpec(PartitionField(2, 1000, IdentityTransform(), "category"))


def ident(name: str) -> tuple[str, str]:
    return (NS, name)


def ev(i: int, cat: str, day: int = 1, amount: float | None = None) -> tuple:
    """One EVENTS row; the amount defaults to a value exactly representable as a double."""
    return (i, cat, datetime(2024, 1, day, 12, 0), amount if amount is not None else i + 0.5)


def arrow(table, rows: list[tuple]) -> pa.Table:
    """Rows (tuples in schema order) as an Arrow table with the current schema of a table or transaction."""
    schema = (table.table_metadata.schema() if hasattr(table, "table_metadata") else table.schema()).as_arrow()
    return pa.Table.from_pylist([dict(zip(schema.names, r)) for r in rows], schema=schema)


def rows(table, **scan) -> list[tuple]:
    """All rows of a scan (current snapshot unless snapshot_id=...), sorted, as tuples."""
    return engines.sorted_rows(tuple(r.values()) for r in table.scan(**scan).to_arrow().to_pylist())


def expect(table, expected: list[tuple], what: str, **scan) -> None:
    check(rows(table, **scan), engines.sorted_rows(expected), what)


def new_table(name: str, schema: Schema = EVENTS, **kw):
    return catalog.create_table(ident(name), schema=schema, **kw)


@runner.scenario
def namespaces():
    parent, child = (NS, "ns_a"), (NS, "ns_a", "inner")
    catalog.create_namespace(parent, {"owner": "conformance", "comment": "to be removed"})
    catalog.create_namespace(child)
    check(catalog.namespace_exists(child), True, "nested namespace exists")
    check((NS,) in catalog.list_namespaces(), True, "run namespace listed at top level")
    check(sorted(catalog.list_namespaces((NS,))), [parent], "children of the run namespace")
    check(sorted(catalog.list_namespaces(parent)), [child], "children of ns_a")

    props = catalog.load_namespace_properties(parent)
    # Servers may add their own keys (e.g. location); the ones we set must be exact.
    check({k: props.get(k) for k in ("owner", "comment")}, {"owner": "conformance", "comment": "to be removed"},
          "properties after create")
    summary = catalog.update_namespace_properties(parent, removals={"comment", "never-set"},
                                                  updates={"owner": "someone", "added": "1"})
    check((sorted(summary.updated), sorted(summary.removed), sorted(summary.missing)),
          (["added", "owner"], ["comment"], ["never-set"]), "properties update summary")
    props = catalog.load_namespace_properties(parent)
    check(({k: props.get(k) for k in ("owner", "added")}, "comment" in props),
          ({"owner": "someone", "added": "1"}, False), "properties after update/remove")

    # A namespace holding a table must not be dropped.
    catalog.create_table(child + ("t",), schema=EVENTS)
    try:
        catalog.drop_namespace(child)
        raise AssertionError("dropping a namespace that holds a table succeeded")
    except NamespaceNotEmptyError:
        pass
    catalog.drop_table(child + ("t",))
    catalog.drop_namespace(child)
    catalog.drop_namespace(parent)
    check(catalog.list_namespaces((NS,)), [], "children after drop")
    check(catalog.namespace_exists(parent), False, "dropped namespace exists")
    try:
        catalog.load_namespace_properties(parent)
        raise AssertionError("loading a dropped namespace succeeded")
    except NoSuchNamespaceError:
        pass


@runner.scenario
def partitioned_and_sorted_tables():
    spec = PartitionSpec(
        PartitionField(2, 1000, IdentityTransform(), "category"),
        PartitionField(1, 1001, BucketTransform(4), "id_bucket"),
        PartitionField(3, 1002, DayTransform(), "ts_day"),
    )
    t = new_table("partitioned", partition_spec=spec)
    t = catalog.load_table(ident("partitioned"))
    names = {f.field_id: f.name for f in t.schema().fields}
    check([(names[f.source_id], str(f.transform), f.name) for f in t.spec().fields],
          [("category", "identity", "category"), ("id", "bucket[4]", "id_bucket"), ("ts", "day", "ts_day")],
          "partition spec after load")
    data = [ev(1, "a", 1), ev(2, "a", 2), ev(3, "b", 1), ev(4, "b", 1)]
    t.append(arrow(t, data))
    expect(t, data, "rows after append")
    expect(t, [ev(1, "a", 1), ev(2, "a", 2)], "rows with category = 'a'", row_filter="category == 'a'")
    expect(t, [ev(1, "a", 1), ev(3, "b", 1), ev(4, "b", 1)], "rows on 2024-01-01",
           row_filter="ts < '2024-01-02T00:00:00'")
    parts = t.inspect.partitions().to_pylist()
    check(sorted({(p["partition"]["category"], p["partition"]["ts_day"]) for p in parts}),
          [("a", date(2024, 1, 1)), ("a", date(2024, 1, 2)), ("b", date(2024, 1, 1))], "(category, day) partitions")
    check(sum(p["record_count"] for p in parts), 4, "records over all partitions")

    order = SortOrder(SortField(source_id=1, transform=IdentityTransform(), direction=SortDirection.DESC,
                                null_order=NullOrder.NULLS_LAST))
    s = new_table("sorted", sort_order=order)
    s = catalog.load_table(ident("sorted"))
    check([(f.source_id, str(f.transform), f.direction, f.null_order) for f in s.sort_order().fields],
          [(1, "identity", SortDirection.DESC, NullOrder.NULLS_LAST)], "sort order after load")
    check(s.sort_order().order_id, 1, "sort order id")
    s.append(arrow(s, data))
    expect(s, data, "rows in the sorted table")


@runner.scenario
def append():
    t = new_table("appends")
    expect(t, [], "rows of a new table")
    first = [ev(1, "a"), ev(2, "b")]
    t.append(arrow(t, first))
    expect(t, first, "rows after first append")
    s1 = t.current_snapshot()
    second = [ev(3, "a"), ev(4, "c", amount=None)]
    t.append(arrow(t, second))
    expect(t, first + second, "rows after second append")
    t = catalog.load_table(ident("appends"))
    expect(t, first + second, "rows after reload")
    s2 = t.current_snapshot()
    check((s2.parent_snapshot_id, s1.summary.operation.value, s2.summary.operation.value),
          (s1.snapshot_id, "append", "append"), "snapshot lineage and operations")
    check(len(t.snapshots()), 2, "snapshot count")


@runner.scenario
def overwrite():
    t = new_table("overwrites", partition_spec=BY_CATEGORY)
    t.append(arrow(t, [ev(1, "a"), ev(2, "a"), ev(3, "b")]))
    expect(t, [ev(1, "a"), ev(2, "a"), ev(3, "b")], "rows before overwrite")
    t.overwrite(arrow(t, [ev(10, "c")]))
    expect(t, [ev(10, "c")], "rows after full overwrite")
    t.append(arrow(t, [ev(1, "a"), ev(2, "a"), ev(3, "b")]))
    expect(t, [ev(10, "c"), ev(1, "a"), ev(2, "a"), ev(3, "b")], "rows after re-append")
    # Filter on the partition column: whole files are replaced.
    t.overwrite(arrow(t, [ev(20, "a")]), overwrite_filter=EqualTo("category", "a"))
    expect(t, [ev(10, "c"), ev(3, "b"), ev(20, "a")], "rows after overwrite where category = 'a'")
    # Filter on a data column: the matching file is rewritten without the row.
    t.overwrite(arrow(t, [ev(30, "b")]), overwrite_filter="id == 3")
    expect(t, [ev(10, "c"), ev(20, "a"), ev(30, "b")], "rows after overwrite where id = 3")
    expect(catalog.load_table(ident("overwrites")), [ev(10, "c"), ev(20, "a"), ev(30, "b")], "rows after reload")


@runner.scenario
def delete_with_filter():
    # merge-on-read is requested; PyIceberg may still rewrite files (copy-on-write). Rows are what count.
    t = new_table("deletes", partition_spec=BY_CATEGORY,
                  properties={"write.delete.mode": "merge-on-read", "format-version": "2"})
    data = [ev(1, "a"), ev(2, "a"), ev(3, "b"), ev(4, "b"), ev(5, "c")]
    t.append(arrow(t, data))
    expect(t, data, "rows before delete")
    t.delete("category == 'b'")  # whole partition: a metadata-only delete
    expect(t, [ev(1, "a"), ev(2, "a"), ev(5, "c")], "rows after delete where category = 'b'")
    check(t.current_snapshot().summary.operation.value, "delete", "operation of a partition delete")
    t.delete("id == 1")  # part of a file: row-level
    expect(t, [ev(2, "a"), ev(5, "c")], "rows after delete where id = 1")
    t.delete("amount > 100")  # matches nothing
    expect(t, [ev(2, "a"), ev(5, "c")], "rows after a delete matching nothing")
    expect(catalog.load_table(ident("deletes")), [ev(2, "a"), ev(5, "c")], "rows after reload")


@runner.scenario
def schema_evolution():
    schema = Schema(
        NestedField(1, "id", IntegerType(), required=False),
        NestedField(2, "name", StringType(), required=False),
        NestedField(3, "score", FloatType(), required=False),
        NestedField(4, "drop_me", StringType(), required=False),
    )
    t = new_table("evolving", schema=schema)
    t.append(arrow(t, [(1, "a", 1.5, "x"), (2, "b", 2.25, "y")]))

    def columns(tbl):
        return [(f.name, str(f.field_type)) for f in tbl.schema().fields]

    with t.update_schema() as u:
        u.add_column("extra", StringType())
    check(columns(t), [("id", "int"), ("name", "string"), ("score", "float"), ("drop_me", "string"),
                       ("extra", "string")], "columns after add")
    expect(t, [(1, "a", 1.5, "x", None), (2, "b", 2.25, "y", None)], "rows after add column")
    t.append(arrow(t, [(3, "c", 3.75, "z", "e3")]))
    expect(t, [(1, "a", 1.5, "x", None), (2, "b", 2.25, "y", None), (3, "c", 3.75, "z", "e3")],
           "rows after append with the new column")

    with t.update_schema() as u:
        u.rename_column("name", "full_name")
    check([c for c, _ in columns(t)], ["id", "full_name", "score", "drop_me", "extra"], "columns after rename")
    check(engines.sorted_rows(tuple(r.values()) for r in
                              t.scan(selected_fields=("full_name",)).to_arrow().to_pylist()),
          [("a",), ("b",), ("c",)], "renamed column read from old files")

    with t.update_schema() as u:
        u.delete_column("drop_me")
    expect(t, [(1, "a", 1.5, None), (2, "b", 2.25, None), (3, "c", 3.75, "e3")], "rows after drop column")

    with t.update_schema() as u:
        u.update_column("id", LongType())
        u.update_column("score", DoubleType())
    check(columns(t), [("id", "long"), ("full_name", "string"), ("score", "double"), ("extra", "string")],
          "columns after widening")
    t.append(arrow(t, [(2**40, "d", 0.1, "e4")]))
    t = catalog.load_table(ident("evolving"))
    expect(t, [(1, "a", 1.5, None), (2, "b", 2.25, None), (3, "c", 3.75, "e3"), (2**40, "d", 0.1, "e4")],
           "rows after widening int->long, float->double")
    check((t.schema().schema_id, len(t.schemas())), (4, 5), "schema id and count after 4 changes")


@runner.scenario
def partition_evolution():
    t = new_table("spec_evolution", partition_spec=BY_CATEGORY)
    before = [ev(1, "a"), ev(2, "b")]
    t.append(arrow(t, before))
    with t.update_spec() as u:
        u.add_field("id", BucketTransform(4), "id_bucket")
    t = catalog.load_table(ident("spec_evolution"))
    check((t.spec().spec_id, [(f.name, str(f.transform)) for f in t.spec().fields]),
          (1, [("category", "identity"), ("id_bucket", "bucket[4]")]), "default spec after adding a field")
    after = [ev(3, "a"), ev(4, "c")]
    t.append(arrow(t, after))
    expect(t, before + after, "rows across both specs")
    expect(t, [ev(1, "a"), ev(3, "a")], "rows with category = 'a' across specs", row_filter="category == 'a'")
    expect(t, [ev(4, "c")], "rows with id = 4 (pruned by the new field)", row_filter="id == 4")
    files = t.inspect.files().to_pylist()
    check(sorted((f["spec_id"], f["record_count"]) for f in files), [(0, 1), (0, 1), (1, 1), (1, 1)],
          "(spec id, records) of data files")


@runner.scenario
def time_travel():
    t = new_table("travel")
    history: list[tuple[int, list[tuple]]] = []

    def remember(expected):
        expect(t, expected, f"rows after step {len(history) + 1}")
        history.append((t.current_snapshot().snapshot_id, expected))

    t.append(arrow(t, [ev(1, "a")]))
    remember([ev(1, "a")])
    t.append(arrow(t, [ev(2, "b"), ev(3, "c")]))
    remember([ev(1, "a"), ev(2, "b"), ev(3, "c")])
    t.delete("id == 2")
    remember([ev(1, "a"), ev(3, "c")])
    t.overwrite(arrow(t, [ev(4, "d")]))
    remember([ev(4, "d")])
    t = catalog.load_table(ident("travel"))
    for n, (snapshot_id, expected) in enumerate(history, 1):
        expect(t, expected, f"rows at snapshot {snapshot_id} (step {n})", snapshot_id=snapshot_id)
    check([s.snapshot_id for s in t.snapshots()][0], history[0][0], "first snapshot kept")


@runner.scenario
def staged_create():
    # create_table_transaction: stage-create, then one commit with assert-create.
    name = ident("staged")
    with catalog.create_table_transaction(name, schema=EVENTS, partition_spec=BY_CATEGORY) as tx:
        check(catalog.table_exists(name), False, "staged table visible before commit")
        tx.append(arrow(tx, [ev(1, "a"), ev(2, "b")]))
    t = catalog.load_table(name)
    expect(t, [ev(1, "a"), ev(2, "b")], "rows of the staged table after commit")
    check(len(t.snapshots()), 1, "snapshots after staged create with append")


@runner.scenario
def rename_table():
    t = new_table("before_rename")
    t.append(arrow(t, [ev(1, "a")]))
    catalog.rename_table(ident("before_rename"), ident("after_rename"))
    check((catalog.table_exists(ident("before_rename")), catalog.table_exists(ident("after_rename"))),
          (False, True), "old and new name exist")
    expect(catalog.load_table(ident("after_rename")), [ev(1, "a")], "rows under the new name")


@runner.scenario
def drop_table():
    for name in ("dropped", "purged"):
        t = new_table(name)
        t.append(arrow(t, [ev(1, "a")]))
    catalog.drop_table(ident("dropped"))
    catalog.purge_table(ident("purged"))
    listed = {n for _, n in catalog.list_tables(NS)}
    check((catalog.table_exists(ident("dropped")), catalog.table_exists(ident("purged")),
           bool(listed & {"dropped", "purged"})), (False, False, False), "exists/listed after drop and purge")
    try:
        catalog.load_table(ident("dropped"))
        raise AssertionError("loading a dropped table succeeded")
    except NoSuchTableError:
        pass
    t = new_table("dropped")  # the name is free again
    expect(t, [], "rows of a re-created table")


def setup():
    global catalog
    catalog = engines.pyiceberg_catalog(args)
    catalog.create_namespace(NS, {"purpose": "icerelay conformance"})
    print(f"namespace {NS} at {args.catalog_url}", flush=True)


def drop_namespace_tree(ns: tuple) -> None:
    for child in catalog.list_namespaces(ns):
        drop_namespace_tree(child)
    for table in catalog.list_tables(ns):
        catalog.purge_table(table)
    catalog.drop_namespace(ns)


def teardown():
    if catalog and not args.keep and catalog.namespace_exists(NS):
        drop_namespace_tree((NS,))


if __name__ == "__main__":
    sys.exit(runner.run(args.only, setup=setup, teardown=teardown, results_file=args.results_json))
