"""SB3 and RLlib policies of one task, on one evaluator: ``python -m agents.engines``.

``python -m agents.engines --run SB3=runs/Assistant-Fetch-v0/s0 --run RLlib=runs/rllib-s0
--episodes 200`` evaluates each run's final policy — an SB3 run's ``final/`` (the project's
SB3 policy format) or an RLlib run's ``policies/<role>/`` (``model: world``) — on the same
held-out scenes with :func:`agents.rllib_policy.evaluate_roles`, with greedy and with sampled
actions, and prints one row per run. An SB3 policy of the project is a
:class:`~agents.rllib_policy.WorldRolePolicy` with the same tensors, so both engines' policies
act through the same code here.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from agents.plots import run_arg
from agents.policy_io import load_policy, read_meta
from agents.rllib_policy import WorldRolePolicy, evaluate_roles, load_role_policy
from vrenvs.core.checks import arg_int
from vrenvs.multiagent import vector_env

__all__ = ["final_policy", "main", "sb3_role_policy"]

_ALIASES = ("pi_features_extractor.", "vf_features_extractor.")
"""SB3's names for the extractor the actor and critic share; the tensors are ``features_extractor``'s."""


def sb3_role_policy(folder: Path) -> tuple[WorldRolePolicy, dict[str, Any]]:
    """An SB3 policy folder of the project as a :class:`WorldRolePolicy` (its tensors, loaded
    and checked by :func:`agents.policy_io.load_policy`) and a role-policy card for
    :func:`evaluate_roles` (scenario: the env's task, role: its learner)."""
    from vrenvs.core.tasks import task

    meta = read_meta(folder)
    spec = task(str(meta["env_id"]))
    env = vector_env(spec.name, 1, **{**meta["env_kwargs"], "scenes": "procedural"})
    policy = WorldRolePolicy(env.single_observation_space, **meta["policy"])
    tensors = load_policy(folder).policy.state_dict()
    policy.load_state_dict({k: v for k, v in tensors.items() if not k.startswith(_ALIASES)})
    policy.eval()
    card = {
        "scenario": spec.name,
        "role": spec.learner,
        "env_kwargs": meta["env_kwargs"],
        "num_timesteps": meta["num_timesteps"],
    }
    return policy, card


def final_policy(run: Path, role: str) -> tuple[WorldRolePolicy, dict[str, Any]]:
    """The final policy of an SB3 run (``final/``) or the ``role`` policy of an RLlib run."""
    if (run / "final" / "policy.json").is_file():
        return sb3_role_policy(run / "final")
    folder = run / "policies" / role
    if not (folder / "policy.json").is_file():
        raise ValueError(f"{run} has neither final/policy.json (SB3) nor policies/{role}/policy.json (RLlib)")
    policy, card = load_role_policy(folder)
    if not isinstance(policy, WorldRolePolicy):
        raise ValueError(f"{folder} is an MLP role policy; only model: world runs compare with SB3 policies")
    return policy, card


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m agents.engines", description=__doc__)
    parser.add_argument("--run", type=run_arg, action="append", required=True, help="LABEL=RUN (repeat)")
    parser.add_argument("--role", default="assistant", help="the role of RLlib runs")
    parser.add_argument("--episodes", type=arg_int(1, 100_000), default=200)
    parser.add_argument("--test-start", type=arg_int(0), default=10_000_000, help="first held-out scene")
    parser.add_argument("--test-scenes", type=arg_int(1), default=100_000)
    parser.add_argument("--out", type=Path, help="write the rows as JSON here too")
    args = parser.parse_args(argv)
    rows = []
    for label, run in args.run:
        policy, card = final_policy(run, args.role)
        kwargs = {**card["env_kwargs"], "num_scenes": args.test_scenes, "start_scene": args.test_start}
        row: dict[str, Any] = {"set-up": label, "run": run.name, "steps": int(card["num_timesteps"])}
        for greedy in (True, False):
            got = evaluate_roles(
                {card["role"]: policy}, card["scenario"], kwargs, args.episodes, greedy=greedy
            )
            row["greedy" if greedy else "sampled"] = got[card["role"]]
        rows.append(row)
    if args.out:
        args.out.write_text(json.dumps(rows, indent=2))
    print(f"{args.episodes} held-out episodes per cell; success (95% interval)\n")
    print("| set-up | run | env steps | greedy | sampled |\n|---|---|---:|---:|---:|")
    for r in rows:
        cells = [
            f"{r[k]['success']:.2f} ({r[k]['success_low']:.2f}-{r[k]['success_high']:.2f})"
            for k in ("greedy", "sampled")
        ]
        print(f"| {r['set-up']} | {r['run']} | {r['steps']:,} | {cells[0]} | {cells[1]} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
