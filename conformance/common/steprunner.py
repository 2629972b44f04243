"""A tiny scenario runner shared by the conformance scripts.

Each scenario is an independent named check: it passes, fails (any exception) or is skipped
(`Skip`). Failures print their traceback as they happen; the run ends with a table and a summary
line `<engine>: N passed, N failed, N skipped`. The exit code is non-zero if anything failed or
nothing ran, so callers (npm scripts, CI) can rely on it.
"""

from __future__ import annotations

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
            teardown: Callable[[], None] | None = None) -> int:
        chosen = [(n, f) for n, f in self.scenarios if not only or n in only]
        unknown = set(only or []) - {n for n, _ in self.scenarios}
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
        return self.report(results)

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
