"""Ship the role policies of an RLlib run: ``python -m agents.rllib_ship RUN``.

Copies ``RUN/policies/<role>/`` to ``agents/pretrained/rllib-<Scenario>/<role>/`` (weights
only, :mod:`agents.rllib_policy`), evaluates them on held-out scenes — every role by its
policy together, and each role alone against the scripted controllers of the others, with
greedy and with sampled actions — and writes ``heldout.json``, the model card ``card.md``,
the run's ``config.yaml`` and ``learning_curves.png`` next to them. A shipped role is named
``rllib-<Scenario>/<role>`` (``npc_controllers={"thief": "rllib-Guard-Thief/thief"}``,
``vrenvs watch``).
"""

from __future__ import annotations

import argparse
import json
import platform
import shutil
from pathlib import Path
from typing import Any

import torch
import yaml

from agents.pretrained import PRETRAINED
from agents.rllib_policy import evaluate_roles, load_role_policy
from vrenvs.core.checks import arg_int

__all__ = ["card", "heldout", "main", "ship"]


def heldout(folders: dict[str, Path], episodes: int) -> list[dict[str, Any]]:
    """Rows of held-out results for the role policies in ``folders`` (role -> folder)."""
    loaded = {role: load_role_policy(folder) for role, folder in folders.items()}
    meta = next(iter(loaded.values()))[1]
    kwargs = {**meta["env_kwargs"], "num_scenes": meta["test_scenes"], "start_scene": meta["test_start"]}
    rows = []
    for greedy in (True, False):
        actions = "greedy" if greedy else "sampled"
        policies = {role: policy for role, (policy, _) in loaded.items()}
        together = evaluate_roles(policies, meta["scenario"], kwargs, episodes, greedy=greedy)
        rows += [{"actions": actions, "opponents": "co-trained", "role": r, **v} for r, v in together.items()]
        if len(loaded) > 1:
            for role, policy in policies.items():
                alone = evaluate_roles({role: policy}, meta["scenario"], kwargs, episodes, greedy=greedy)
                rows.append({"actions": actions, "opponents": "scripted", "role": role, **alone[role]})
    return rows


def card(
    scenario: str, config: dict[str, Any], metas: dict[str, dict[str, Any]], rows: list[dict[str, Any]]
) -> str:
    """The model card of a shipped RLlib run."""
    roles = ", ".join(f"`{r}`" for r in metas)
    meta = next(iter(metas.values()))
    model = config.get("model", "mlp")
    net = (
        f"RLlib's default MLP over the one-hot observation (hidden layers {config.get('hiddens')})"
        if model == "mlp"
        else "the SB3 policies' networks (`agents.features.WorldNet`: a small CNN over the one-hot view, "
        f"a bag of words of the request, inventory, scalars, route sensor; sizes {config.get('policy')})"
    )
    lines = [
        f"# Model card: `rllib-{scenario}`",
        "",
        f"PPO (Ray RLlib, new API stack) policies for the roles {roles} of the multi-agent scenario "
        f"`{scenario}` (`vrenvs.multiagent`), trained together, one policy per role: {net}.",
        "",
        "## Training",
        "",
        f"- Command: `vrenvs train --engine rllib {scenario} --set n_timesteps={config.get('n_timesteps')} "
        f"max_minutes={config.get('max_minutes')} seed={config.get('seed')}` (the whole config in "
        f"`config.yaml`, seed {config.get('seed')}).",
        f"- Env kwargs: `{json.dumps(meta['env_kwargs'])}`.",
        f"- {meta['num_timesteps']:,} env steps.",
        f"- Scenes: training [0, {meta['train_scenes']:,}), held out "
        f"[{meta['test_start']:,}, {meta['test_start'] + meta['test_scenes']:,}).",
        f'- Use: `npc_controllers={{"{next(iter(metas))}": "rllib-{scenario}/{next(iter(metas))}"}}` '
        "in any env with that role, or `vrenvs watch` for a role that is its task's learner.",
        f"- torch {torch.__version__}; {platform.machine()}, CPython {platform.python_version()}.",
        "",
        "## Held-out results",
        "",
        f"{rows[0]['episodes']} episodes per row; success with its 95% Wilson interval; return is the "
        "role's own reward (no shaping). `co-trained`: every role by its policy; `scripted`: this role "
        "by its policy, the others by their scripted controllers.",
        "",
        "| role | opponents | actions | success | 95% interval | return |",
        "|---|---|---|---:|---:|---:|",
    ]
    for r in rows:
        interval = f"{r['success_low']:.2f}-{r['success_high']:.2f}"
        cells = [
            r["role"],
            r["opponents"],
            r["actions"],
            f"{r['success']:.2f}",
            interval,
            f"{r['return']:.2f}",
        ]
        lines.append("| " + " | ".join(cells) + " |")
    lines += ["", "![learning curves](learning_curves.png)", ""]
    return "\n".join(lines)


def ship(run: Path, episodes: int, dest: Path | None = None) -> Path:
    """Copy the role policies of ``run`` with their results and card; returns the folder."""
    config = yaml.safe_load((run / "config.yaml").read_text(encoding="utf-8"))
    scenario = str(config["scenario"])
    dest = dest or PRETRAINED / f"rllib-{scenario}"
    sources = {p.name: p for p in sorted((run / "policies").iterdir()) if (p / "policy.json").is_file()}
    if not sources:
        raise ValueError(f"{run / 'policies'} holds no role policy")
    if dest.exists():
        shutil.rmtree(dest)
    dest.mkdir(parents=True)
    folders = {}
    for role, source in sources.items():
        folders[role] = dest / role
        folders[role].mkdir()
        for name in ("policy.json", "policy.safetensors"):
            shutil.copy(source / name, folders[role] / name)
    rows = heldout(folders, episodes)
    for r in rows:
        r["episodes"] = episodes
    (dest / "heldout.json").write_text(json.dumps(rows, indent=2))
    shutil.copy(run / "config.yaml", dest / "config.yaml")
    if (run / "learning_curves.png").is_file():
        shutil.copy(run / "learning_curves.png", dest / "learning_curves.png")
    metas = {role: load_role_policy(folder)[1] for role, folder in folders.items()}
    (dest / "card.md").write_text(card(scenario, config, metas, rows))
    return dest


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m agents.rllib_ship", description=__doc__)
    parser.add_argument("run", type=Path, help="a run folder of vrenvs train --engine rllib")
    parser.add_argument("--episodes", type=arg_int(1, 10_000), default=200)
    args = parser.parse_args(argv)
    dest = ship(args.run, args.episodes)
    print(f"shipped {dest}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
