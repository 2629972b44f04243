"""Compares per-test outcomes of conformance runs: the same runners, directly against a catalog and
through Icerelay's proxy in front of it. Every test must end the same way (passed, failed or skipped)
in both runs; tests that ran on one side only count as differences.

Usage: compare_results.py [--name NAME] [--label-a direct] [--label-b proxied]
                          RUNNER:KIND:A:B [RUNNER:KIND:A:B ...]

  KIND rck       A and B are RCK report dirs (RCK_REPORTS_DIR of conformance/rck/run.sh): the
                 Surefire XML reports in <dir>/surefire/TEST-*.xml
  KIND scenarios A and B are logs of a conformance/common/steprunner.py runner (pyiceberg, spark,
                 cross-engine, workload): the closing table `scenario  result  seconds  detail`

Prints every difference, the tests that failed on both sides (with both reasons), and ends with
`<name>: N passed, N failed, 0 skipped`, where each compared test counts once: passed when its
outcome is the same on both sides, failed when it differs. A runner with no results on either side
counts as one failed test. Exit status 1 if anything differs.
"""

from __future__ import annotations

import argparse
import glob
import os
import re
import sys
import xml.etree.ElementTree as ET

Outcomes = dict[str, tuple[str, str]]  # test -> (PASS | FAIL | SKIP, detail)


def one_line(text: str | None, limit: int = 200) -> str:
    text = re.sub(r"\s+", " ", (text or "").strip())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def add(out: Outcomes, name: str, outcome: tuple[str, str]) -> None:
    """Records a test; a name seen again (a repeated display name) gets a #n suffix."""
    key, n = name, 1
    while key in out:
        n += 1
        key = f"{name}#{n}"
    out[key] = outcome


def rck_outcomes(report_dir: str) -> Outcomes:
    out: Outcomes = {}
    for path in sorted(glob.glob(os.path.join(report_dir, "surefire", "TEST-*.xml"))):
        try:
            root = ET.parse(path).getroot()
        except ET.ParseError as e:
            add(out, os.path.basename(path), ("FAIL", f"unreadable report: {e}"))
            continue
        cls = (root.get("name") or os.path.basename(path)).rsplit(".", 1)[-1]
        for tc in root.iter("testcase"):
            name = f"{cls}.{tc.get('name') or '(class setup)'}"
            bad = tc.find("failure") if tc.find("failure") is not None else tc.find("error")
            if bad is not None:
                kind = (bad.get("type") or "").rsplit(".", 1)[-1]
                add(out, name, ("FAIL", one_line(f"{kind}: {bad.get('message') or bad.text or ''}")))
            elif tc.find("skipped") is not None:
                add(out, name, ("SKIP", one_line(tc.find("skipped").get("message"))))
            else:
                add(out, name, ("PASS", ""))
    return out


ROW = re.compile(r"^(\S+)\s+(PASS|FAIL|SKIP)\s+-?[0-9.]+\s?(.*)$")


def scenario_outcomes(log: str) -> Outcomes:
    """The last result table of a steprunner log (it also covers scenarios failed by setup)."""
    out: Outcomes = {}
    if not os.path.isfile(log):
        return out
    with open(log, encoding="utf8", errors="replace") as f:
        lines = f.read().splitlines()
    starts = [i for i, line in enumerate(lines) if re.match(r"^scenario\s+result\s+seconds\s+detail", line)]
    if not starts:
        return out
    for line in lines[starts[-1] + 1:]:
        if not line.strip():
            break
        m = ROW.match(line)
        if m:
            add(out, m.group(1), (m.group(2), one_line(m.group(3))))
    return out


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--name", default="compare", help="name on the closing line (default: compare)")
    p.add_argument("--label-a", default="direct")
    p.add_argument("--label-b", default="proxied")
    p.add_argument("pairs", nargs="+", metavar="RUNNER:KIND:A:B")
    args = p.parse_args()
    la, lb = args.label_a, args.label_b

    same = differ = 0
    both_failed: list[str] = []
    for spec in args.pairs:
        parts = spec.split(":", 3)
        if len(parts) != 4 or parts[1] not in ("rck", "scenarios"):
            p.error(f"expected RUNNER:rck|scenarios:A:B, not {spec!r}")
        runner, kind, a_src, b_src = parts
        read = rck_outcomes if kind == "rck" else scenario_outcomes
        a, b = read(a_src), read(b_src)
        print(f"{runner}: {len(a)} tests {la} ({a_src}), {len(b)} tests {lb} ({b_src})")
        if not a and not b:
            print(f"  DIFFERENT {runner}: no results on either side")
            differ += 1
            continue
        for test in sorted(set(a) | set(b)):
            oa, ob = a.get(test), b.get(test)
            if oa is not None and ob is not None and oa[0] == ob[0]:
                same += 1
                if oa[0] == "FAIL":
                    both_failed.append(f"{runner}/{test}\n      {la}: {oa[1]}\n      {lb}: {ob[1]}")
                continue
            differ += 1
            sa = f"{oa[0]} {oa[1]}".strip() if oa else "not run"
            sb = f"{ob[0]} {ob[1]}".strip() if ob else "not run"
            print(f"  DIFFERENT {runner}/{test}\n      {la}: {sa}\n      {lb}: {sb}")
    if both_failed:
        print(f"\nfailed on both sides, so not a difference ({len(both_failed)}):")
        for entry in both_failed:
            print(f"  {entry}")
    print()
    print(f"{args.name}: {same} passed, {differ} failed, 0 skipped", flush=True)
    return 1 if differ else 0


if __name__ == "__main__":
    sys.exit(main())
