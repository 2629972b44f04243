"""Replication lag for small commits: commit through Icerelay's proxy, then poll the replica until it
shows the commit (see run.sh, which starts the server).

A PyIceberg client creates a fresh table, waits for the replica to have it, then makes `commits`
appends of a 1-row Arrow table, one at a time. For each:
- commit latency: the proxy's answer time for the commit request itself (POST .../tables/{t}, from
  sending it to the response headers), and the whole `append()` (Parquet file, manifest, manifest
  list, then the commit request);
- lag: from the moment the commit's response arrived (commit acknowledged) until
  `GET /replicas/local/v1/namespaces/{ns}/tables/{t}` reports the committed snapshot as current,
  polled every `poll_ms` ms on a keep-alive connection. The resolution is the poll interval plus
  one GET.
Writes a JSON report to --out.
"""
import argparse
import json
import statistics
import sys
import time
import uuid

import pyarrow as pa
import requests
from pyiceberg.catalog import load_catalog
from pyiceberg.schema import Schema
from pyiceberg.types import LongType, NestedField, StringType


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--url", required=True, help="Icerelay's proxy, e.g. http://127.0.0.1:18481")
    p.add_argument("--replica-url", help="the replica catalog (default <url>/replicas/local)")
    p.add_argument("--commits", type=int, default=200)
    p.add_argument("--poll-ms", type=float, default=5)
    p.add_argument("--timeout-s", type=float, default=60, help="give up on one commit's replication after this")
    p.add_argument("--out", required=True)
    return p.parse_args()


def percentile(values: list[float], p: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(values)
    k = max(0, min(len(ordered) - 1, int(round(p / 100 * len(ordered) + 0.5)) - 1))
    return ordered[k]


def describe(values: list[float]) -> dict:
    return {"p50": percentile(values, 50), "p99": percentile(values, 99), "max": max(values),
            "mean": statistics.fmean(values), "min": min(values)}


def main() -> None:
    args = parse_args()
    replica_url = args.replica_url or f"{args.url.rstrip('/')}/replicas/local"
    catalog = load_catalog("bench", type="rest", uri=args.url)
    namespace = f"bench_lag_{uuid.uuid4().hex[:8]}"
    name = "events"
    catalog.create_namespace(namespace)
    table = catalog.create_table(
        f"{namespace}.{name}",
        schema=Schema(NestedField(1, "id", LongType(), required=False), NestedField(2, "payload", StringType(), required=False)),
    )

    # The commit request's answer time and arrival, seen by the client's own HTTP session.
    commit_path = f"/v1/namespaces/{namespace}/tables/{name}"
    acks: list[tuple[float, float]] = []

    def on_response(response, *_args, **_kwargs):
        if response.request.method == "POST" and response.request.path_url.split("?")[0].endswith(commit_path):
            acks.append((time.perf_counter(), response.elapsed.total_seconds()))

    catalog._session.hooks["response"].append(on_response)  # noqa: SLF001 - PyIceberg's requests session

    poller = requests.Session()
    replica_table = f"{replica_url}/v1/namespaces/{namespace}/tables/{name}"
    polls = 0

    def replica_snapshot():
        nonlocal polls
        polls += 1
        r = poller.get(replica_table, timeout=10)
        if r.status_code == 404:
            return "missing"
        r.raise_for_status()
        current = r.json()["metadata"].get("current-snapshot-id")
        return None if current in (None, -1) else current  # -1 and null both mean "no snapshot"

    def wait_for(expected, started: float) -> float:
        while True:
            if replica_snapshot() == expected:
                return time.perf_counter() - started
            if time.perf_counter() - started > args.timeout_s:
                raise TimeoutError(f"the replica did not show snapshot {expected} within {args.timeout_s} s")
            time.sleep(args.poll_ms / 1000)

    created = time.perf_counter()
    create_lag = wait_for(None if table.current_snapshot() is None else table.current_snapshot().snapshot_id, created)
    rows = []
    for i in range(args.commits):
        data = pa.table({"id": pa.array([i], pa.int64()), "payload": pa.array([f"row {i}"], pa.string())})
        before = len(acks)
        start = time.perf_counter()
        table.append(data)
        appended = time.perf_counter()
        if len(acks) != before + 1:
            raise RuntimeError(f"expected one commit request for append {i}, saw {len(acks) - before}")
        ack_at, commit_s = acks[-1]
        snapshot_id = table.current_snapshot().snapshot_id
        polls_before = polls
        lag = wait_for(snapshot_id, ack_at)
        rows.append({"i": i, "commitMs": commit_s * 1000, "appendMs": (appended - start) * 1000,
                     "lagMs": lag * 1000, "polls": polls - polls_before})
        if (i + 1) % 50 == 0:
            recent = [r["lagMs"] for r in rows[-50:]]
            print(f"{i + 1} commits: lag p50 {percentile(recent, 50):.0f} ms over the last 50", file=sys.stderr)

    lags = [r["lagMs"] for r in rows]
    quarter = max(1, len(rows) // 4)
    report = {
        "commits": args.commits,
        "pollMs": args.poll_ms,
        "replica": replica_url.rstrip("/").rsplit("/", 1)[-1],
        "table": f"{namespace}.{name}",
        "createLagMs": create_lag * 1000,
        "lagMs": describe(lags),
        "lagFirstQuarterMs": describe(lags[:quarter]),
        "lagLastQuarterMs": describe(lags[-quarter:]),
        "commitMs": describe([r["commitMs"] for r in rows]),
        "appendMs": describe([r["appendMs"] for r in rows]),
        "rows": rows,
    }
    with open(args.out, "w") as f:
        json.dump(report, f, indent=2)
        f.write("\n")
    s = report["lagMs"]
    print(f"lag p50 {s['p50']:.0f} ms, p99 {s['p99']:.0f} ms, max {s['max']:.0f} ms; "
          f"commit p50 {report['commitMs']['p50']:.1f} ms", file=sys.stderr)


main()
