"""Renders bench/replication's results.md and results.json from the parts run.sh measured.
Usage: python report.py --machine machine.json [--rewrite rewrite.json] [--profile profile.md]
       [--lag lag.json] --command "..." --out-dir DIR
Prints the summary (the first lines of results.md) to stdout."""
import argparse
import json
import os

REWRITE_GOAL = 5.0
LAG_GOAL_P50_MS = 1000
LAG_GOAL_P99_MS = 3000


def load(path):
    if not path or not os.path.exists(path):
        return None
    with open(path) as f:
        return json.load(f)


def n(x: float) -> str:
    return f"{x:,.0f}"


def ms(x: float) -> str:
    return f"{x:,.0f}" if x >= 100 else f"{x:.1f}"


def met(ok: bool) -> str:
    return "met" if ok else "**not met**"


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--machine", required=True)
    p.add_argument("--rewrite")
    p.add_argument("--profile")
    p.add_argument("--lag")
    p.add_argument("--server-profile")
    p.add_argument("--command", required=True)
    p.add_argument("--out-dir", required=True)
    a = p.parse_args()
    machine, rewrite, lag = load(a.machine), load(a.rewrite), load(a.lag)
    profile = open(a.profile).read().strip() if a.profile and os.path.exists(a.profile) else None
    server_profile = open(a.server_profile).read().strip() if a.server_profile and os.path.exists(a.server_profile) else None

    md = ["# Replication benchmark", ""]
    md.append(f"Command: `{a.command}`, {machine['date']}.")
    md.append(f"Machine: {machine['nproc']} cores ({machine['cpu']}), {machine['memory']} RAM, {machine['os']}; "
              f"load average {machine['loadStart']} at the start, {machine['loadEnd']} at the end "
              f"(other processes share the machine, so rounds take turns).")
    md.append(f"Versions: Node.js {machine['node']}, {machine['java']}, Spark {machine['spark']}, "
              f"Iceberg {machine['iceberg']} (Spark runtime), PyIceberg {machine['pyiceberg']}.")
    md.append(f"Icerelay code measured: {machine['code']}.")
    md.append("")
    md.append("## Summary")
    md.append("")
    if rewrite:
        r = rewrite
        md.append(f"- Metadata rewrite: Icerelay {n(r['icerelay']['entriesPerSec'])} manifest entries/s, Iceberg's "
                  f"`rewrite_table_path` (Spark) {n(r['spark']['entriesPerSec'])} entries/s: **{r['ratio']:.2f}x** "
                  f"(goal >= {REWRITE_GOAL:.0f}x: {met(r['ratio'] >= REWRITE_GOAL)}).")
    else:
        md.append("- Metadata rewrite: not measured in this run.")
    if lag:
        s = lag["lagMs"]
        ok = s["p50"] <= LAG_GOAL_P50_MS and s["p99"] <= LAG_GOAL_P99_MS
        md.append(f"- Replication lag, commit acknowledged to replica visible, {lag['commits']} one-row appends: "
                  f"p50 {ms(s['p50'])} ms, p99 {ms(s['p99'])} ms, max {ms(s['max'])} ms "
                  f"(goal p50 <= 1 s, p99 <= 3 s: {met(ok)}); commit request p50 {ms(lag['commitMs']['p50'])} ms, "
                  f"p99 {ms(lag['commitMs']['p99'])} ms.")
    else:
        md.append("- Replication lag: not measured in this run.")
    md.append("- Backfill of 1,000 tables vs an AWS SDK copy loop: its own benchmark, bench/backfill (results.md there).")
    md.append("")

    if rewrite:
        t = rewrite["table"]
        md += ["## 1. Metadata rewrite throughput", ""]
        md.append(f"Table (built with Spark + Iceberg, Hadoop catalog on local disk): format v{t['formatVersion']}, partitioned by day, "
                  f"{n(t['entries'])} manifest entries in {t['manifests']} manifests ({t['commits']} fast appends of "
                  f"{n(t['filesPerCommit'])} entries, each a copy of a real data file's entry with its column metrics "
                  f"for 5 columns, plus the first INSERT), {t['snapshots']} snapshots, {t['metadataVersions']} metadata JSON "
                  f"versions; manifests compressed with {t['manifestCodec']}. The data files are not written: neither side reads them.")
        md.append("")
        md.append("Both sides do the same work: read from disk, map every location from the table's location to "
                  "`s3://replica-bucket/warehouse/bench/events`, and write every metadata JSON version, every manifest list, "
                  "every manifest (once) and a copy-plan list (source,target per file, data files included) to a fresh folder. "
                  f"Both wrote {n(r['runs']['spark'][0]['copyPlanLines'])} copy-plan lines per run (spark) / "
                  f"{n(r['runs']['icerelay'][0]['copyPlanLines'])} (icerelay).")
        md.append("")
        md.append("- **spark**: `CALL h.system.rewrite_table_path(table => ..., source_prefix => ..., target_prefix => ..., "
                  "staging_location => ...)` timed around the call inside one warm Spark session (`local[*]`, so up to "
                  f"{machine['nproc']} cores; JVM start-up, session creation and table creation are excluded).")
        md.append("- **icerelay**: `bench/replication/rewrite-worker.ts`, one warm Node.js process (single thread) running "
                  "`planReplicaMetadata` per metadata version, `rewriteManifest` per manifest and `rewriteManifestList` per "
                  "list, as the shipper does; timed inside the process (Node.js start-up excluded).")
        md.append(f"- One warm-up run of each first (not counted: spark {r['warmup']['spark']['seconds']:.2f} s, "
                  f"icerelay {r['warmup']['icerelay']['seconds']:.2f} s), then {r['rounds']} rounds taking turns "
                  "(the first side alternates); median reported.")
        md.append("")
        md.append("| side | median (s) | entries/s | runs (s) |")
        md.append("|---|---|---|---|")
        for side in ("icerelay", "spark"):
            s = r[side]
            md.append(f"| {side} | {s['medianSeconds']:.2f} | {n(s['entriesPerSec'])} | "
                      f"{', '.join(f'{x:.2f}' for x in s['seconds'])} |")
        md.append(f"| ratio icerelay / spark | | **{r['ratio']:.2f}x** | |")
        md.append("")
        phases = r["runs"]["icerelay"]
        keys = list(phases[0]["phasesMs"].keys())
        md.append("Where Icerelay's time goes (mean of the rounds, ms):")
        md.append("")
        md.append("| " + " | ".join(keys) + " |")
        md.append("|" + "---|" * len(keys))
        md.append("| " + " | ".join(ms(sum(p["phasesMs"][k] for p in phases) / len(phases)) for k in keys) + " |")
        md.append("")
        if profile:
            md += ["### CPU profile of Icerelay's side", "", profile, ""]

    if lag:
        md += ["## 2. Replication lag for small commits", ""]
        where = (f"with `--config {machine['config']}`, shipping every commit into the read-only replica `{lag['replica']}`"
                 if machine.get("config") else
                 f"the proxy in front of the built-in catalog (SQLite, local warehouse), shipping every commit into the "
                 f"read-only replica `{lag['replica']}` (local disk)")
        md.append(f"`npm start` on a free port with a fresh data folder, {where}; proxy, catalog and shipper in one "
                  "Node.js process. A PyIceberg client "
                  f"(`bench/replication/lag_bench.py`) creates a table and makes {lag['commits']} appends of a 1-row Arrow table, "
                  "one at a time. Lag: from the arrival of the commit's response to the first "
                  f"`GET /replicas/{lag['replica']}/v1/namespaces/{{ns}}/tables/{{t}}` that shows the committed snapshot as current, "
                  f"polled every {lag['pollMs']:g} ms (resolution: the poll interval plus one GET, which the same "
                  "server answers). Commit: the commit request itself (send to response headers); append: PyIceberg's whole "
                  "`append()` (Parquet file, manifest, manifest list, commit).")
        md.append("")
        md.append("| measure | p50 (ms) | p99 (ms) | max (ms) | mean (ms) |")
        md.append("|---|---|---|---|---|")
        rows = [("lag, all commits", lag["lagMs"]), ("lag, first quarter of the commits", lag["lagFirstQuarterMs"]),
                ("lag, last quarter of the commits", lag["lagLastQuarterMs"]), ("commit request", lag["commitMs"]),
                ("whole append()", lag["appendMs"])]
        for name, s in rows:
            md.append(f"| {name} | {ms(s['p50'])} | {ms(s['p99'])} | {ms(s['max'])} | {ms(s['mean'])} |")
        md.append("")
        md.append(f"The table's creation reached the replica in {ms(lag['createLagMs'])} ms.")
        md.append("")
        rows = lag["rows"]
        k = len(rows)
        if k >= 8:
            xs = [r["i"] + 1 for r in rows]
            ys = [r["lagMs"] for r in rows]
            mx, my = sum(xs) / k, sum(ys) / k
            slope = sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / sum((x - mx) ** 2 for x in xs)
            md.append(f"Lag by commit number (the table's history grows by one snapshot and one manifest per commit; "
                      f"least-squares slope {slope:.1f} ms per commit, intercept {my - slope * mx:.0f} ms):")
            md.append("")
            md.append("| commits | lag p50 (ms) | lag max (ms) | commit request p50 (ms) |")
            md.append("|---|---|---|---|")
            size = k // 8
            for b in range(8):
                chunk = rows[b * size:(b + 1) * size] if b < 7 else rows[7 * size:]
                lags = sorted(r["lagMs"] for r in chunk)
                commits = sorted(r["commitMs"] for r in chunk)
                md.append(f"| {chunk[0]['i'] + 1}-{chunk[-1]['i'] + 1} | {ms(lags[len(lags) // 2])} | {ms(lags[-1])} | "
                          f"{ms(commits[len(commits) // 2])} |")
            md.append("")

    if lag and server_profile:
        md += ["### CPU profile of the server during the lag measurement", "",
               "The whole process (proxy, built-in catalog, shipper, replica endpoint answering the polls), idle time included.",
               "", server_profile, ""]

    md += ["## 3. Backfill", "", "Backfill of 1,000 tables vs an AWS SDK copy loop is measured by its own benchmark: `bash bench/backfill/run.sh`, results in bench/backfill/results.md.", ""]

    os.makedirs(a.out_dir, exist_ok=True)
    with open(os.path.join(a.out_dir, "results.md"), "w") as f:
        f.write("\n".join(md))
    if rewrite and "job" in rewrite:  # locations in the (deleted) scratch folder, relative to the repository
        rewrite["job"] = {k: v.replace(os.getcwd() + "/", "") for k, v in rewrite["job"].items()}
    result = {"command": a.command, "machine": machine, "rewrite": rewrite, "lag": lag,
              "backfill": "see bench/backfill/results.json"}
    with open(os.path.join(a.out_dir, "results.json"), "w") as f:
        json.dump(result, f, indent=2)
        f.write("\n")
    summary = md[md.index("## Summary") + 2:]
    print("\n".join(summary[:summary.index("")]))


main()
