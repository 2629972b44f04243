"""A tiny scenario runner shared by the conformance scripts.

Each scenario is an independent named check: it passes, fails (any exception) or is skipped
(`Skip`). Failures print their traceback as they happen; the run ends with a table and a summary
line `<engine>: N passed, N failed, N skipped`. The exit code is non-zero if anything failed or
nothing ran, so callers (npm scripts, CI) can rely on it. With a results file, each scenario's
outcome is also written there as JSON (`icerelay conformance` reads it):
{"runner": engine, "checks": [{"name", "status": "passed|failed|skipped", "reason", "seconds"}]}.
"""

from __future__ import annotations

import fnmatch
import json
import sys
import time
import traceback
from typing import Callable


class Skip(Exception):
    """Raised by a scenario that cannot run here; the message is the reason printed."""


def check(actual, expected, what: str) -> None:
    """Exact comparison with a readable message (rows are compared as sorted lists of tuples)."""
    if actual != expected:
        raise AssertionError(f"{what}:\n    expected {expected!r}\n    actual   {actual!r}")


class Runner:
    def __init__(self, engine: str):
        self.engine = engine
        self.scenarios: list[tuple[str, Callable[[], None]]] = []

    def scenario(self, fn: Callable[[], None]) -> Callable[[], None]:
        """Decorator: registers `fn` under its name."""
        self.scenarios.append((fn.__name__, fn))
        return fn

    def run(self, only: list[str] | None = None, setup: Callable[[], None] | None = None,
            teardown: Callable[[], None] | None = None, results_file: str | None = None) -> int:
        """Runs the scenarios named in `only` (names or shell-style patterns such as `spark_*`), or all."""
        def selected(name: str) -> bool:
            return not only or any(fnmatch.fnmatchcase(name, pattern) for pattern in only)

        chosen = [(n, f) for n, f in self.scenarios if selected(n)]
        unknown = {p for p in only or [] if not any(fnmatch.fnmatchcase(n, p) for n, _ in self.scenarios)}
        if unknown:
            print(f"unknown scenario(s): {', '.join(sorted(unknown))}", file=sys.stderr)
            return 2
        results: list[tuple[str, str, float, str]] = []
        setup_error = None
        if setup:
            try:
                setup()
            except Exception as e:  # every scenario depends on setup: report them all as failed
                traceback.print_exc()
                setup_error = f"setup failed: {type(e).__name__}: {e}".splitlines()[0]
        try:
            for name, fn in chosen:
                if setup_error:
                    results.append((name, "FAIL", 0.0, setup_error))
                    continue
                print(f"--- {self.engine}/{name}", flush=True)
                start = time.monotonic()
                try:
                    fn()
                    status, detail = "PASS", ""
                except Skip as e:
                    status, detail = "SKIP", str(e)
                except Exception as e:  # any error is a failed check, the run goes on
                    traceback.print_exc()
                    status, detail = "FAIL", f"{type(e).__name__}: {e}".splitlines()[0]
                results.append((name, status, time.monotonic() - start, detail))
                print(f"--- {self.engine}/{name}: {status} {detail}", flush=True)
        finally:
            if teardown:
                try:
                    teardown()
                except Exception:  # cleanup problems are reported but do not fail the checks
                    print("warning: cleanup failed:", file=sys.stderr)
                    traceback.print_exc()
        if results_file:
            self.write_results(results, results_file)
        return self.report(results)

    def write_results(self, results: list[tuple[str, str, float, str]], path: str) -> None:
        status = {"PASS": "passed", "FAIL": "failed", "SKIP": "skipped"}
        checks = [{"name": n, "status": status[s], "reason": d, "seconds": round(secs, 3)} for n, s, secs, d in results]
        with open(path, "w", encoding="utf-8") as f:
            json.dump({"runner": self.engine, "checks": checks}, f, indent=1)

    def report(self, results: list[tuple[str, str, float, str]]) -> int:
        width = max([len(n) for n, *_ in results] + [8])
        print()
        print(f"{'scenario'.ljust(width)}  result  seconds  detail")
        for name, status, secs, detail in results:
            print(f"{name.ljust(width)}  {status.ljust(6)}  {secs:7.1f}  {detail[:160]}")
        passed = sum(1 for r in results if r[1] == "PASS")
        failed = sum(1 for r in results if r[1] == "FAIL")
        skipped = sum(1 for r in results if r[1] == "SKIP")
        print()
        print(f"{self.engine}: {passed} passed, {failed} failed, {skipped} skipped", flush=True)
        return 1 if failed or not passed else 0
