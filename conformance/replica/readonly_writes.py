"""Writes against a read-only replica endpoint, from PyIceberg and Spark: each must fail cleanly and
leave the replica as it was; reads keep working. A replica advertises only read routes in
/v1/config, so these clients refuse most writes themselves ("Server does not support endpoint");
a write a client does send gets 403 ForbiddenException saying the replica is read-only.

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
from steprunner import Runner, check  # noqa: E402

args = engines.parse_args("replica-readonly", __doc__)
runner = Runner("replica-readonly")
state: dict = {}
SCHEMA = Schema(NestedField(1, "id", LongType(), required=False))


def setup() -> None:
    state["catalog"] = engines.pyiceberg_catalog(args, "replica")
    state["namespaces_before"] = state["catalog"].list_namespaces()


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
    spark = engines.spark_session(args, "replica")
    try:
        for statement in ("CREATE NAMESPACE replica.replica_write", "CREATE TABLE replica.replica_write.t (id bigint) USING iceberg"):
            try:
                spark.sql(statement).collect()
            except Exception as e:  # noqa: BLE001 - Spark wraps the client's exception in its own
                if not any(sign in str(e) for sign in ("ForbiddenException", "read-only", "does not support endpoint")):
                    raise AssertionError(f"{statement}: failed, but not as forbidden: {str(e)[:300]}") from e
                continue
            raise AssertionError(f"{statement}: succeeded against a read-only replica")
        check(sorted(r[0] for r in spark.sql("SHOW NAMESPACES IN replica").collect()),
              sorted(".".join(ns) for ns in state["namespaces_before"]), "namespaces seen by Spark")
    finally:
        engines.stop_spark(spark)


@runner.scenario
def replica_unchanged() -> None:
    check(state["catalog"].list_namespaces(), state["namespaces_before"], "namespaces after the write attempts")


sys.exit(runner.run(args.only, setup=setup))
