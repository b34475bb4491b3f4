"""How RLlib training scales with env runners: ``python -m agents.rllib_bench SCENARIO``.

For each number of env runners, builds the scenario's RLlib config (``agents/configs/rllib``)
and trains a few iterations after a warm-up one; reports env steps per second of training
wall time and the ratio to the first row, and the same for the runners sampling a training
batch between them without the learner's update (the bound the learner's share keeps
training under). Needs ``vrenvs[rllib]``.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

from agents.rllib_train import algo_config, load_rllib_config, start_ray

__all__ = ["main", "scaling"]


def scaling(name: str, runners: list[int], iterations: int, overrides: list[str]) -> list[dict[str, Any]]:
    """One row per entry of ``runners``: env steps per second of training wall time."""
    import torch

    torch.set_num_threads(1)
    env_name = start_ray()
    rows = []
    for count in runners:
        cfg = load_rllib_config(name, [*overrides, f"num_env_runners={count}"])
        algo = algo_config(cfg, env_name).build_algo()
        algo.train()  # warm-up: actors started, first weights synced
        before = algo.train()["env_runners"]["num_env_steps_sampled_lifetime"]
        start = time.perf_counter()
        for _ in range(iterations):
            result = algo.train()
        wall = time.perf_counter() - start
        steps = result["env_runners"]["num_env_steps_sampled_lifetime"] - before
        sampled = _sampling_rate(algo, cfg.ppo.get("train_batch_size_per_learner", 4000), iterations)
        algo.stop()
        rows.append(
            {
                "env_runners": count,
                "env_steps": int(steps),
                "train_steps_per_second": steps / wall,
                "sample_steps_per_second": sampled,
                "iterations": iterations,
            }
        )
    for row in rows:
        row["x_first"] = row["train_steps_per_second"] / rows[0]["train_steps_per_second"]
        row["sample_x_first"] = row["sample_steps_per_second"] / rows[0]["sample_steps_per_second"]
    return rows


def _sampling_rate(algo: Any, batch: int, rounds: int) -> float:
    """Env steps per second of the env runners sampling a training batch between them,
    without the learner's update (what the runners alone give: the upper bound of scaling)."""
    group = algo.env_runner_group
    remote = group.num_remote_env_runners()
    share = max(1, batch // max(remote, 1))

    def sample(runner: Any) -> int:
        return sum(len(episode) for episode in runner.sample(num_timesteps=share, explore=True))

    steps = 0
    start = time.perf_counter()
    for _ in range(rounds):
        steps += sum(group.foreach_env_runner(sample, local_env_runner=remote == 0))
    return steps / (time.perf_counter() - start)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m agents.rllib_bench", description=__doc__)
    parser.add_argument("scenario", nargs="?", default="Guard-Thief")
    parser.add_argument("--runners", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--iterations", type=int, default=4)
    parser.add_argument("--set", nargs="*", default=[], metavar="KEY=VALUE")
    parser.add_argument("--out", type=Path, default=Path("out/rllib_bench.json"))
    args = parser.parse_args(argv)
    rows = scaling(args.scenario, args.runners, args.iterations, args.set)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"scenario": args.scenario, "rows": rows}, indent=2))
    print(
        "| env runners | env-steps/s (training) | x 1st row | env-steps/s (sampling only) | x 1st row |\n"
        "|---:|---:|---:|---:|---:|"
    )
    for r in rows:
        train, sample = r["train_steps_per_second"], r["sample_steps_per_second"]
        cells = [str(r["env_runners"]), f"{train:,.0f}", f"{r['x_first']:.2f}", f"{sample:,.0f}"]
        print("| " + " | ".join([*cells, f"{r['sample_x_first']:.2f}"]) + " |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
