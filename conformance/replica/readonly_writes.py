"""Writes against a read-only replica endpoint, from PyIceberg and Spark: each must fail cleanly and
leave the replica as it was; reads keep working. A replica advertises only read routes in
/v1/config, so these clients refuse most writes themselves ("Server does not support endpoint");
a write a client does send gets 403 ForbiddenException saying the replica is read-only. The
tables already in the replica (up to MAX_TABLES of them) are read by both engines.

Run through run.sh with the replica's URL, e.g. http://127.0.0.1:8181/replicas/local.
"""

from __future__ import annotations

import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "common"))

from pyiceberg.exceptions import ForbiddenError  # noqa: E402
from pyiceberg.schema import Schema  # noqa: E402
from pyiceberg.types import LongType, NestedField  # noqa: E402

import engines  # noqa: E402
from steprunner import Runner, Skip, check  # noqa: E402

args = engines.parse_args("replica-readonly", __doc__)
runner = Runner("replica-readonly")
state: dict = {}
SCHEMA = Schema(NestedField(1, "id", LongType(), required=False))
# Reading is what a replica is for, but a large one need not be read whole to show it can be.
MAX_TABLES = 5
SAMPLE_ROWS = 100


def setup() -> None:
    state["catalog"] = engines.pyiceberg_catalog(args, "replica")
    state["namespaces_before"] = state["catalog"].list_namespaces()


def spark():
    """One Spark session for every Spark scenario (starting one takes a while); stopped in teardown."""
    if "spark" not in state:
        state["spark"] = engines.spark_session(args, "replica")
    return state["spark"]


def teardown() -> None:
    if "spark" in state:
        engines.stop_spark(state["spark"])


def replica_tables() -> list[tuple]:
    """Up to MAX_TABLES table identifiers of the replica, nested namespaces included."""
    catalog, found = state["catalog"], []

    def walk(namespace: tuple) -> None:
        for table in catalog.list_tables(namespace):
            if len(found) < MAX_TABLES:
                found.append(table)
        for child in catalog.list_namespaces(namespace):
            if len(found) < MAX_TABLES:
                walk(child)

    for namespace in state["namespaces_before"]:
        walk(namespace)
    if not found:
        raise Skip("the replica has no tables to read yet")
    return found


def expect_forbidden(action, what: str) -> None:
    try:
        action()
    except ForbiddenError as e:
        if "read-only" not in str(e):
            raise AssertionError(f"{what}: Forbidden, but the message does not say why: {e}") from e
        return
    except NotImplementedError as e:
        if "does not support endpoint" not in str(e):
            raise
        return
    raise AssertionError(f"{what}: succeeded against a read-only replica")


@runner.scenario
def pyiceberg_reads_work() -> None:
    check(state["catalog"].list_namespaces(), state["namespaces_before"], "namespaces")


@runner.scenario
def pyiceberg_reads_tables() -> None:
    for identifier in replica_tables():
        table = state["catalog"].load_table(identifier)
        total = table.scan().count()
        sample = table.scan(limit=SAMPLE_ROWS).to_arrow()  # opens real data files at the replica's locations
        check(sample.num_rows, min(total, SAMPLE_ROWS), f"rows read from {'.'.join(identifier)} (of {total})")


@runner.scenario
def pyiceberg_create_namespace_forbidden() -> None:
    expect_forbidden(lambda: state["catalog"].create_namespace("replica_write"), "create_namespace")


@runner.scenario
def pyiceberg_create_table_forbidden() -> None:
    expect_forbidden(lambda: state["catalog"].create_table(("replica_write", "t"), SCHEMA), "create_table")


@runner.scenario
def pyiceberg_drop_and_rename_forbidden() -> None:
    expect_forbidden(lambda: state["catalog"].drop_table(("replica_write", "t")), "drop_table")
    expect_forbidden(lambda: state["catalog"].rename_table(("replica_write", "t"), ("replica_write", "u")), "rename_table")
    expect_forbidden(lambda: state["catalog"].drop_namespace("replica_write"), "drop_namespace")


@runner.scenario
def spark_writes_forbidden() -> None:
    for statement in ("CREATE NAMESPACE replica.replica_write", "CREATE TABLE replica.replica_write.t (id bigint) USING iceberg"):
        try:
            spark().sql(statement).collect()
        except Exception as e:  # noqa: BLE001 - Spark wraps the client's exception in its own
            if not any(sign in str(e) for sign in ("ForbiddenException", "read-only", "does not support endpoint")):
                raise AssertionError(f"{statement}: failed, but not as forbidden: {str(e)[:300]}") from e
            continue
        raise AssertionError(f"{statement}: succeeded against a read-only replica")
    check(sorted(r[0] for r in spark().sql("SHOW NAMESPACES IN replica").collect()),
          sorted(".".join(ns) for ns in state["namespaces_before"]), "namespaces seen by Spark")


@runner.scenario
def spark_reads_tables() -> None:
    for identifier in replica_tables():
        name = "replica." + ".".join(f"`{part}`" for part in identifier)
        counted = spark().sql(f"SELECT count(*) FROM {name}").collect()[0][0]
        check(counted, state["catalog"].load_table(identifier).scan().count(), f"Spark's row count of {name} (PyIceberg's)")


@runner.scenario
def replica_unchanged() -> None:
    check(state["catalog"].list_namespaces(), state["namespaces_before"], "namespaces after the write attempts")


sys.exit(runner.run(args.only, setup=setup, teardown=teardown, results_file=args.results_json))
