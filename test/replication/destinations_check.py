"""Engine-side half of test/replication/destinations.test.ts (run with the repo venv).

  write <catalog-url>
      through Icerelay's writer endpoint: namespace `sales` (with a property), table `sales.orders`
      written over three commits (appends, a delete), table `sales.tmp_scratch`, table
      `ops.events`; prints {table: [{"snapshot_id", "rows"}...]} as JSON (rows after each commit).
  read <replica-url> <table> <namespace-of-replica>
      loads the replica table (the name under the replica's namespace) with PyIceberg, using only
      what the replica's load result says about storage, and prints
      {"location", "snapshots": {id: rows}, "files": [every data file path], "properties"} as JSON.

S3 settings come from the load results (the writer's catalog hands out the source's, the replica
the destination's); the credentials from AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY.
"""
import json
import os
import sys

import pyarrow as pa
from pyiceberg.catalog.rest import RestCatalog
from pyiceberg.schema import Schema
from pyiceberg.types import LongType, NestedField, StringType


def catalog(url: str) -> RestCatalog:
    props = {"uri": url}
    if os.environ.get("AWS_ACCESS_KEY_ID"):
        props["s3.access-key-id"] = os.environ["AWS_ACCESS_KEY_ID"]
        props["s3.secret-access-key"] = os.environ["AWS_SECRET_ACCESS_KEY"]
    return RestCatalog("icerelay", **props)


def rows(scan) -> list:
    return sorted(({k: str(v) for k, v in r.items()} for r in scan.to_arrow().to_pylist()), key=lambda r: r["id"])


def write(url: str) -> dict:
    c = catalog(url)
    c.create_namespace("sales", {"owner": "sales-team"})
    c.create_namespace("ops")
    schema = Schema(NestedField(1, "id", LongType(), required=False), NestedField(2, "name", StringType(), required=False))
    out = {}
    for ident, batches in {
        "sales.orders": [[1, 2, 3], [4, 5], "delete id == 2"],
        "sales.tmp_scratch": [[10]],
        "ops.events": [[20, 21]],
    }.items():
        t = c.create_table(ident, schema=schema, properties={"format-version": "2"})
        states = []
        for batch in batches:
            if isinstance(batch, str):
                t.delete(batch.removeprefix("delete "))
            else:
                t.append(pa.table({"id": pa.array(batch, pa.int64()), "name": [f"n{i}" for i in batch]}))
            t = c.load_table(ident)
            states.append({"snapshot_id": str(t.current_snapshot().snapshot_id), "rows": rows(t.scan())})
        out[ident] = states
    return out


def read(url: str, ident: str) -> dict:
    t = catalog(url).load_table(ident)
    snapshots = {str(s.snapshot_id): rows(t.scan(snapshot_id=s.snapshot_id)) for s in t.snapshots()}
    files = sorted({task.file.file_path for s in t.snapshots() for task in t.scan(snapshot_id=s.snapshot_id).plan_files()})
    return {"location": t.location(), "metadata_location": t.metadata_location, "snapshots": snapshots, "files": files, "io": {k: v for k, v in t.io.properties.items() if isinstance(v, str) and "secret" not in k}}


def main() -> None:
    command = sys.argv[1]
    if command == "write":
        result = write(sys.argv[2])
    elif command == "read":
        result = read(sys.argv[2], sys.argv[3])
    else:
        raise SystemExit(f"unknown command {command}")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
