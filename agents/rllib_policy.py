"""RLlib-trained role policies as weights only, and their evaluation against any opponents.

``vrenvs train --engine rllib`` exports each role's module to ``policies/<role>/``:
``policy.safetensors`` and ``policy.json`` (format, scenario, role, env kwargs, layer sizes,
step count, the weights' sha256). Two formats, by the run's ``model``:

- ``vrenvs-rllib-world-1`` (``model: world``): :class:`WorldRolePolicy`, the SB3 policies'
  networks (:class:`agents.features.WorldNet`, actor and critic, SB3's parameter names) over
  the env's dict observation. A role that is the learner of a single-agent env is also
  written in the SB3 policy format (:func:`export_sb3`, ``run/sb3/<role>/``).
- ``vrenvs-rllib-mlp-1`` (``model: mlp``): :class:`RolePolicy`, the actor of RLlib's default
  PPO module (tanh MLP on the one-hot observation of :class:`vrenvs.multiagent.flat.OneHot`).

Loading builds the network from the JSON (and, for the world format, the scenario's
observation space) and copies the tensors in after checking names, shapes and values;
nothing is unpickled (RLlib's own checkpoints are pickles: they are written for resuming
RLlib, never read here).

``python -m agents.rllib_policy RUN`` evaluates a run's exported roles on held-out scenes
twice: together (every role its trained policy) and each role alone against the scripted
controllers of the others (greedy actions; ``--stochastic`` samples them).
"""

from __future__ import annotations

import argparse
import hashlib
import itertools
import json
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import torch
from safetensors.torch import load_file, save_file

from agents.config import TRAINING_ONLY
from agents.features import WorldNet
from agents.policy_io import policy_kwargs
from agents.stats import wilson
from agents.vec_env import policy_space
from vrenvs.core.checks import check_int
from vrenvs.multiagent import parallel_env, vector_env
from vrenvs.multiagent.flat import OneHot

__all__ = [
    "RolePolicy",
    "RolePolicyController",
    "WorldRolePolicy",
    "evaluate_roles",
    "export_module",
    "export_sb3",
    "is_role_policy",
    "load_role_policy",
    "main",
    "role_policy_of",
    "save_role_policy",
    "sb3_env_id",
    "scenario_space",
]

FORMAT = "vrenvs-rllib-mlp-1"
WORLD_FORMAT = "vrenvs-rllib-world-1"
FORMATS = (FORMAT, WORLD_FORMAT)
ACTIONS = 9


def describe(space: gym.spaces.Dict) -> str:
    """A one-line account of an observation space: each entry's kind and shape."""
    parts = []
    for key, sub in space.spaces.items():
        shape = (
            f"Discrete({sub.n})"
            if isinstance(sub, gym.spaces.Discrete)
            else f"{type(sub).__name__}{sub.shape}"
        )
        parts.append(f"{key}: {shape}")
    return "{" + ", ".join(parts) + "}"


def _sample(logits: torch.Tensor, greedy: bool, rng: np.random.Generator | None) -> np.ndarray:
    if greedy or rng is None:
        return logits.argmax(dim=-1).numpy()
    p = torch.softmax(logits, dim=-1).numpy().astype(np.float64)
    return np.array([rng.choice(ACTIONS, p=row / row.sum()) for row in p])


class RolePolicy(torch.nn.Module):
    """The actor of RLlib's default PPO module: tanh layers, then the action logits, over
    the one-hot observation (:class:`vrenvs.multiagent.flat.OneHot`)."""

    def __init__(self, inputs: int, hiddens: list[int]) -> None:
        super().__init__()
        sizes = [inputs, *hiddens]
        self.layers = torch.nn.ModuleList(torch.nn.Linear(a, b) for a, b in itertools.pairwise(sizes))
        self.pi = torch.nn.Linear(sizes[-1], ACTIONS)
        self._flat: OneHot | None = None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for layer in self.layers:
            x = torch.tanh(layer(x))
        return self.pi(x)

    def observe_with(self, space: gym.spaces.Dict) -> None:
        """Read observations of ``space`` (the env's dict), one-hot encoded."""
        self._flat = OneHot(space)
        if self._flat.space.shape != (self.layers[0].in_features,):
            raise ValueError(
                f"the policy takes {self.layers[0].in_features} inputs; the observation has "
                f"{self._flat.space.shape[0]}"
            )

    @torch.no_grad()
    def act(
        self, obs: dict[str, np.ndarray], greedy: bool = True, rng: np.random.Generator | None = None
    ) -> np.ndarray:
        """Actions for a batch of observations ``{key: (n, ...)}`` of the space given to
        :meth:`observe_with`."""
        if self._flat is None:
            raise RuntimeError("call observe_with(space) before act()")
        return _sample(self(torch.as_tensor(self._flat.batch(obs), dtype=torch.float32)), greedy, rng)


class WorldRolePolicy(WorldNet):
    """A role policy trained with :class:`agents.rllib_module.WorldModule`: the SB3 policy's
    networks over the dict observation."""

    def observe_with(self, space: gym.spaces.Dict) -> None:
        """Check that observations of ``space`` (the env's dict) are what the policy was built for."""
        if policy_space(space) != self.space:
            raise ValueError(
                f"the policy reads {describe(self.env_space)}; the observation is {describe(space)}"
            )

    @torch.no_grad()
    def act(
        self, obs: dict[str, np.ndarray], greedy: bool = True, rng: np.random.Generator | None = None
    ) -> np.ndarray:
        """Actions for a batch of observations ``{key: (n, ...)}``."""
        return _sample(self.logits({k: torch.as_tensor(v) for k, v in obs.items()}), greedy, rng)


AnyRolePolicy = RolePolicy | WorldRolePolicy


def export_module(module: Any, folder: Path, meta: dict[str, Any]) -> Path:
    """Write ``module`` (an RLlib default PPO torch module or a
    :class:`~agents.rllib_module.WorldModule`) as ``folder/policy.*``."""
    return save_role_policy(role_policy_of(module), folder, meta)


def role_policy_of(module: Any) -> AnyRolePolicy:
    """The actor of ``module`` (an RLlib default PPO torch module or a
    :class:`~agents.rllib_module.WorldModule`) as a role policy (a copy of its weights)."""
    net = getattr(module, "net", None)
    if isinstance(net, WorldNet):
        world = WorldRolePolicy(net.env_space, **net.sizes)
        world.load_state_dict({k: v.detach().cpu() for k, v in net.state_dict().items()})
        world.eval()
        return world
    state = {k: v.detach().cpu() for k, v in module.state_dict().items()}
    layers = sorted(
        {
            int(k.split(".")[4])
            for k in state
            if k.startswith("encoder.encoder.net.mlp.") and k.endswith("weight")
        }
    )
    tensors: dict[str, torch.Tensor] = {}
    for i, index in enumerate(layers):
        tensors[f"layers.{i}.weight"] = state[f"encoder.encoder.net.mlp.{index}.weight"].contiguous()
        tensors[f"layers.{i}.bias"] = state[f"encoder.encoder.net.mlp.{index}.bias"].contiguous()
    tensors["pi.weight"] = state["pi.net.mlp.0.weight"].contiguous()
    tensors["pi.bias"] = state["pi.net.mlp.0.bias"].contiguous()
    hiddens = [int(tensors[f"layers.{i}.weight"].shape[0]) for i in range(len(layers))]
    policy = RolePolicy(int(tensors["layers.0.weight"].shape[1]), hiddens)
    policy.load_state_dict(tensors)
    policy.eval()
    return policy


def save_role_policy(policy: AnyRolePolicy, folder: Path, meta: dict[str, Any]) -> Path:
    """Write ``policy`` as ``folder/policy.safetensors`` and ``folder/policy.json`` (``meta``:
    scenario, role, env kwargs, provenance; the layer sizes are added)."""
    tensors = {k: v.detach().cpu().contiguous() for k, v in policy.state_dict().items()}
    folder.mkdir(parents=True, exist_ok=True)
    save_file(tensors, str(folder / "policy.safetensors"))
    if isinstance(policy, WorldRolePolicy):
        sizes: dict[str, Any] = {"format": WORLD_FORMAT, "policy": dict(policy.sizes)}
    else:
        hiddens = [int(tensors[f"layers.{i}.weight"].shape[0]) for i in range(len(policy.layers))]
        sizes = {"format": FORMAT, "inputs": int(tensors["layers.0.weight"].shape[1]), "hiddens": hiddens}
    sha = hashlib.sha256((folder / "policy.safetensors").read_bytes()).hexdigest()
    card = {**meta, **sizes, "sha256": sha}
    (folder / "policy.json").write_text(json.dumps(card, indent=2, sort_keys=True))
    return folder


def sb3_env_id(scenario: str, role: str) -> str | None:
    """The single-agent env whose learner is ``role`` in the world of ``scenario`` (where an
    exported :class:`WorldRolePolicy` is an SB3 policy as it is), or None."""
    from vrenvs.multiagent.batched import resolve

    spec = resolve(scenario, None, None)[0]
    return spec.id if spec.learner == role else None


def export_sb3(policy: WorldRolePolicy, folder: Path, meta: dict[str, Any]) -> Path:
    """Write ``policy`` in the SB3 policy format (:mod:`agents.policy_io`) for the env
    ``meta["env_id"]`` with ``meta["env_kwargs"]``: the same tensors under the same names,
    so ``vrenvs watch``, ``agents.evaluate`` and ``npc_controllers`` read it as any SB3
    policy. ``meta`` also holds ``num_timesteps`` and any provenance."""
    from agents.policy_io import build_model, save_policy

    fields = dict(meta)
    model = build_model(str(fields["env_id"]), dict(fields["env_kwargs"]), dict(policy.sizes), {})
    observes = model.observation_space
    assert isinstance(observes, gym.spaces.Dict)
    if policy.space != observes:
        raise ValueError(
            f"{fields['env_id']} observes {describe(observes)}; the policy reads {describe(policy.space)}"
        )
    for name in ("features_extractor", "mlp_extractor", "action_net", "value_net"):
        getattr(model.policy, name).load_state_dict(getattr(policy, name).state_dict())
    model.num_timesteps = int(fields.pop("num_timesteps", 0))
    return save_policy(model, folder, fields)


def scenario_space(card: dict[str, Any]) -> gym.spaces.Dict:
    """The observation space of one agent of the card's scenario with its env kwargs."""
    kwargs = {**card.get("env_kwargs", {}), "scenes": "procedural"}
    return parallel_env(str(card["scenario"]), **kwargs).batched.single_observation_space


def load_role_policy(folder: Path) -> tuple[AnyRolePolicy, dict[str, Any]]:
    """The policy in ``folder`` (ready to act on its scenario's observations) and its card;
    a ValueError naming the file and the field when anything does not fit."""
    path = folder / "policy.json"
    try:
        card = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        raise ValueError(f"{path} cannot be read as JSON: {err}") from None
    if not isinstance(card, dict) or card.get("format") not in FORMATS:
        raise ValueError(
            f"{path}: format is {card.get('format') if isinstance(card, dict) else card!r}; "
            f"choose from {list(FORMATS)}"
        )
    policy: AnyRolePolicy
    if card["format"] == WORLD_FORMAT:
        try:
            sizes = policy_kwargs(card.get("policy"), f"{path}: policy")
        except (TypeError, ValueError) as err:
            raise ValueError(str(err)) from None
        policy = WorldRolePolicy(scenario_space(card), **sizes)
    else:
        inputs = check_int(f"{path}: inputs", card.get("inputs"), 1, 1_000_000)
        hiddens = card.get("hiddens")
        if not isinstance(hiddens, list) or not 1 <= len(hiddens) <= 8:
            raise ValueError(f"{path}: hiddens={hiddens!r} must list 1 to 8 layer sizes")
        hiddens = [check_int(f"{path}: hiddens entry", h, 1, 4096) for h in hiddens]
        policy = RolePolicy(inputs, hiddens)
    weights = folder / "policy.safetensors"
    data = weights.read_bytes()
    if hashlib.sha256(data).hexdigest() != card.get("sha256"):
        raise ValueError(f"{weights} does not match the sha256 in {path}")
    tensors = load_file(str(weights))
    want = {k: tuple(v.shape) for k, v in policy.state_dict().items()}
    got = {k: tuple(v.shape) for k, v in tensors.items()}
    if want != got:
        differ = [
            f"{k} is {got.get(k)} there, {want.get(k)} by the card"
            for k in sorted(want | got)
            if want.get(k) != got.get(k)
        ]
        raise ValueError(
            f"{weights} does not fit {path} (its scenario, env kwargs and sizes): {'; '.join(differ)}"
        )
    if not all(torch.isfinite(v).all() for v in tensors.values()):
        raise ValueError(f"{weights} holds values that are not finite")
    policy.load_state_dict(tensors)
    policy.eval()
    if "scenario" in card:
        try:
            policy.observe_with(scenario_space(card))
        except ValueError as err:
            raise ValueError(f"{folder}: {err}") from None
    return policy, card


def is_role_policy(folder: Path) -> bool:
    """Whether ``folder`` holds a policy exported by an RLlib run (not an SB3 one)."""
    try:
        card = json.loads((folder / "policy.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(card, dict) and card.get("format") in FORMATS


class RolePolicyController:
    """An exported role policy as a world controller ``(state, config, slot) -> actions``:
    it observes the slot as its multi-agent env did (the role's objective and phrase, the
    route sensor when trained with it), one-hot, and acts greedily. This is how
    ``npc_controllers={"thief": "runs/.../policies/thief"}`` puts a co-trained role into
    any world."""

    def __init__(self, folder: Path) -> None:
        from vrenvs.core.catalog import CATALOG
        from vrenvs.core.language import tokenize
        from vrenvs.core.tasks import objective

        self.folder = folder
        self.policy, self.card = load_role_policy(folder)
        self.role = str(self.card.get("role"))
        if self.role not in CATALOG.role or CATALOG.role[self.role].objective is None:
            raise ValueError(f"{folder / 'policy.json'}: role={self.role!r} is not a role that learns")
        self.goal = str(CATALOG.role[self.role].objective)
        phrase = objective(self.goal).phrase
        self.phrase = None if phrase is None else tokenize(phrase)
        kwargs = self.card.get("env_kwargs", {})
        self.route = bool(kwargs.get("route", False))
        probe = parallel_env(str(self.card["scenario"]), **{**kwargs, "scenes": "procedural"})
        self.view = probe.batched.config.view
        self.key_goal = probe.batched.config.key_goal
        self.name = folder.name

    def __repr__(self) -> str:
        return f"RolePolicyController({str(self.folder)!r})"

    def __call__(self, state: Any, config: Any, slot: int) -> np.ndarray:
        import dataclasses

        from vrenvs.core import sensors
        from vrenvs.core.observe import observe

        if config.view != self.view:
            raise ValueError(
                f"policy {self.name!r} was trained with view={self.view}; this world has view={config.view}"
            )
        as_trained = dataclasses.replace(
            config, goal=self.goal, learner=slot, rewards={}, key_goal=self.key_goal
        )
        obs = observe(state, as_trained, slot, False, self.phrase)
        if self.route:
            obs["route"] = sensors.route(state, as_trained, slot)
        return self.policy.act(obs).astype(np.int64)


def evaluate_roles(
    policies: dict[str, AnyRolePolicy],
    name: str,
    env_kwargs: dict[str, Any],
    episodes: int,
    seed: int = 0,
    num_envs: int = 16,
    greedy: bool = True,
) -> dict[str, dict[str, float]]:
    """Each role in ``policies`` played by its policy (greedy, or sampling its actions with
    ``greedy=False`` as SB3's evaluation during training does), every other actor by its
    scripted controller, for ``episodes`` episodes of scenario or task ``name`` (the first
    episodes of ``num_envs`` worlds of the batched env, seeded ``seed + i``, stepped and
    decided a batch at a time): per role the success rate with its Wilson interval and the
    mean return of the role's own reward (no shaping, the task's own requests)."""
    torch.set_num_threads(1)
    worlds = max(1, min(num_envs, episodes))
    own = {k: v for k, v in env_kwargs.items() if k not in TRAINING_ONLY}  # the task's own rewards, requests
    env = vector_env(name, worlds, learners=list(policies), **own)
    for policy in policies.values():
        policy.observe_with(env.single_observation_space)
    rng = None if greedy else np.random.default_rng(seed)
    roles = np.array(env.roles)
    quota = [episodes // worlds + (1 if w < episodes % worlds else 0) for w in range(worlds)]
    played = np.zeros(worlds, np.int64)
    wins: dict[str, list[float]] = {r: [] for r in policies}
    returns: dict[str, list[float]] = {r: [] for r in policies}
    total = np.zeros((worlds, env.num_agents))
    obs, _ = env.reset(seed=seed)
    ended = np.zeros(worlds, bool)
    while (played < quota).any():
        actions = np.zeros((worlds, env.num_agents), np.int64)
        for role, policy in policies.items():
            w, a = np.nonzero(env.alive & (roles == role)[None, :])
            if len(w):
                actions[w, a] = policy.act({k: v[w, a] for k, v in obs.items()}, greedy, rng)
        counting = played < quota
        obs, reward, _, _, infos = env.step(actions)
        fresh = ended  # these worlds restarted in this step: their reward belongs to no episode
        total[~fresh] += reward[~fresh]
        if "is_success" in infos:
            for world, agent in zip(*np.nonzero(infos["_is_success"] & counting[:, None])):
                wins[str(roles[agent])].append(float(infos["is_success"][world, agent]))
        ended = np.asarray(~env.alive.any(axis=1))
        for world in np.flatnonzero(ended & counting):
            for agent, role in enumerate(roles):
                returns[str(role)].append(float(total[world, agent]))
            played[world] += 1
        total[ended] = 0.0
    out = {}
    for role in policies:
        n, k = len(wins[role]), int(sum(wins[role]))
        low, high = wilson(k, n)
        out[role] = {"success": k / max(n, 1), "success_low": low, "success_high": high}
        out[role]["return"] = float(np.mean(returns[role]))
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m agents.rllib_policy", description=__doc__)
    parser.add_argument("run", type=Path, help="a run folder of vrenvs train --engine rllib")
    parser.add_argument("--episodes", type=int, default=200)
    parser.add_argument(
        "--stochastic", action="store_true", help="sample the policies' actions (default: greedy)"
    )
    args = parser.parse_args(argv)
    greedy = not args.stochastic
    folders = sorted(p for p in (args.run / "policies").iterdir() if (p / "policy.json").is_file())
    loaded = {p.name: load_role_policy(p) for p in folders}
    card = next(iter(loaded.values()))[1]
    kwargs = {**card["env_kwargs"], "num_scenes": card["test_scenes"], "start_scene": card["test_start"]}
    rows = []
    together = evaluate_roles(
        {r: p for r, (p, _) in loaded.items()}, card["scenario"], kwargs, args.episodes, greedy=greedy
    )
    rows += [{"opponents": "co-trained", "role": r, **v} for r, v in together.items()]
    if len(loaded) > 1:
        for role, (policy, _) in loaded.items():
            alone = evaluate_roles({role: policy}, card["scenario"], kwargs, args.episodes, greedy=greedy)
            rows += [{"opponents": "scripted", "role": role, **alone[role]}]
    (args.run / "heldout.json").write_text(json.dumps(rows, indent=2))
    actions = "greedy" if greedy else "sampled"
    print(f"{args.episodes} held-out episodes per row ({card['scenario']}, {actions} actions)\n")
    print("| role | opponents | success | 95% interval | return |\n|---|---|---:|---:|---:|")
    for r in rows:
        interval = f"{r['success_low']:.2f}-{r['success_high']:.2f}"
        print(f"| {r['role']} | {r['opponents']} | {r['success']:.2f} | {interval} | {r['return']:.2f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
