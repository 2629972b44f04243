"""Shared command line and engine setup for the conformance runners (PyIceberg and Spark).

Every runner takes the same arguments: a catalog URL, an optional warehouse (sent to the catalog
only when given: by default the server chooses table locations) and an optional S3 endpoint
(credentials from AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY, region from AWS_REGION).
"""

from __future__ import annotations

import argparse
import logging
import os
import secrets
import shutil
import tempfile


def parse_args(engine: str, description: str | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog=f"conformance/{engine}", description=description)
    p.add_argument("catalog_url", help="Iceberg REST catalog base URL, e.g. http://127.0.0.1:8181")
    p.add_argument("--warehouse", help="`warehouse` catalog property (default: not sent)")
    p.add_argument("--s3-endpoint", help="S3-compatible endpoint for data files, e.g. http://127.0.0.1:9000")
    p.add_argument("--only", action="append", metavar="SCENARIO", help="run only this scenario (repeatable)")
    p.add_argument("--keep", action="store_true", help="do not drop the namespace and tables afterwards")
    p.add_argument("--results-json", metavar="FILE", help="also write each scenario's outcome to FILE as JSON")
    return p.parse_args()


def unique_name(prefix: str) -> str:
    """A namespace name unique per run, so runs can repeat against the same catalog."""
    return f"{prefix}_{secrets.token_hex(4)}"


def region() -> str:
    return os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"


def storage_props(args: argparse.Namespace) -> dict[str, str]:
    """FileIO properties common to PyIceberg and Iceberg Java (the keys are the same)."""
    if not args.s3_endpoint:
        return {}
    props = {
        "s3.endpoint": args.s3_endpoint,
        "s3.path-style-access": "true",  # Java; PyIceberg is path-style unless s3.force-virtual-addressing
        "client.region": region(),
        "s3.region": region(),
    }
    if os.environ.get("AWS_ACCESS_KEY_ID"):
        props["s3.access-key-id"] = os.environ["AWS_ACCESS_KEY_ID"]
    if os.environ.get("AWS_SECRET_ACCESS_KEY"):
        props["s3.secret-access-key"] = os.environ["AWS_SECRET_ACCESS_KEY"]
    if os.environ.get("AWS_SESSION_TOKEN"):
        props["s3.session-token"] = os.environ["AWS_SESSION_TOKEN"]
    return props


def catalog_props(args: argparse.Namespace) -> dict[str, str]:
    props = {"uri": args.catalog_url}
    if args.warehouse:
        props["warehouse"] = args.warehouse
    props.update(storage_props(args))
    return props


def pyiceberg_catalog(args: argparse.Namespace, name: str = "conformance"):
    from pyiceberg.catalog.rest import RestCatalog

    return RestCatalog(name, **catalog_props(args))


def spark_session(args: argparse.Namespace, catalog: str = "rc"):
    """A local Spark with the Iceberg runtime (jars from CONFORMANCE_SPARK_JARS, fetched by lib.sh)."""
    from pyspark.sql import SparkSession

    jars = os.environ.get("CONFORMANCE_SPARK_JARS", "")
    if not jars:
        raise SystemExit("CONFORMANCE_SPARK_JARS is not set: run through the run.sh wrapper")
    scratch = tempfile.mkdtemp(prefix="conformance-spark-")
    log4j = os.path.join(os.path.dirname(os.path.abspath(__file__)), "log4j2.properties")
    java_opts = f"-Dlog4j2.configurationFile=file:{log4j} -Djava.io.tmpdir={scratch}"
    b = (
        SparkSession.builder.appName("icerelay-conformance")
        .master("local[2]")
        .config("spark.driver.memory", "1g")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.shuffle.partitions", "2")
        .config("spark.sql.session.timeZone", "UTC")  # timestamps compare the same on every machine
        .config("spark.default.parallelism", "2")
        .config("spark.local.dir", scratch)
        .config("spark.sql.warehouse.dir", os.path.join(scratch, "spark-warehouse"))
        .config("spark.driver.extraJavaOptions", java_opts)
        .config("spark.jars", jars)
        .config("spark.sql.extensions", "org.apache.iceberg.spark.extensions.IcebergSparkSessionExtensions")
        .config(f"spark.sql.catalog.{catalog}", "org.apache.iceberg.spark.SparkCatalog")
        .config(f"spark.sql.catalog.{catalog}.type", "rest")
        .config(f"spark.sql.catalog.{catalog}.cache-enabled", "false")  # every read goes to the catalog
    )
    props = catalog_props(args)
    if args.s3_endpoint:
        props["io-impl"] = "org.apache.iceberg.aws.s3.S3FileIO"
    for k, v in props.items():
        b = b.config(f"spark.sql.catalog.{catalog}.{k}", v)
    spark = b.getOrCreate()
    spark.sparkContext.setLogLevel("ERROR")
    # PySpark logs every failed query as a JSON record with the Java stack; the traceback we print is enough.
    from pyspark.logger import PySparkLogger

    for name in ("SQLQueryContextLogger", "DataFrameQueryContextLogger"):
        PySparkLogger.getLogger(name).setLevel(logging.CRITICAL)
    spark._conformance_scratch = scratch  # removed by stop_spark
    return spark


def stop_spark(spark) -> None:
    scratch = getattr(spark, "_conformance_scratch", None)
    spark.stop()
    if scratch:
        shutil.rmtree(scratch, ignore_errors=True)


def drop_run_namespace(catalog, namespace: str) -> None:
    """Purges the run's tables and drops its namespace: how a runner ends unless --keep."""
    if catalog.namespace_exists(namespace):
        for table in catalog.list_tables(namespace):
            catalog.purge_table(table)
        catalog.drop_namespace(namespace)


def sorted_rows(rows) -> list[tuple]:
    """Rows as a sorted list of tuples; None sorts first in any column."""
    return sorted((tuple(r) for r in rows), key=lambda r: tuple((v is not None, v if v is not None else 0) for v in r))


def object_exists(args: argparse.Namespace, location: str) -> bool:
    """Whether a data file still exists (local path or s3:// on the given endpoint)."""
    if location.startswith("file:"):
        return os.path.exists("/" + location[len("file:"):].lstrip("/"))
    if location.startswith("/"):
        return os.path.exists(location)
    if location.startswith(("s3://", "s3a://")) and args.s3_endpoint:
        import boto3
        from botocore.exceptions import ClientError

        bucket, _, key = location.split("://", 1)[1].partition("/")
        s3 = boto3.client("s3", endpoint_url=args.s3_endpoint, region_name=region())
        try:
            s3.head_object(Bucket=bucket, Key=key)
            return True
        except ClientError:
            return False
    raise ValueError(f"cannot check existence of {location}")
