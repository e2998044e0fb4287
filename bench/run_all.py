"""`make bench`: every benchmark in bench/, then one table of what was measured, with the
baseline each row is compared with (measured in the same run) beside it.

Scripts, in order: endpoints.py (the hot endpoints on the mid-size retailer of
dataset.py, with the bare DRF endpoint and the pgbench baselines), load.py (a short mixed
load with gunicorn and Celery workers while a campaign sends), stock.py, customers.py,
orders.py, campaigns.py. Each still runs alone and prints its own detail; here each adds
its rows to one results file (harness.record) and this prints them together.

    .venv/bin/python bench/run_all.py [--scale 1] [--quick] [--only endpoints,load]

`--quick` runs everything small (dataset scale 0.01, a few seconds each): a smoke test of
the suite, not figures to publish.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def scripts(scale: float, quick: bool) -> list[tuple[str, list[str]]]:
    if quick:
        return [
            ("endpoints", ["--scale", "0.01", "--seconds", "3"]),
            (
                "load",
                [
                    *("--scale", "0.01", "--seconds", "5", "--availability", "20"),
                    *("--sales", "10", "--checkouts", "2", "--lookups", "5"),
                    *("--audience", "500", "--drain", "60"),
                ],
            ),
            ("stock", ["--clients", "2", "--seconds", "2", "--skus", "50"]),
            ("customers", ["--customers", "2000", "--requests", "200"]),
            (
                "orders",
                ["--seconds", "3", "--clients", "2", "--workers", "2", "--skus", "50"]
                + ["--customers", "2000", "--facts", "10000"],
            ),
            ("campaigns", ["--customers", "2000", "--sample", "500"]),
        ]
    return [
        ("endpoints", ["--scale", f"{scale:g}", "--seconds", "10"]),
        ("load", ["--scale", f"{scale:g}", "--seconds", "30", "--audience", "20000"]),
        ("stock", []),
        ("customers", []),
        ("orders", []),
        ("campaigns", []),
    ]


def describe(row: dict) -> str:
    parts = []
    if row.get("throughput") is not None:
        parts.append(f"{row['throughput']:,.0f} {row['unit']}")
    if row.get("p50_ms") is not None:
        parts.append(f"p50 {row['p50_ms']:.1f} / p95 {row['p95_ms']:.1f} ms")
    if row.get("note"):
        parts.append(row["note"])
    return "; ".join(parts)


def table(rows: list[dict]) -> str:
    by_name = {row["measure"]: row for row in rows}
    lines = [
        "| measure | clients | result | baseline (same run) | load |",
        "|---|---|---|---|---|",
    ]
    for row in rows:
        baseline = by_name.get(row.get("baseline") or "")
        beside = f"{baseline['measure']}: {describe(baseline)}" if baseline else ""
        lines.append(
            f"| {row['measure']} | {row.get('clients') or ''} | {describe(row)} | {beside} |"
            f" {row['load']} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--only", default="", help="comma-separated script names")
    options = parser.parse_args()
    only = {name for name in options.only.split(",") if name}

    results = Path(tempfile.mkstemp(prefix="omni-bench-", suffix=".jsonl")[1])
    environment = {**os.environ, "BENCH_RESULTS": str(results)}
    started = time.perf_counter()
    failed = []
    load_before = os.getloadavg()
    for name, arguments in scripts(options.scale, options.quick):
        if only and name not in only:
            continue
        print(f"== bench/{name}.py {' '.join(arguments)}", flush=True)
        begun = time.perf_counter()
        done = subprocess.run(  # noqa: S603 - our own interpreter and scripts
            [sys.executable, str(ROOT / "bench" / f"{name}.py"), *arguments],
            cwd=ROOT,
            env=environment,
            check=False,
        )
        print(f"== bench/{name}.py: {time.perf_counter() - begun:.0f} s", flush=True)
        if done.returncode:
            failed.append(name)
    rows = [json.loads(line) for line in results.read_text().splitlines() if line.strip()]
    results.unlink()
    print()
    print(
        f"make bench: {len(rows)} measurements in {(time.perf_counter() - started) / 60:.1f} min"
        f" on {os.cpu_count()} cores; load average {load_before[0]:.1f} at the start,"
        f" {os.getloadavg()[0]:.1f} at the end (the load column is the 1-minute load average"
        " when the row was measured)"
    )
    print(table(rows))
    if failed:
        raise SystemExit(f"failed: {', '.join(failed)}")


if __name__ == "__main__":
    main()
