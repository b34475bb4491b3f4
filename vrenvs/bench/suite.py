"""The benchmark: vrenvs next to MiniGrid, measured in one run and reported as ratios.

``vrenvs bench`` (``make bench``) runs seven sections and writes ``bench.json`` and
``bench.md`` (one table per section, then the targets with the measured figures):

1. ``step``: single-env steps/s under ``gymnasium.make`` with random actions and resets,
   default kwargs (the default source's scenes), vs MiniGrid-DoorKey-8x8-v0 and
   MiniGrid-MultiRoom-N6-v0, in rounds of :data:`SINGLE_ROUND` steps (long enough that each
   round pays its share of scene banks);
   and native vector-env agent-steps/s at B = 1, 64, 1024 (numpy is single-threaded: one
   core), vs SB3's ``DummyVecEnv`` over 8 MiniGrid DoorKey envs; then the long run of
   B = 1024 (:data:`LONG_RUN_STEPS`), the figure with fresh scenes included that the
   B = 1024 target reads.
2. ``reset``: resets/s of a single env per scene source (a new scene every reset, the cost
   of banks amortized over the resets they serve) vs MiniGrid's ``reset()``.
3. ``generator``: scenes/s of the learned generators including repair, banks of 1 and
   1024 scenes, 1 and 2 torch threads (the v2 ``vqvae`` on the 2 it always draws on).
4. ``render``: ``rgb_array`` frames/s at 256 x 256 vs MiniGrid's ``render()``
   (:mod:`vrenvs.bench.render`).
5. ``ppo``: SB3 PPO env-steps/s with the same settings on Assistant-Fetch and
   MiniGrid-DoorKey-8x8 (``MlpPolicy``, 4 envs, default hyperparameters; each env's
   observation as one ``Box``: ``VrenvsVecEnv(flat=True)`` here, ``ImgObsWrapper`` for the
   peer) and the share of wall time spent in the environment; and a user's plain SB3 code
   with every default on both, ``PPO("MultiInputPolicy", make_vec_env(ID, n_envs=4))`` here
   (and ``MlpPolicy`` over Gymnasium's ``FlattenObservation``) and ``MlpPolicy`` over
   ``ImgObsWrapper`` for the peer.
6. ``memory``: RSS per world of a B = 1024 vector env, and RSS growth over 10^6 random
   agent-steps (the soak).
7. ``multiagent``: agent-steps/s of the batched multi-agent env of each scenario next to the
   native vector env of the same world (one learner, the rest scripted), B = 256.

Rates are interleaved round by round within a section so machine drift hits all cases
alike; tables give min / median / max over rounds after a warm-up. ``--quick`` is a smoke
run of about a minute (used by the test suite); its figures are not the reported ones.
"""

from __future__ import annotations

import json
import resource
import time
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np

import vrenvs  # noqa: F401
from vrenvs.bench.timing import machine, measure, rate_table
from vrenvs.core.plugins import load, plugin_names
from vrenvs.core.sources import DEFAULT_SOURCE

__all__ = ["run_bench"]

ENV_ID = "vrenvs/Assistant-Fetch-v0"
DOORKEY, MULTIROOM = "MiniGrid-DoorKey-8x8-v0", "MiniGrid-MultiRoom-N6-v0"
SINGLE = f"vrenvs single (gymnasium.make, {DEFAULT_SOURCE} scenes)"
"""The single-env case: default kwargs, so the default source's scenes."""
ROUTE_OFF, ROUTE_ON = "vrenvs vector B=16", "vrenvs vector B=16, route=True"


def _has_minigrid() -> bool:
    try:
        import minigrid  # noqa: F401
    except ImportError:
        print('minigrid is not installed (pip install "vrenvs[bench]"): MiniGrid cases are skipped')
        return False
    return True


# -- 1. stepping ---------------------------------------------------------------------------


def _single(env_id: str, steps: int, **kwargs: Any) -> Callable[[], float]:
    env = gym.make(env_id, **kwargs)
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


LONG_RUN_WORLDS, LONG_RUN_STEPS = 1024, 20_000
"""The long run of the native vector env: five bank cycles of Assistant-Fetch with random
actions. Each world of the first reset gets its own bank of 16 scenes (drawn with the
reset, untimed) and plays it in ~4,000 steps; from then on the worlds draw their next banks
as they run out, and know one bank ahead (:func:`vrenvs.core.world.lookahead`), so each
draw decodes many worlds' banks together. Rounds of a few hundred steps after the first
reset never reach a draw, so the vector cases of the table measure stepping and resets on
scenes already drawn; the long run is the figure with fresh scenes included. Five cycles,
not two: the banks decoded ahead are paid for before they are played, and over two cycles
that counts a bank per world that the run never plays (on 2026-12-07, 8,000 steps read
54,692 agent-steps/s with a bank ahead and 82,751 without, while banks were also evicted
unplayed; over 20,000 steps this function read 75,983 with the bank ahead and its reserve,
61,528 with the code before, which held none ahead above B = 64)."""


def _long_run(num_envs: int, steps: int) -> dict[str, Any]:
    """Agent-steps/s of ``num_envs`` worlds over ``steps`` vector steps after the first reset
    (timed alone), every scene draw on the way included."""
    env = gym.make_vec(ENV_ID, num_envs=num_envs, vectorization_mode="vector_entry_point")
    start = time.perf_counter()
    env.reset(seed=0)
    first = time.perf_counter() - start
    rng = np.random.default_rng(0)
    start = time.perf_counter()
    for _ in range(steps):
        env.step(rng.integers(0, 9, num_envs))
    seconds = time.perf_counter() - start
    env.close()
    return {
        "worlds": num_envs,
        "steps": steps,
        "first_reset_seconds": round(first, 1),
        "seconds": seconds,
        "agent_steps_per_second": steps * num_envs / seconds,
    }


def _dummy_minigrid(num_envs: int, steps: int) -> Callable[[], float] | None:
    try:
        from stable_baselines3.common.vec_env import DummyVecEnv
    except ImportError:
        return None
    from minigrid.wrappers import ImgObsWrapper  # SB3 cannot batch the mission text

    venv = DummyVecEnv([lambda: ImgObsWrapper(gym.make(DOORKEY)) for _ in range(num_envs)])
    venv.seed(0)
    venv.reset()
    actions = np.random.default_rng(0).integers(0, 7, (steps, num_envs))

    def run() -> float:
        start = time.perf_counter()
        for a in actions:
            venv.step(a)
        return steps * num_envs / (time.perf_counter() - start)

    return run


VECTOR_ROUND = 8_000
"""Vector steps per round at B = 1 to 64: two bank cycles (a world plays its bank of 16
scenes in ~4,000 steps of Assistant-Fetch), so every round pays its share of scene draws.
The rounds of B = 1024 stay short (:data:`ON_DRAWN`); its draws are the long run's."""

ON_DRAWN = "vrenvs vector B=1024 (scenes of the first reset)"
"""Rounds of 200 steps at B = 1024 after the first reset: stepping and resets on scenes
already drawn, no draw (the bar reads the long run, :data:`LONG_RUN_STEPS`)."""

SINGLE_ROUND = 16_000
"""Steps per round of the single-env cases: ~65 episodes of Assistant-Fetch with random
actions, so a round holds about four bank draws of the default source (a bank of 16 scenes
every 16 episodes); rounds of 4,000 steps held zero to two, and their rates spread by a
factor of two."""


def _step_cases(quick: bool, minigrid: bool) -> dict[str, Callable[[], float]]:
    n = 300 if quick else 4000
    single = n if quick else SINGLE_ROUND
    cases: dict[str, Callable[[], float]] = {SINGLE: _single(ENV_ID, single)}
    if minigrid:
        cases[f"{DOORKEY} single"] = _single(DOORKEY, single)
        cases[f"{MULTIROOM} single"] = _single(MULTIROOM, single)
    for b in (1, 64):
        cases[f"vrenvs vector B={b}"] = _vector(b, max((n * 4) // b, 20 if quick else VECTOR_ROUND))
    cases[ON_DRAWN] = _vector(1024, 20 if quick else 200)
    # the route sensor's cost per vector step (the training configs' observation): B = 16
    # with and without it, the difference of the step times
    cases[ROUTE_OFF] = _vector(16, n // 4 if quick else VECTOR_ROUND)
    cases[ROUTE_ON] = _vector(16, n // 4 if quick else VECTOR_ROUND, route=True)
    if minigrid:
        dummy = _dummy_minigrid(8, n // 8 * 4)
        if dummy is not None:
            cases["SB3 DummyVecEnv x8 over MiniGrid-DoorKey-8x8"] = dummy
    return cases


# -- 7. multi-agent --------------------------------------------------------------------------

MULTI_B = 256


def _multi(name: str, steps: int, **kwargs: Any) -> Callable[[], float]:
    from vrenvs.multiagent import vector_env

    env = vector_env(name, MULTI_B, **kwargs)
    env.reset(seed=0)
    actions = np.random.default_rng(0).integers(0, 9, (steps, MULTI_B, env.num_agents))

    def run() -> float:
        start = time.perf_counter()
        for a in actions:
            env.step(a)
        return steps * MULTI_B * env.num_agents / (time.perf_counter() - start)

    return run


def _multi_cases(quick: bool) -> dict[str, Callable[[], float]]:
    """Per scenario: the native vector env of its world (its task's one learner, the
    scenario's NPCs, every other actor scripted) and the batched multi-agent env, both at
    B = 256 with random actions and autoresets, in agent-steps/s."""
    from vrenvs.multiagent import SCENARIOS

    steps = 10 if quick else 100
    # a smoke run plays one bank of scenes: its first reset would otherwise draw 256 fresh ones
    few: dict[str, Any] = {"num_scenes": 16} if quick else {}
    cases: dict[str, Callable[[], float]] = {}
    for s in SCENARIOS:
        npcs: dict[str, Any] = {} if s.npcs is None else {"npcs": list(s.npcs)}
        env = gym.make_vec(
            s.spec.id, num_envs=MULTI_B, vectorization_mode="vector_entry_point", **npcs, **few
        )
        env.reset(seed=0)
        actions = np.random.default_rng(0).integers(0, 9, (steps, MULTI_B))

        def native(env: Any = env, actions: np.ndarray = actions) -> float:
            start = time.perf_counter()
            for a in actions:
                env.step(a)
            return len(actions) * MULTI_B / (time.perf_counter() - start)

        cases[f"{s.name}: native vector env B={MULTI_B} ({s.spec.learner} learns)"] = native
        cases[f"{s.name}: multi-agent B={MULTI_B} ({', '.join(s.learners)} learn)"] = _multi(
            s.name, steps, **few
        )
        # like for like: the multi-agent env with the native env's one learner
        cases[f"{s.name}: multi-agent B={MULTI_B}, one learner ({s.spec.learner})"] = _multi(
            s.name, steps, learners=[s.spec.learner], **few
        )
    return cases


# -- 2. reset --------------------------------------------------------------------------------


def _resets(env_id: str, count: int, **kwargs: Any) -> Callable[[], float]:
    """Resets/s of a single env, each playing a new scene (seeded once: later resets
    continue the env's RNG stream, as an autoresetting env does)."""
    env = gym.make(env_id, **kwargs)
    env.reset(seed=0)

    def run() -> float:
        start = time.perf_counter()
        for _ in range(count):
            env.reset()
        return count / (time.perf_counter() - start)

    return run


def _reset_cases(quick: bool, minigrid: bool) -> dict[str, Callable[[], float]]:
    n = 32 if quick else 500
    cases = {f"vrenvs reset, scenes={s}": _resets(ENV_ID, n, scenes=s) for s in _sources()}
    if minigrid:
        cases[f"{MULTIROOM} reset"] = _resets(MULTIROOM, n)
        cases[f"{DOORKEY} reset"] = _resets(DOORKEY, n)
    return cases


def _sources() -> list[str]:
    try:
        import torch  # noqa: F401
    except ImportError:
        return ["procedural", "designer"]
    return ["procedural", "designer", "gan", "vae", "vaegan", "vqvae"]


# -- 3. generators ---------------------------------------------------------------------------


def _generator_cases(quick: bool) -> dict[str, Callable[[], float]]:
    """Scenes/s of the learned generators, from the package that provides them
    (``vrenvs.bench`` entry point ``generators``)."""
    if "generators" not in plugin_names("vrenvs.bench"):
        return {}
    try:
        cases: dict[str, Callable[[], float]] = load("vrenvs.bench", "generators")(quick)
    except ValueError as err:
        print(f"generator cases skipped: {err}")
        return {}
    return cases


# -- 5. PPO ------------------------------------------------------------------------------------


def _ppo(name: str, steps: int) -> dict[str, float] | None:
    """Env-steps/s of SB3 PPO and the env's share of wall time (``vrenvs.bench`` entry point
    ``ppo``, from the agents package): ``name`` is ``"vrenvs"`` or ``"minigrid"``."""
    if "ppo" not in plugin_names("vrenvs.bench"):
        return None
    try:
        rates: dict[str, float] | None = load("vrenvs.bench", "ppo")(name, ENV_ID, DOORKEY, steps)
    except ValueError as err:
        print(f"PPO cases skipped: {err}")
        return None
    return rates


PPO_CASES = {
    "vrenvs Assistant-Fetch": "vrenvs",
    "MiniGrid-DoorKey-8x8": "minigrid",
    "vrenvs Assistant-Fetch, plain SB3 MultiInputPolicy": "vrenvs-plain",
    "MiniGrid-DoorKey-8x8, plain SB3 MlpPolicy": "minigrid-plain",
    "vrenvs Assistant-Fetch, plain SB3 MlpPolicy over FlattenObservation": "vrenvs-flat-plain",
}
"""Table rows and the cases of the ``ppo`` entry point (``agents.bench.NAMES``)."""


def _ppo_cases(quick: bool, minigrid: bool) -> dict[str, dict[str, float]]:
    """Every PPO case, rounds interleaved (the median round by rate is reported)."""
    runs: dict[str, list[dict[str, float]]] = {}
    for _ in range(1 if quick else 3):
        for row, name in PPO_CASES.items():
            if name.startswith("minigrid") and not minigrid:
                continue
            steps = (2048 if quick else 20_480) * (4 if name.endswith("-plain") else 1)
            rates = _ppo(name, steps)
            if rates is not None:
                runs.setdefault(row, []).append(rates)
    return {
        row: sorted(found, key=lambda r: r["env_steps_per_second"])[len(found) // 2]
        for row, found in runs.items()
    }


# -- 6. memory ----------------------------------------------------------------------------------


def _rss_mb() -> float:
    try:
        with open("/proc/self/status") as handle:
            for line in handle:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _memory(quick: bool) -> dict[str, Any]:
    num = 1024
    before = _rss_mb()
    env = gym.make_vec(ENV_ID, num_envs=num, vectorization_mode="vector_entry_point", num_scenes=1000)
    env.reset(seed=0)
    made = _rss_mb()
    agent_steps = 50_000 if quick else 1_000_000
    rng = np.random.default_rng(0)
    errors = 0
    # warm the scene and layout caches first, so growth means a leak and not a cache filling
    for _ in range(200 if not quick else 10):
        env.step(rng.integers(0, 9, num))
    start_rss = _rss_mb()
    start = time.perf_counter()
    for _ in range(agent_steps // num):
        try:
            env.step(rng.integers(0, 9, num))
        except Exception:  # the soak counts failures rather than stopping
            errors += 1
    return {
        "worlds": num,
        "rss_per_world_kb": (made - before) * 1024 / num,
        "soak_agent_steps": agent_steps // num * num,
        "soak_seconds": round(time.perf_counter() - start, 1),
        "soak_errors": errors,
        "soak_rss_growth_mb": _rss_mb() - start_rss,
    }


# -- the run ----------------------------------------------------------------------------------


def run_bench(out: Path, quick: bool = False, sections: tuple[str, ...] | None = None) -> dict[str, Any]:
    """Run the benchmark (all sections unless ``sections``); write ``bench.json`` /
    ``bench.md`` in ``out``; returns the result."""
    from vrenvs.bench.render import cases as render_cases
    from vrenvs.bench.render import check_sizes

    chosen = sections or ("step", "reset", "generator", "render", "ppo", "memory", "multiagent")
    minigrid = _has_minigrid()
    rounds = 2 if quick else 5
    result: dict[str, Any] = {
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "machine": machine(),
        "quick": quick,
        "rounds": rounds,
        "sections": {},
    }
    tables = result["sections"]
    started = time.perf_counter()
    if "step" in chosen:
        tables["step"] = {
            "unit": "steps",
            "peer": f"{DOORKEY} single",
            **_rates(_step_cases(quick, minigrid), rounds),
            "long_run": _long_run(64, 100) if quick else _long_run(LONG_RUN_WORLDS, LONG_RUN_STEPS),
        }
    if "reset" in chosen:
        tables["reset"] = {
            "unit": "resets",
            "peer": f"{MULTIROOM} reset",
            **_rates(_reset_cases(quick, minigrid), rounds),
        }
    if "generator" in chosen:
        tables["generator"] = {
            "unit": "scenes",
            "peer": None,
            **_rates(_generator_cases(quick), 1 if quick else 3),
        }
    if "render" in chosen:
        check_sizes()
        peer = "MiniGrid-DoorKey-8x8 render()"
        tables["render"] = {"unit": "frames", "peer": peer, **_rates(render_cases(quick), rounds)}
    if "ppo" in chosen:
        tables["ppo"] = _ppo_cases(quick, minigrid)
    if "memory" in chosen:
        tables["memory"] = _memory(quick)
    if "multiagent" in chosen:
        tables["multiagent"] = {"unit": "agent-steps", "peer": None, **_rates(_multi_cases(quick), rounds)}
    result["seconds"] = round(time.perf_counter() - started, 1)
    result["targets"] = targets(tables)
    out.mkdir(parents=True, exist_ok=True)
    text = markdown(result)
    (out / "bench.json").write_text(json.dumps(result, indent=2))
    (out / "bench.md").write_text(text)
    print(text)
    return result


def _rates(cases: dict[str, Callable[[], float]], rounds: int) -> dict[str, Any]:
    return {"rates": measure(cases, rounds)}


def _median(tables: dict[str, Any], section: str, case: str) -> float | None:
    row = tables.get(section, {}).get("rates", {}).get(case)
    return None if row is None else float(row["median"])


def targets(tables: dict[str, Any]) -> list[dict[str, Any]]:
    """The benchmark issue's targets with the measured figure and whether each is met."""
    out: list[dict[str, Any]] = []

    def add(name: str, value: float | None, goal: float, unit: str) -> None:
        if value is not None:
            out.append({"target": name, "measured": value, "goal": goal, "unit": unit, "met": value >= goal})

    doorkey = _median(tables, "step", f"{DOORKEY} single")
    single = _median(tables, "step", SINGLE)
    if single and doorkey:
        add("single env vs MiniGrid-DoorKey-8x8", single / doorkey, 3.0, "x")
    long_run = tables.get("step", {}).get("long_run")
    if long_run:  # the bar counts fresh scenes: the long run, not the rounds on scenes drawn already
        worlds, long_rate = long_run["worlds"], float(long_run["agent_steps_per_second"])
        name = f"vector env B={worlds}, agent-steps/s, long run (scene draws included)"
        add(name, long_rate, 1_000_000, "steps/s")
        if doorkey:
            add(f"vector env B={worlds} long run vs MiniGrid single", long_rate / doorkey, 100.0, "x")
    off, on = _median(tables, "step", ROUTE_OFF), _median(tables, "step", ROUTE_ON)
    if off and on:
        cost = (16 / on - 16 / off) * 1e3
        out.append(
            {
                "target": "route sensor at B=16, ms per vector step",
                "measured": cost,
                "goal": 0.2,
                "unit": "ms",
                "met": cost <= 0.2,
            }
        )
    default, multiroom = (
        _median(tables, "reset", f"vrenvs reset, scenes={DEFAULT_SOURCE}"),
        _median(tables, "reset", f"{MULTIROOM} reset"),
    )
    if default and multiroom:
        add(
            f"reset with {DEFAULT_SOURCE} scenes (default) vs MiniGrid-MultiRoom-N6",
            default / multiroom,
            3.0,  # the speed issue's bar (the benchmark issue before it asked 10x)
            "x",
        )
    gen = _median(tables, "generator", "gan, banks of 1024, 2 threads")
    add("gan scenes/s incl. repair, 2 threads", gen, 10_000, "scenes/s")
    for size, goal in ((16, 10_000), (32, 2_500)):
        rate = _median(tables, "generator", f"vqvae {size}x{size}, banks of 1024, 2 threads")
        add(f"vqvae {size}x{size} scenes/s incl. repair, 2 threads", rate, goal, "scenes/s")
    ours, theirs = (
        _median(tables, "render", "vrenvs single render()"),
        _median(tables, "render", "MiniGrid-DoorKey-8x8 render()"),
    )
    if ours and theirs:
        add("rgb_array 256x256 vs MiniGrid render()", ours / theirs, 3.0, "x")
    ppo = tables.get("ppo", {})
    if "vrenvs Assistant-Fetch" in ppo and "MiniGrid-DoorKey-8x8" in ppo:
        ratio = (
            ppo["vrenvs Assistant-Fetch"]["env_steps_per_second"]
            / ppo["MiniGrid-DoorKey-8x8"]["env_steps_per_second"]
        )
        add("PPO env-steps/s vs MiniGrid-DoorKey-8x8", ratio, 1.0, "x")
        share = ppo["vrenvs Assistant-Fetch"]["env_share"]
        out.append(
            {
                "target": "share of PPO wall time in the env",
                "measured": share,
                "goal": 0.10,
                "unit": "share",
                "met": share <= 0.10,
            }
        )
    rows = {name: row for row, name in PPO_CASES.items()}
    plain, peer = rows["vrenvs-plain"], rows["minigrid-plain"]
    if plain in ppo and peer in ppo:
        ratio = ppo[plain]["env_steps_per_second"] / ppo[peer]["env_steps_per_second"]
        add("plain SB3 PPO (defaults) env-steps/s vs the same code on MiniGrid-DoorKey-8x8", ratio, 1.0, "x")
    multi = tables.get("multiagent", {}).get("rates", {})
    ratios: dict[str, list[float]] = {"all": [], "one": []}
    for native in [k for k in multi if ": native vector" in k]:
        scenario = native.split(":")[0]
        for k in multi:
            if k.startswith(f"{scenario}: multi-agent"):
                kind = "one" if "one learner" in k else "all"
                ratios[kind].append(multi[k]["median"] / multi[native]["median"])
    if ratios["all"]:
        name = f"multi-agent B={MULTI_B} vs native vector env, same world (worst scenario)"
        add(name, min(ratios["all"]), 0.8, "x")
    if ratios["one"]:
        add(f"multi-agent B={MULTI_B}, one learner, vs native (worst scenario)", min(ratios["one"]), 0.8, "x")
    memory = tables.get("memory")
    if memory:
        growth = memory["soak_rss_growth_mb"]
        ok = growth < 5 and memory["soak_errors"] == 0
        out.append(
            {
                "target": f"soak {memory['soak_agent_steps']:,} steps: RSS growth (MB), no errors",
                "measured": growth,
                "goal": 5.0,
                "unit": "MB",
                "met": ok,
            }
        )
    return out


def markdown(result: dict[str, Any]) -> str:
    """The whole run as markdown: one table per section, then the targets."""
    quick = " (quick smoke run: not the reported figures)" if result["quick"] else ""
    parts = [f"Measured {result['date']} on {result['machine']}; {result['rounds']} rounds{quick}.", ""]
    for name, section in result["sections"].items():
        parts.append(f"**{name}**" + (f" (peer: {section['peer']})" if section.get("peer") else ""))
        parts.append("")
        if "rates" in section:
            parts.append(rate_table(section["rates"], section.get("peer"), section["unit"]))
            run = section.get("long_run")
            if run:
                parts += [
                    f"Long run, B = {run['worlds']}, {run['steps']:,} steps after the first reset "
                    f"({run['first_reset_seconds']} s): {run['seconds']:.1f} s, "
                    f"{run['agent_steps_per_second']:,.0f} agent-steps/s with every scene draw on the way.",
                    "",
                ]
        elif name == "ppo":
            parts += ["| case | env-steps/s | share of wall time in env |", "|---|---:|---:|"]
            parts += [
                f"| {k} | {v['env_steps_per_second']:,.0f} | {100 * v['env_share']:.0f}% |"
                for k, v in section.items()
            ]
            parts.append("")
        else:
            parts += ["| measure | value |", "|---|---:|"]
            parts += [
                f"| {k} | {v:,.2f} |" if isinstance(v, float) else f"| {k} | {v:,} |"
                for k, v in section.items()
            ]
            parts.append("")
    parts += ["**targets**", "", "| target | measured | goal | met |", "|---|---:|---:|---|"]
    for t in result["targets"]:
        fmt = ",.0f" if t["unit"] in ("steps/s", "scenes/s") else ".2f"
        parts.append(
            f"| {t['target']} | {t['measured']:{fmt}} | {t['goal']:{fmt}} | {'yes' if t['met'] else 'no'} |"
        )
    return "\n".join(parts) + "\n"
