"""Metadata rewrite throughput: Icerelay's rewriter vs Apache Iceberg's rewrite_table_path procedure,
on the same table, in one run, taking turns (see run.sh).

Builds a table with Spark + Iceberg (Hadoop catalog on local disk): one real INSERT, then `commits`
fast appends of `files_per_commit` data file entries each (copies of the real file's entry with its
column metrics, new paths and a day partition per commit; ManifestEntries.java). Then, per round:
- spark: `CALL h.system.rewrite_table_path(...)` in this warm Spark session (JVM start-up and table
  creation excluded), a fresh staging folder each time; it writes the rewritten metadata JSON
  versions, manifest lists and manifests there, plus the copy-plan csv. No data file is copied.
- icerelay: one job for rewrite-worker.ts (a warm Node.js process started once), the same work.
One warm-up call of each comes first and is not counted. Writes a JSON report to --out.
"""
import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--work", required=True, help="scratch folder (warehouse and outputs)")
    p.add_argument("--files", type=int, default=100_000, help="data file entries to append (default 100000)")
    p.add_argument("--commits", type=int, default=100, help="commits (one manifest each) they are spread over (default 100)")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--out", required=True)
    p.add_argument("--repo", required=True)
    return p.parse_args()


def spark_session(warehouse: str):
    from pyspark.sql import SparkSession

    spark = (
        SparkSession.builder.master("local[*]")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.shuffle.partitions", "2")
        .config("spark.driver.memory", "4g")
        .config("spark.jars", os.environ["BENCH_SPARK_JARS"])
        .config("spark.sql.extensions", "org.apache.iceberg.spark.extensions.IcebergSparkSessionExtensions")
        .config("spark.sql.catalog.h", "org.apache.iceberg.spark.SparkCatalog")
        .config("spark.sql.catalog.h.type", "hadoop")
        .config("spark.sql.catalog.h.warehouse", f"file:{warehouse}")
        .getOrCreate()
    )
    spark.sparkContext.setLogLevel("ERROR")
    return spark


def build_table(spark, files: int, commits: int):
    files_per_commit = max(1, files // commits)
    spark.sql(
        "CREATE TABLE h.bench.events (id BIGINT, ts TIMESTAMP, category STRING, payload STRING, amount DOUBLE) "
        "USING iceberg PARTITIONED BY (days(ts)) TBLPROPERTIES ('format-version'='2')"
    )
    spark.sql(
        "INSERT INTO h.bench.events VALUES (1, TIMESTAMP '2024-01-01 00:00:00', 'a', 'first', 1.5), "
        "(2, TIMESTAMP '2024-01-01 06:00:00', 'b', 'second', 2.5), (3, TIMESTAMP '2024-01-01 12:00:00', 'c', 'third', -3.0)"
    )
    jvm = spark._jvm
    table = jvm.org.apache.iceberg.spark.Spark3Util.loadIcebergTable(spark._jsparkSession, "h.bench.events")
    template = list(table.currentSnapshot().addedDataFiles(table.io()))[0]
    jvm.ManifestEntries.append(table, template, commits, files_per_commit, "ts_day")
    table.refresh()
    return table


def count_lines(path: str) -> int:
    with open(path.removeprefix("file:"), "rb") as f:
        return sum(1 for _ in f)


def main() -> None:
    args = parse_args()
    warehouse = os.path.join(args.work, "warehouse")
    os.makedirs(warehouse, exist_ok=True)
    spark = spark_session(warehouse)
    t0 = time.perf_counter()
    table = build_table(spark, args.files, args.commits)
    build_s = time.perf_counter() - t0
    metadata = table.operations().current().metadataFileLocation()
    source_prefix = table.location()
    target_prefix = "s3://replica-bucket/warehouse/bench/events"
    manifests = list(table.currentSnapshot().allManifests(table.io()))
    entries = sum(m.addedFilesCount() + m.existingFilesCount() + m.deletedFilesCount() for m in manifests)
    versions = table.operations().current().previousFiles().size() + 1
    snapshots = len(list(table.snapshots()))
    print(f"table: {entries} entries in {len(manifests)} manifests, {snapshots} snapshots, {versions} metadata versions "
          f"(built in {build_s:.1f} s)", file=sys.stderr)

    worker = subprocess.Popen(
        ["node", "--import", "tsx", "bench/replication/rewrite-worker.ts"],
        cwd=args.repo, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )

    def icerelay(run: str) -> dict:
        job = {"metadata": metadata, "sourcePrefix": source_prefix, "targetPrefix": target_prefix,
               "outDir": os.path.join(args.work, "icerelay-out", run)}
        worker.stdin.write(json.dumps(job) + "\n")
        worker.stdin.flush()
        result = json.loads(worker.stdout.readline())
        if "error" in result:
            raise RuntimeError(f"rewrite-worker failed: {result['error']}")
        shutil.rmtree(job["outDir"], ignore_errors=True)
        return {"seconds": result["totalMs"] / 1000, **result}

    def spark_call(run: str) -> dict:
        staging = os.path.join(args.work, "spark-staging", run)
        start = time.perf_counter()
        rows = spark.sql(
            f"CALL h.system.rewrite_table_path(table => 'bench.events', source_prefix => '{source_prefix}', "
            f"target_prefix => '{target_prefix}', staging_location => 'file:{staging}')"
        ).collect()
        seconds = time.perf_counter() - start
        file_list = rows[0]["file_list_location"]
        result = {"seconds": seconds, "latestVersion": rows[0]["latest_version"], "copyPlanLines": count_lines(file_list),
                  "stagedFiles": sum(len(files) for _, _, files in os.walk(staging))}
        shutil.rmtree(staging, ignore_errors=True)
        return result

    runs = {"spark": [], "icerelay": []}
    warmup = {"spark": spark_call("warmup"), "icerelay": icerelay("warmup")}
    print(f"warm-up: spark {warmup['spark']['seconds']:.2f} s, icerelay {warmup['icerelay']['seconds']:.2f} s", file=sys.stderr)
    for r in range(args.rounds):
        order = ["spark", "icerelay"] if r % 2 == 0 else ["icerelay", "spark"]
        for side in order:
            result = spark_call(f"r{r}") if side == "spark" else icerelay(f"r{r}")
            runs[side].append(result)
            print(f"round {r + 1}: {side} {result['seconds']:.2f} s ({entries / result['seconds']:,.0f} entries/s)", file=sys.stderr)
    worker.stdin.close()
    worker.wait()
    spark.stop()

    def summary(side: str) -> dict:
        median = statistics.median(r["seconds"] for r in runs[side])
        return {"medianSeconds": median, "entriesPerSec": entries / median, "seconds": [r["seconds"] for r in runs[side]]}

    report = {
        "table": {"entries": entries, "manifests": len(manifests), "snapshots": snapshots, "metadataVersions": versions,
                  "filesPerCommit": max(1, args.files // args.commits), "commits": args.commits, "formatVersion": 2,
                  "manifestCodec": "deflate (Iceberg's default gzip)", "buildSeconds": build_s},
        "job": {"metadata": metadata, "sourcePrefix": source_prefix, "targetPrefix": target_prefix},
        "rounds": args.rounds,
        "warmup": warmup,
        "runs": runs,
        "spark": summary("spark"),
        "icerelay": summary("icerelay"),
    }
    report["ratio"] = report["icerelay"]["entriesPerSec"] / report["spark"]["entriesPerSec"]
    with open(args.out, "w") as f:
        json.dump(report, f, indent=2)
        f.write("\n")
    print(f"icerelay {report['icerelay']['entriesPerSec']:,.0f} entries/s, spark {report['spark']['entriesPerSec']:,.0f} entries/s, "
          f"ratio {report['ratio']:.2f}x", file=sys.stderr)


main()
