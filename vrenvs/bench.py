"""Steps/s of vrenvs next to MiniGrid, measured in one run and reported as ratios.

Cases, interleaved round by round so machine drift hits all alike (min / median / max over
rounds, after a warm-up): the single env under ``gymnasium.make`` with random actions and
resets, the native vector env at B = 1, 64, 1024, and MiniGrid-DoorKey-8x8-v0 (``pip install
"vrenvs[bench]"``). Output: ``bench.json`` and ``bench.md`` in the chosen folder.
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import time
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np

import vrenvs  # noqa: F401

__all__ = ["compare", "run_bench"]

ENV_ID = "vrenvs/Assistant-Fetch-v0"


def _single(env_id: str, steps: int) -> Callable[[], float]:
    env = gym.make(env_id)
    env.reset(seed=0)
    actions = np.random.default_rng(0).integers(0, int(env.action_space.n), steps).tolist()  # type: ignore[attr-defined]

    def run() -> float:
        start = time.perf_counter()
        for a in actions:
            _, _, terminated, truncated, _ = env.step(a)
            if terminated or truncated:
                env.reset()
        return steps / (time.perf_counter() - start)

    return run


def _vector(num_envs: int, steps: int, **kwargs: Any) -> Callable[[], float]:
    env = gym.make_vec(ENV_ID, num_envs=num_envs, vectorization_mode="vector_entry_point", **kwargs)
    env.reset(seed=0)
    actions = np.random.default_rng(0).integers(0, 9, (steps, num_envs))

    def run() -> float:
        start = time.perf_counter()
        for a in actions:
            env.step(a)
        return steps * num_envs / (time.perf_counter() - start)

    return run


def _cases(quick: bool) -> dict[str, Callable[[], float]]:
    n = 300 if quick else 4000
    cases = {"vrenvs single": _single(ENV_ID, n)}
    try:
        import minigrid  # noqa: F401

        cases["MiniGrid-DoorKey-8x8 single"] = _single("MiniGrid-DoorKey-8x8-v0", n)
    except ImportError:
        print('minigrid is not installed (pip install "vrenvs[bench]"): ratios are skipped')
    for b in (1, 64, 1024):
        cases[f"vrenvs vector B={b}"] = _vector(b, max((n * 4) // b, 20 if quick else 200))
    # The same with scenes drawn from 1,000 (cached after first use) instead of a fresh
    # procedural scene per episode: separates stepping from scene generation on reset.
    cases["vrenvs vector B=1024, 1000 scenes"] = _vector(1024, 20 if quick else 200, num_scenes=1000)
    return cases


def run_bench(out: Path, quick: bool = False) -> dict[str, Any]:
    """Measure env stepping; write ``bench.json`` / ``bench.md`` in ``out``."""
    return compare(
        _cases(quick),
        rounds=2 if quick else 5,
        peer="MiniGrid-DoorKey-8x8 single",
        unit="steps",
        out=out / "bench",
    )


def compare(
    cases: dict[str, Callable[[], float]], rounds: int, peer: str, unit: str, out: Path, note: str = ""
) -> dict[str, Any]:
    """Time ``cases`` (each returns a rate) round by round after a warm-up; report min /
    median / max and the ratio of medians to ``peer``; write ``out``.json and ``out``.md."""
    for run in cases.values():
        run()  # warm-up: caches, first resets
    samples: dict[str, list[float]] = {k: [] for k in cases}
    for _ in range(rounds):
        for name, run in cases.items():
            samples[name].append(run())
    table = {k: {"min": min(v), "median": statistics.median(v), "max": max(v)} for k, v in samples.items()}
    reference = table.get(peer, {}).get("median")
    result = {
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "machine": _machine(),
        "note": note,
        "rounds": rounds,
        f"{unit}_per_second": table,
        "ratio_to_minigrid": {k: v["median"] / reference for k, v in table.items()} if reference else {},
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    text = _markdown(result, unit)
    out.with_suffix(".json").write_text(json.dumps(result, indent=2))
    out.with_suffix(".md").write_text(text)
    print(text)
    return result


def _machine() -> str:
    cpu = platform.processor() or platform.machine()
    return f"{cpu}, {os.cpu_count()} cpus, Python {platform.python_version()}, numpy {np.__version__}"


def _markdown(result: dict[str, Any], unit: str) -> str:
    note = f" {result['note']};" if result["note"] else ""
    lines = [
        f"Measured {result['date']} on {result['machine']};{note} {result['rounds']} rounds.",
        "",
        f"| case | {unit}/s median | min | max | x MiniGrid |",
        "|---|---:|---:|---:|---:|",
    ]
    for name, row in result[f"{unit}_per_second"].items():
        ratio = result["ratio_to_minigrid"].get(name)
        shown = f"{ratio:.2f}" if ratio is not None else "-"
        lines.append(f"| {name} | {row['median']:,.0f} | {row['min']:,.0f} | {row['max']:,.0f} | {shown} |")
    return "\n".join(lines) + "\n"
