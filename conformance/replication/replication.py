"""Replication conformance: is a replica faithful to its source?

1. Writes through Icerelay's proxy (the normal catalog endpoint) with PyIceberg and Spark, in a
   namespace unique to the run (writes.py: one scenario per kind of commit).
2. Waits until GET <icerelay>/admin/v1/replication/status says every table and namespace of the
   run is `completed` for the replica; a table whose replication keeps failing (state `failed` or
   `paused`, or --give-up-after consecutive failures) is not waited for, and after --timeout the
   rest is reported as it is.
3. Checks each table loaded from the source (the proxy) and from the replica
   (<icerelay>/replicas/<name>) with PyIceberg, and with Spark where deletes are involved
   (verify.py), and the namespaces' properties.

Run through run.sh (it fetches the Iceberg Spark runtime). Prints one row per check and table,
ending in `replication: N passed, N failed, N skipped`; --report FILE also writes them as JSON.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

# PySpark turns TIMESTAMP values into naive datetimes in the Python process's zone: make that UTC.
os.environ["TZ"] = "UTC"
time.tzset()
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "common"))

import engines  # noqa: E402
import verify  # noqa: E402
import writes  # noqa: E402
from context import Context  # noqa: E402


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="conformance/replication", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("catalog_url", nargs="?", help="Icerelay's URL (the proxy), e.g. http://127.0.0.1:8181")
    p.add_argument("--replica", help="replica destination name, served at <catalog_url>/replicas/<name>")
    p.add_argument("--dest-prefix", help="where every file of the replica must be, e.g. file:///data/replicas/local/")
    p.add_argument("--s3-endpoint", help="S3-compatible endpoint of the source's files (path-style)")
    p.add_argument("--replica-s3-endpoint", help="S3-compatible endpoint of the replica's files (default: --s3-endpoint)")
    p.add_argument("--replica-namespace-prefix", default="", metavar="NS",
                   help="namespace levels (dot-separated) the destination puts in front of replicated namespaces")
    p.add_argument("--warehouse", help="`warehouse` property for the source catalog (default: not sent)")
    p.add_argument("--only", action="append", metavar="SCENARIO", help="run only this scenario (repeatable)")
    p.add_argument("--list", action="store_true", help="list the scenarios and exit")
    p.add_argument("--timeout", type=float, default=300, help="seconds to wait for replication (default 300)")
    p.add_argument("--give-up-after", type=int, default=3, metavar="N",
                   help="stop waiting for a table whose replication failed N times in a row (default 3)")
    p.add_argument("--report", metavar="FILE", help="write the results as JSON to FILE")
    p.add_argument("--keep", action="store_true", help="keep the run's source namespace and tables")
    a = p.parse_args()
    if a.list:
        for name, engine, fn in writes.SCENARIOS:
            print(f"{name:40s} {engine:9s} {(fn.__doc__ or '').splitlines()[0]}")
        sys.exit(0)
    for flag in ("catalog_url", "replica", "dest_prefix"):
        if not getattr(a, flag):
            p.error(f"{'<icerelay-url>' if flag == 'catalog_url' else '--' + flag.replace('_', '-')} is required")
    known = {n for n, _, _ in writes.SCENARIOS}
    unknown = sorted(set(a.only or []) - known)
    if unknown:
        p.error(f"unknown scenario(s) {', '.join(unknown)}; --list shows them")
    a.catalog_url = a.catalog_url.rstrip("/")
    a.replica_url = f"{a.catalog_url}/replicas/{a.replica}"
    a.replica_namespace_prefix = [x for x in a.replica_namespace_prefix.split(".") if x]
    return a


# --- run -----------------------------------------------------------------------------------------

def setup(ctx: Context) -> None:
    code, body = ctx.http_json(ctx.args.catalog_url + "/admin/v1/replication/status")
    if code != 200 or not isinstance(body, dict):
        raise SystemExit(f"{ctx.args.catalog_url}/admin/v1/replication/status answered {code}: is this Icerelay?")
    if ctx.args.replica not in body.get("destinations", []):
        raise SystemExit(f"Icerelay has no replica destination {ctx.args.replica!r} (it has {body.get('destinations')})")
    ctx.connect()
    ctx.source.create_namespace(ctx.ns, {"purpose": "icerelay replication conformance"})
    print(f"namespace {ctx.ns} at {ctx.args.catalog_url}, replica {ctx.args.replica_url}, "
          f"files under {ctx.args.dest_prefix}", flush=True)


def drop_tree(catalog, ns: tuple) -> None:
    for child in catalog.list_namespaces(ns):
        drop_tree(catalog, child)
    for table in catalog.list_tables(ns):
        catalog.purge_table(table)
    catalog.drop_namespace(ns)


def main() -> int:
    args = parse_args()
    ctx = Context(args, engines.unique_name("repl"))
    setup(ctx)
    try:
        for name, _, fn in writes.SCENARIOS:
            if args.only and name not in args.only:
                continue
            print(f"--- write {name}", flush=True)
            ctx.record(name, "write", lambda fn=fn: fn(ctx))
        states = ctx.wait_replicated()
        for case in ctx.cases:
            print(f"--- check {case.label}", flush=True)
            verify.verify_case(ctx, case, states)
        for ns in ctx.namespaces:
            verify.verify_namespace(ctx, ns, states)
    finally:
        try:
            if not args.keep and ctx.source is not None and ctx.source.namespace_exists(ctx.ns):
                drop_tree(ctx.source, (ctx.ns,))
        except Exception as e:  # noqa: BLE001 - cleanup problems do not fail the checks
            print(f"warning: cleanup failed: {e}", file=sys.stderr)
        ctx.stop()
    return ctx.report()


if __name__ == "__main__":
    sys.exit(main())
