"""The ``vrenvs`` command: every subcommand runs on a tiny budget, ``--help`` parses, and
mistakes get messages that say what was wrong."""

from __future__ import annotations

import json

import numpy as np
import pytest

from vrenvs.app.cli import main
from vrenvs.envs.registration import ENVS

SUBCOMMANDS = ("list", "play", "watch", "record", "gallery", "demo", "bench", "bench-render")


def run(capsys, *argv: str) -> tuple[int, str, str]:
    """Exit status, stdout and stderr; argparse's refusals (SystemExit) become a status."""
    try:
        code = main(list(argv))
    except SystemExit as stop:
        code = int(stop.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize("command", SUBCOMMANDS)
def test_help_parses_for_every_subcommand(command, capsys):
    with pytest.raises(SystemExit) as stop:
        main([command, "--help"])
    assert stop.value.code == 0
    assert f"usage: vrenvs {command}" in capsys.readouterr().out


def test_top_level_help_lists_the_subcommands(capsys):
    with pytest.raises(SystemExit):
        main(["--help"])
    out = capsys.readouterr().out
    for command in SUBCOMMANDS:
        assert command in out


def test_list_prints_every_id_with_a_description(capsys):
    code, out, _ = run(capsys, "list")
    assert code == 0
    lines = out.strip().splitlines()
    for env, line in zip(ENVS, lines):
        assert line.startswith(env.id) and env.summary in line
    rest = lines[len(ENVS) :]
    assert rest == [] or (rest[0] == "" and rest[1].startswith("trained policies (vrenvs watch NAME): ppo-"))


def test_record_gif_has_one_frame_per_state(tmp_path, capsys):
    iio = pytest.importorskip("imageio.v3")
    out = tmp_path / "rollout.gif"
    code, text, _ = run(
        capsys, "record", "Assistant", "--out", str(out), "--episodes", "2", "--max-steps", "6"
    )
    assert code == 0
    summary = json.loads(text)
    assert [e["steps"] for e in summary["episodes"]] == [6, 6]
    frames = iio.imread(out, index=None)
    assert summary["frames"] == 14 and frames.shape == (14, 256, 256, 3)


def test_record_gif_of_episodes_that_end_early(tmp_path, capsys):
    iio = pytest.importorskip("imageio.v3")
    out = tmp_path / "guard.gif"
    code, text, _ = run(capsys, "record", "NPC-Flee", "--out", str(out), "--episodes", "3", "--seed", "2")
    assert code == 0
    summary = json.loads(text)
    want = sum(e["steps"] + 1 for e in summary["episodes"])
    assert summary["frames"] == want == len(iio.imread(out, index=None))


def test_record_mp4(tmp_path, capsys):
    pytest.importorskip("imageio_ffmpeg")
    iio = pytest.importorskip("imageio.v3")
    out = tmp_path / "rollout.mp4"
    code, _, _ = run(capsys, "record", "vrenvs/Assistant-Fetch-v0", "--out", str(out), "--max-steps", "9")
    assert code == 0
    assert iio.imread(out, index=None, plugin="FFMPEG").shape == (10, 256, 256, 3)


def test_gallery_draws_a_grid(tmp_path, capsys):
    iio = pytest.importorskip("imageio.v3")
    out = tmp_path / "gallery.png"
    code, text, _ = run(
        capsys, "gallery", "--scenes", "designer", "--num", "5", "--out", str(out), "--tile-size", "8"
    )
    assert code == 0
    image = iio.imread(out)
    assert image.shape == (2 * 132 + 4, 3 * 132 + 4, 3)
    assert json.loads(text)["num"] == 5
    tiles = [image[4 + r * 132 : 132 + r * 132, 4 + c * 132 : 132 + c * 132] for r, c in [(0, 0), (0, 1)]]
    assert not np.array_equal(*tiles), "different scenes"


def test_play_and_watch_run_headless(capsys):
    pytest.importorskip("pygame")
    code, out, _ = run(capsys, "play", "Assistant-v0", "--max-frames", "3", "--fps", "200", "--speed", "100")
    assert code == 0 and "1 fetch  2 guide  3 open" in out and "played 3 frames" in out
    code, out, _ = run(capsys, "play", "NPC-Guard", "--role", "thief", "--max-frames", "2", "--fps", "200")
    assert code == 0
    # procedural scenes: the count depends on the scenes (an episode may end before 4 steps),
    # not on which learned generator is the default
    argv = ["watch", "NPC-Flee", "--max-steps", "4", "--episodes", "2", "--fps", "200"]
    argv += ["--scenes", "procedural"]
    code, out, _ = run(capsys, *argv)
    assert code == 0 and "watched 8 steps" in out


def test_bench_render_quick(tmp_path, capsys):
    code, out, _ = run(capsys, "bench-render", "--quick", "--out", str(tmp_path))
    assert code == 0
    result = json.loads((tmp_path / "render_bench.json").read_text())
    assert set(result["frames_per_second"]) >= {"vrenvs single render()", "vrenvs vector B=64 render()"}
    assert "| case |" in out


@pytest.mark.parametrize(
    ("argv", "words"),
    [
        (["record", "Dragon-v0", "--out", "x.gif"], ["unknown env 'Dragon-v0'", "vrenvs/Assistant-v0"]),
        (["record", "Assistant", "--out", "x.avi"], ["--out", "x.avi", "['.gif', '.mp4']"]),
        (["gallery", "--out", "x.jpg"], ["--out", "x.jpg", "['.png']"]),
        (["gallery", "--scenes", "dreams", "--out", "g.png"], ["'dreams'", "procedural"]),
        (["play", "NPC-Flee", "--role", "user"], ["--role", "'user'", "critter"]),
        (["play", "Assistant", "--assistant", "policy.zip"], ["'policy.zip'", "oracle", "policy folder"]),
        (["watch", "Assistant", "--agent", "wizard"], ["'wizard'", "oracle"]),
    ],
)
def test_errors_say_what_was_wrong(argv, words, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, _, err = run(capsys, *argv)
    assert code == 2
    assert err.splitlines()[-1].startswith(f"vrenvs {argv[0]}: error:")
    for word in words:
        assert word in err, err


def test_bad_numbers_are_rejected_by_the_parser(capsys):
    with pytest.raises(SystemExit) as stop:
        main(["record", "Assistant", "--out", "x.gif", "--episodes", "0"])
    assert stop.value.code == 2
    err = capsys.readouterr().err
    assert "argument --episodes: 0 is out of range; allowed: an integer in [1, 10000]" in err


@pytest.mark.slow
def test_bench_quick_runs_every_section_and_states_the_targets(tmp_path, capsys):
    code, _, _ = run(capsys, "bench", "--quick", "--out", str(tmp_path))
    assert code == 0
    result = json.loads((tmp_path / "bench.json").read_text())
    assert set(result["sections"]) == {"step", "reset", "generator", "render", "ppo", "memory", "multiagent"}
    step = result["sections"]["step"]["rates"]
    assert (
        "MiniGrid-MultiRoom-N6-v0 single" in step
        and "vrenvs vector B=1024 (scenes of the first reset)" in step
    )
    resets = result["sections"]["reset"]["rates"]
    assert "vrenvs reset, scenes=gan" in resets and "vrenvs reset, scenes=vqvae" in resets
    assert result["sections"]["memory"]["soak_errors"] == 0
    names = {t["target"] for t in result["targets"]}
    assert (
        "single env vs MiniGrid-DoorKey-8x8" in names and "PPO env-steps/s vs MiniGrid-DoorKey-8x8" in names
    )
    assert "reset with vqvae scenes (default) vs MiniGrid-MultiRoom-N6" in names
    assert "route sensor at B=16, ms per vector step" in names
    long_run = result["sections"]["step"]["long_run"]
    assert (long_run["worlds"], long_run["steps"]) == (64, 100)
    vector = next(t for t in result["targets"] if t["target"].startswith("vector env B=64, agent-steps/s"))
    assert vector["measured"] == pytest.approx(64 * 100 / long_run["seconds"], rel=0.05)
    assert vector["measured"] == long_run["agent_steps_per_second"]
    assert vector["met"] == (vector["measured"] >= 1_000_000)  # a quick run's speed is not the bar's
    assert "Long run, B = 64, 100 steps" in (tmp_path / "bench.md").read_text()
    multi = result["sections"]["multiagent"]["rates"]
    native = multi["Guard-Thief: native vector env B=256 (guard learns)"]["median"]
    both = multi["Guard-Thief: multi-agent B=256 (guard, thief learn)"]["median"]
    worst = next(t for t in result["targets"] if t["target"].startswith("multi-agent B=256 vs native"))
    assert worst["measured"] <= both / native
    route = next(t for t in result["targets"] if t["target"].startswith("route sensor"))
    want = (
        16 / step["vrenvs vector B=16, route=True"]["median"] - 16 / step["vrenvs vector B=16"]["median"]
    ) * 1e3
    assert route["measured"] == pytest.approx(want) and route["met"] == (route["measured"] <= 0.2)
    ppo = result["sections"]["ppo"]
    plain = next(t for t in result["targets"] if t["target"].startswith("plain SB3 PPO"))
    want = (
        ppo["vrenvs Assistant-Fetch, plain SB3 MultiInputPolicy"]["env_steps_per_second"]
        / ppo["MiniGrid-DoorKey-8x8, plain SB3 MlpPolicy"]["env_steps_per_second"]
    )
    assert plain["measured"] == pytest.approx(want) and plain["met"] == (want >= 1.0)
    assert "**targets**" in (tmp_path / "bench.md").read_text()


def test_bench_targets_are_the_speed_issues_bars():
    """Each target's goal and direction, from tables of made-up medians: a figure at the goal
    meets it, a figure just short of it does not (the speed issue: single env 3x DoorKey,
    B = 1024 1M agent-steps/s, route <= 0.2 ms, reset 3x MultiRoom, PPO 1x DoorKey with the
    env <= 10% of the wall time, v2 sampling 10,000 / 2,500 scenes/s, soak < 5 MB)."""
    from vrenvs.bench.suite import DOORKEY, MULTIROOM, ROUTE_OFF, ROUTE_ON, SINGLE, targets

    def tables(scale: float) -> dict:
        def rates(**cases: float) -> dict:
            return {"rates": {k: {"median": v} for k, v in cases.items()}}

        step = rates(**{f"{DOORKEY} single": 1000.0, SINGLE: 3000.0 * scale, ROUTE_OFF: 16_000.0})
        step["rates"][ROUTE_ON] = {"median": 16 / (1 / 1000 + 0.1999e-3 / scale)}  # 0.2 ms is float-rounded
        step["long_run"] = {"worlds": 1024, "agent_steps_per_second": 1_000_000 * scale}
        reset = rates(**{"vrenvs reset, scenes=vqvae": 300.0 * scale, f"{MULTIROOM} reset": 100.0})
        generator = rates(
            **{
                "vqvae 16x16, banks of 1024, 2 threads": 10_000 * scale,
                "vqvae 32x32, banks of 1024, 2 threads": 2_500 * scale,
            }
        )
        ppo = {
            "vrenvs Assistant-Fetch": {"env_steps_per_second": 100.0 * scale, "env_share": 0.10 / scale},
            "MiniGrid-DoorKey-8x8": {"env_steps_per_second": 100.0, "env_share": 0.5},
        }
        memory = {"soak_rss_growth_mb": 4.99 / scale, "soak_errors": 0, "soak_agent_steps": 10**6}
        return {"step": step, "reset": reset, "generator": generator, "ppo": ppo, "memory": memory}

    met = {t["target"]: (t["goal"], t["met"]) for t in targets(tables(1.0))}
    short = {t["target"]: t["met"] for t in targets(tables(0.98))}
    assert {name: goal for name, (goal, _) in met.items()} == {
        "single env vs MiniGrid-DoorKey-8x8": 3.0,
        "vector env B=1024, agent-steps/s, long run (scene draws included)": 1_000_000,
        "vector env B=1024 long run vs MiniGrid single": 100.0,
        "route sensor at B=16, ms per vector step": 0.2,
        "reset with vqvae scenes (default) vs MiniGrid-MultiRoom-N6": 3.0,
        "vqvae 16x16 scenes/s incl. repair, 2 threads": 10_000,
        "vqvae 32x32 scenes/s incl. repair, 2 threads": 2_500,
        "PPO env-steps/s vs MiniGrid-DoorKey-8x8": 1.0,
        "share of PPO wall time in the env": 0.10,
        "soak 1,000,000 steps: RSS growth (MB), no errors": 5.0,
    }
    long_run = "vector env B=1024 long run vs MiniGrid single"
    assert all(ok for name, (_, ok) in met.items() if name != long_run), met
    assert not any(ok for name, ok in short.items() if name != long_run), short
