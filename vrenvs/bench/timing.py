"""Timing helpers shared by the benchmark sections: interleaved rounds, ratio tables."""

from __future__ import annotations

import json
import os
import platform
import statistics
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["compare", "machine", "measure", "rate_table"]


def measure(cases: dict[str, Callable[[], float]], rounds: int) -> dict[str, dict[str, float]]:
    """min / median / max of each case's rate over ``rounds`` interleaved rounds (after a
    warm-up call of each)."""
    for run in cases.values():
        run()
    samples: dict[str, list[float]] = {k: [] for k in cases}
    for _ in range(rounds):
        for name, run in cases.items():
            samples[name].append(run())
    return {k: {"min": min(v), "median": statistics.median(v), "max": max(v)} for k, v in samples.items()}


def compare(
    cases: dict[str, Callable[[], float]], rounds: int, peer: str, unit: str, out: Path, note: str = ""
) -> dict[str, Any]:
    """Time ``cases`` (each returns a rate) round by round after a warm-up; report min /
    median / max and the ratio of medians to ``peer``; write ``out``.json and ``out``.md."""
    table = measure(cases, rounds)
    reference = table.get(peer, {}).get("median")
    result = {
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "machine": machine(),
        "note": note,
        "rounds": rounds,
        f"{unit}_per_second": table,
        "ratio_to_minigrid": {k: v["median"] / reference for k, v in table.items()} if reference else {},
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    text = rate_table(
        table, peer, unit, f"Measured {result['date']} on {result['machine']}; {note} {rounds} rounds."
    )
    out.with_suffix(".json").write_text(json.dumps(result, indent=2))
    out.with_suffix(".md").write_text(text)
    print(text)
    return result


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    return f"{cpu}, {os.cpu_count()} cpus, Python {platform.python_version()}, numpy {np.__version__}"


def rate_table(table: dict[str, dict[str, float]], peer: str | None, unit: str, head: str = "") -> str:
    reference = table.get(peer or "", {}).get("median")
    lines = [head, ""] if head else []
    lines += [f"| case | {unit}/s median | min | max | x peer |", "|---|---:|---:|---:|---:|"]
    for name, row in table.items():
        shown = f"{row['median'] / reference:.2f}" if reference else "-"
        lines.append(f"| {name} | {row['median']:,.0f} | {row['min']:,.0f} | {row['max']:,.0f} | {shown} |")
    return "\n".join(lines) + "\n"
