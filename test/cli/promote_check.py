"""Engine-side half of test/cli/promote.test.ts (run with the repo venv): PyIceberg writing to and
reading from an Iceberg REST catalog (Icerelay's writer endpoint, or a replica at /replicas/<name>).

  append <catalog-url> <namespace.table> <id>...
      appends one row per id (creating the namespace and the table first when missing) and prints
      {"snapshot_id", "rows"} as JSON: the new current snapshot and the ids the table then holds.
  read <catalog-url> <namespace.table>
      prints {"snapshot_id", "rows"} of the table as it is.
"""
import json
import sys

import pyarrow as pa
from pyiceberg.catalog.rest import RestCatalog
from pyiceberg.exceptions import NamespaceAlreadyExistsError, NoSuchTableError
from pyiceberg.schema import Schema
from pyiceberg.types import LongType, NestedField


def state(table) -> dict:
    snapshot = table.current_snapshot()
    ids = sorted(table.scan().to_arrow().column("id").to_pylist())
    return {"snapshot_id": str(snapshot.snapshot_id) if snapshot else None, "rows": ids}


def append(url: str, ident: str, ids: list) -> dict:
    catalog = RestCatalog("icerelay", uri=url)
    try:
        table = catalog.load_table(ident)
    except NoSuchTableError:
        try:
            catalog.create_namespace(ident.rsplit(".", 1)[0])
        except NamespaceAlreadyExistsError:
            pass
        schema = Schema(NestedField(1, "id", LongType(), required=False))
        table = catalog.create_table(ident, schema=schema, properties={"format-version": "2"})
    table.append(pa.table({"id": pa.array(ids, pa.int64())}))
    return state(catalog.load_table(ident))


def main() -> None:
    command, url, ident, *rest = sys.argv[1:]
    if command == "append":
        print(json.dumps(append(url, ident, [int(i) for i in rest])))
    elif command == "read":
        print(json.dumps(state(RestCatalog("icerelay", uri=url).load_table(ident))))
    else:
        raise SystemExit(f"unknown command {command}")


if __name__ == "__main__":
    main()
