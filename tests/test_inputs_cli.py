"""Every command line refuses a bad argument before any work: exit status 2, one
``... error: ...`` line naming the argument and the value, no traceback.

The commands run in-process (``vrenvs.app.cli.main``; ``agents.ship`` and ``agents.results``
through their own ``main``) in a folder holding the files the cases need. The functions that
start work (building an env, drawing scenes, loading a generator, training, benchmarking) are
replaced by ones that fail the test, so each refusal is known to come before them.
"""

from __future__ import annotations

import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest

from vrenvs.app.cli import main

GLYPH_SCENE = "################\n" + "#..............#\n" * 14 + "################\n"


def run(argv: list[str]) -> int:
    """Exit status of a command line; argparse's refusals (SystemExit) become their status."""
    if argv[0] == "ship":
        from agents.ship import main as entry
    elif argv[0] == "results":
        from agents.results import main as entry
    else:
        entry = main
    try:
        return entry(argv[1:] if entry is not main else argv)
    except SystemExit as stop:
        return int(stop.code or 0)


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> Path:
    """A folder with what the cases name: a file and a folder in the way, broken scene
    files and banks, a run folder with and without a usable config."""
    root = tmp_path_factory.mktemp("inputs")
    (root / "afile").write_text("in the way")
    (root / "adir").mkdir()
    (root / "empty_folder").mkdir()
    for name, data in {
        "bad8": b"\xff\xfe####\n",
        "glyph": b"####\n#?Z#\n####\n",
        "ragged": b"####\n#..\n####\n",
    }.items():
        (root / name).mkdir()
        (root / name / "a.txt").write_bytes(data)
    (root / "bad8.txt").write_bytes(b"\xff" + GLYPH_SCENE.encode())
    (root / "scene32.txt").write_text(("#" * 32 + "\n") + ("#" + "." * 30 + "#\n") * 30 + ("#" * 32 + "\n"))
    (root / "pickled.npz").write_text("junk")
    (root / "empty.npz").write_bytes(b"")
    np.save(root / "bare.npy", np.zeros(3))
    (root / "bare.npy").rename(root / "bare.npz")
    np.savez(root / "wrongvocab.npz", codes=np.zeros((2, 16, 16), np.uint8), vocabulary=np.array("x"))
    whole = (root / "wrongvocab.npz").read_bytes()
    (root / "trunc.npz").write_bytes(whole[: len(whole) // 2])
    for name, text in {"arun": "seed: 0\n", "yamlrun": "seed: [0\n", "listrun": "- 1\n- 2\n"}.items():
        (root / name).mkdir()
        (root / name / "config.yaml").write_text(text)
    return root


def _boom(*args, **kwargs):
    raise AssertionError("work started before the command line was refused")


def no_work(monkeypatch, files: Path, reads: bool) -> None:
    """Run in ``files``; every entry point of real work fails the test when called (but
    building a scene source when the mistake is in its files)."""
    import gymnasium

    import agents.demo
    import agents.results
    import agents.ship
    import generators.cli
    import generators.report
    import generators.source
    import generators.train
    import vrenvs.app.record
    import vrenvs.bench.render
    import vrenvs.bench.suite

    monkeypatch.chdir(files)
    work = [] if reads else [(gymnasium, "make"), (vrenvs.app.record, "scene_frames")]
    for module, name in [
        *work,
        (gymnasium, "make_vec"),
        (vrenvs.bench.suite, "run_bench"),
        (vrenvs.bench.render, "run_render_bench"),
        (generators.cli, "_model"),
        (generators.source, "GeneratorSource"),
        (generators.train, "load_corpus"),
        (generators.report, "make_report"),
        (agents.demo, "run_demo"),
        (agents.ship, "read_meta"),
        (agents.results, "_write"),
    ]:
        monkeypatch.setattr(module, name, _boom)


def case(line: str, *words: str, reads: bool = False):
    """A bad command line (split on spaces; ``''`` is an empty argument) and the words its
    error must hold. ``reads``: the mistake is inside a file, found when it is read."""
    argv = [w if w != "''" else "" for w in line.split(" ")]
    return pytest.param(argv, words, reads, id=line)


BAD = [
    # vrenvs play
    case("play Dragon", "env_id", "'Dragon'", "vrenvs/Assistant-v0"),
    case("play Assistant --role wizard", "--role", "'wizard'", "assistant"),
    case("play NPC-Flee --role user", "--role", "'user'", "critter"),
    case("play Assistant --assistant policy.zip", "--assistant", "'policy.zip'", "oracle"),
    case("play Assistant --speed -1", "--speed", "-1", "[0, 240.0]"),
    case("play Assistant --speed nan", "--speed", "nan"),
    case("play Assistant --speed inf", "--speed", "inf"),
    case("play Assistant --speed 241", "--speed", "241", "[0, 240.0]"),
    case("play Assistant --speed fast", "--speed", "'fast'"),
    case("play Assistant --fps 0", "--fps", "0", "[0.1, 240.0]"),
    case("play Assistant --fps -5", "--fps", "-5"),
    case("play Assistant --fps 1e9", "--fps", "1000000000"),
    case("play Assistant --fps nan", "--fps", "nan"),
    case("play Assistant --max-frames 0", "--max-frames", "0", "[1, 1000000]"),
    case("play Assistant --max-frames 1000001", "--max-frames", "1000001"),
    case("play Assistant --max-frames 2.5", "--max-frames", "'2.5'"),
    case("play Assistant --tile-size 3", "--tile-size", "3", "[4, 64]"),
    case("play Assistant --tile-size 65", "--tile-size", "65", "[4, 64]"),
    case("play Assistant --seed -1", "--seed", "-1", "[0, 9223372036854775807]"),
    case("play Assistant --seed 9223372036854775808", "--seed", "9223372036854775808"),
    case("play Assistant --seed 1.5", "--seed", "'1.5'"),
    case("play Assistant --size 24", "--size", "24", "16, 32"),
    case("play Assistant --scenes dreams", "--scenes", "'dreams'", "procedural"),
    case("play Assistant --scenes missing.npz", "--scenes", "'missing.npz'", "does not exist"),
    # vrenvs watch
    case("watch Nowhere", "target", "'Nowhere'", "policy folder"),
    case("watch Assistant --env Nowhere", "--env", "'Nowhere'"),
    case("watch ppo-Assistant --env Dragon-v0", "--env", "'Dragon-v0'"),
    case("watch wizard --env Assistant", "target", "'wizard'", "oracle"),
    case("watch Assistant --agent wizard", "--agent", "'wizard'", "oracle"),
    case("watch Assistant --episodes 0", "--episodes", "0", "[1, 10000]"),
    case("watch Assistant --episodes 10001", "--episodes", "10001"),
    case("watch Assistant --episodes -3", "--episodes", "-3"),
    case("watch Assistant --max-steps 0", "--max-steps", "0", "[1, 100000]"),
    case("watch Assistant --max-steps 100001", "--max-steps", "100001"),
    case("watch Assistant --fps 0.05", "--fps", "0.05"),
    case("watch Assistant --fps inf", "--fps", "inf"),
    case("watch Assistant --record out.avi", "--record", "'out.avi'", ".gif"),
    case("watch Assistant --record adir", "--record", "'adir'", "is a folder"),
    case("watch Assistant --record afile/x.gif", "--record", "'afile/x.gif'", "'afile' is a file"),
    case("watch Assistant --record ''", "--record", "''", "empty"),
    case("watch Assistant --record x.gif --episodes 10000", "--episodes 10000", "the env's 512 steps"),
    case("watch Assistant --record x.gif --tile-size 64 --episodes 3", "--tile-size 64", "--episodes 3"),
    case("watch NPC-Flee --record x.mp4 --max-steps 100000", "--max-steps 100000", "512x512 px"),
    case("watch Assistant --tile-size 0", "--tile-size", "0"),
    case("watch Assistant --seed -7", "--seed", "-7"),
    case("watch Assistant --scenes empty_folder", "empty_folder", "no .txt scenes", reads=True),
    # vrenvs record
    case("record Dragon --out x.gif", "env_id", "'Dragon'"),
    case("record Assistant", "--out", "required"),
    case("record Assistant --out x.avi", "--out", "'x.avi'", "['.gif', '.mp4']"),
    case("record Assistant --out rollout", "--out", "'rollout'", "extension"),
    case("record Assistant --out adir", "--out", "'adir'", "is a folder"),
    case("record Assistant --out afile/x.gif", "--out", "'afile/x.gif'", "'afile' is a file"),
    case("record Assistant --out x.png", "--out", "'x.png'", "['.gif', '.mp4']"),
    case("record Assistant --out x.gif --episodes 0", "--episodes", "0"),
    case("record Assistant --out x.gif --episodes 32", "--episodes 32", "16,384 such frames"),
    case(
        "record Assistant --out x.gif --episodes 2 --max-steps 100000", "--max-steps 100000", "--episodes 2"
    ),
    case("record Assistant --out x.gif --size 32 --episodes 8", "--size 32", "--episodes 8", "4,096 such"),
    case("record Assistant --out x.gif --max-steps -1", "--max-steps", "-1"),
    case("record Assistant --out x.gif --max-steps 1e3", "--max-steps", "'1e3'"),
    case("record Assistant --out x.gif --fps 0", "--fps", "0"),
    case("record Assistant --out x.gif --fps 300", "--fps", "300"),
    case("record Assistant --out x.gif --fps=-inf", "--fps", "-inf"),
    case("record Assistant --out x.gif --agent wizard", "--agent", "'wizard'"),
    case("record Assistant --out x.gif --tile-size 100", "--tile-size", "100"),
    case("record Assistant --out x.gif --seed abc", "--seed", "'abc'"),
    case("record Assistant --out x.gif --scenes dreams", "--scenes", "'dreams'"),
    case("record Assistant --out x.gif --size 8", "--size", "8"),
    case("record NPC-Flee --out x.gif --scenes bad8", "bad8/a.txt", "not UTF-8", reads=True),
    case("record NPC-Flee --out x.gif --scenes glyph", "glyph/a.txt", "line 2", "'Z'", reads=True),
    case("record NPC-Flee --out x.gif --scenes ragged", "ragged/a.txt", "line 2", reads=True),
    case("record NPC-Flee --out x.gif --scenes empty_folder", "empty_folder", "no .txt", reads=True),
    case("record NPC-Flee --out x.gif --scenes pickled.npz", "pickled.npz", "cannot be read", reads=True),
    case("record NPC-Flee --out x.gif --scenes trunc.npz", "trunc.npz", "cannot be read", reads=True),
    case("record NPC-Flee --out x.gif --scenes empty.npz", "empty.npz", "cannot be read", reads=True),
    case("record NPC-Flee --out x.gif --scenes bare.npz", "bare.npz", "cannot be read", reads=True),
    case("record NPC-Flee --out x.gif --scenes wrongvocab.npz", "wrongvocab.npz", "vocabulary x", reads=True),
    # vrenvs gallery
    case("gallery --num 0", "--num", "0", "[1, 1024]"),
    case("gallery --num 1025", "--num", "1025", "[1, 1024]"),
    case("gallery --num 100000", "--num", "100000"),
    case("gallery --num -1", "--num", "-1"),
    case("gallery --num ten", "--num", "'ten'"),
    case("gallery --start -1", "--start", "-1", "[0, 2147483646]"),
    case("gallery --start 2147483647", "--start", "2147483647"),
    case("gallery --start 2147483646 --num 2", "--num", "--start 2147483646", "2147483646"),
    case("gallery --tile-size 3", "--tile-size", "3"),
    case("gallery --tile-size 64 --num 1024 --size 32", "--num 1024", "--tile-size 64", "256 such frames"),
    case("gallery --size 32 --tile-size 48 --num 600", "--num 600", "--size 32", "455 such frames"),
    case("gallery --out x.jpg", "--out", "'x.jpg'", "['.png']"),
    case("gallery --out adir", "--out", "'adir'", "is a folder"),
    case("gallery --out afile/g.png", "--out", "'afile/g.png'", "'afile' is a file"),
    case("gallery --out ''", "--out", "''", "empty"),
    case("gallery --scenes dreams", "--scenes", "'dreams'", "a folder of .txt scenes"),
    case("gallery --scenes nothere.npz", "--scenes", "'nothere.npz'", "does not exist"),
    case("gallery --scenes scene32.txt", "--scenes", "'scene32.txt'", "not a scene source"),
    case("gallery --size 64", "--size", "64"),
    case("gallery --scenes bad8", "bad8/a.txt", "byte 0", reads=True),
    case("gallery --scenes glyph", "glyph/a.txt", "unknown glyph", reads=True),
    case("gallery --scenes pickled.npz", "pickled.npz", reads=True),
    # vrenvs bench, bench-render, unknown commands
    case("bench --out afile", "--out", "'afile'", "is a file"),
    case("bench --out afile/sub", "--out", "'afile/sub'", "'afile' is a file"),
    case("bench --sections step warp", "--sections", "'warp'"),
    case("bench-render --out afile", "--out", "'afile'", "is a file"),
    case("bench-render --quick --out afile/x", "--out", "'afile/x'"),
    case("nosuch", "COMMAND", "'nosuch'"),
    # vrenvs generators train
    case("generators train wgan", "model", "'wgan'"),
    case("generators train gan --steps -1", "--steps", "-1", "[0, 10000000]"),
    case("generators train gan --steps 10000001", "--steps", "10000001"),
    case("generators train gan --minutes nan", "--minutes", "nan"),
    case("generators train gan --minutes -1", "--minutes", "-1"),
    case("generators train gan --minutes 1441", "--minutes", "1441", "[0.0, 1440.0]"),
    case("generators train gan --lr 0", "--lr", "0", "(0.0, 1.0]"),
    case("generators train gan --lr 2", "--lr", "2"),
    case("generators train gan --lr-critic inf", "--lr-critic", "inf"),
    case("generators train gan --batch-size 0", "--batch-size", "0", "[1, 4096]"),
    case("generators train gan --latent-dim 0", "--latent-dim", "0"),
    case("generators train gan --width 513", "--width", "513"),
    case("generators train gan --threads 0", "--threads", "0", "[1, 64]"),
    case("generators train gan --critic-input hard", "--critic-input", "'hard'", "gumbel"),
    case("generators train gan --decoding greedy", "--decoding", "'greedy'", "winners"),
    case("generators train gan --kl-weight -1", "--kl-weight", "-1"),
    case("generators train gan --num-procedural 1000001", "--num-procedural", "1000001"),
    case("generators train gan --num-heldout -1", "--num-heldout", "-1"),
    case("generators train gan --eval-every 0", "--eval-every", "0"),
    case("generators train gan --seed -1", "--seed", "-1"),
    case("generators train gan --latent-scale 0", "--latent-scale", "0"),
    case("generators train gan --critic-temperature inf", "--critic-temperature", "inf"),
    case("generators train gan --out afile", "--out", "'afile'", "is a file"),
    case("generators train gan --export afile", "--export", "'afile'", "is a file"),
    case("generators train gan --run ../x", "--run", "'../x'", "folder name"),
    case("generators train gan --steps 0 --minutes 0", "--steps 0", "--minutes 0", "no budget"),
    # vrenvs generators report, sample, interpolate, search
    case("generators report --samples 1", "--samples", "1", "[2, 65536]"),
    case("generators report --samples 65537", "--samples", "65537"),
    case("generators report --threads 0", "--threads", "0"),
    case("generators report --threads 65", "--threads", "65"),
    case("generators report --out afile", "--out", "'afile'"),
    case("generators report --vae nowhere.json", "--vae", "'nowhere.json'", "does not exist"),
    case("generators sample --num 0", "--num", "0", "[1, 1024]"),
    case("generators sample --num 1025", "--num", "1025"),
    case("generators sample --start -1", "--start", "-1"),
    case("generators sample --start 2147483647", "--start", "2147483647"),
    case("generators sample --start 2147483646 --num 2", "--num", "--start 2147483646"),
    case("generators sample --model wgan", "--model", "'wgan'"),
    case("generators sample --checkpoint nowhere", "--checkpoint", "'nowhere'", "nowhere.json"),
    case("generators sample --out afile", "--out", "'afile'"),
    case("generators interpolate seed:x seed:1", "start", "'seed:x'"),
    case("generators interpolate seed:-1 seed:1", "start", "seed=-1", "[0, 2147483646]"),
    case("generators interpolate seed:1 seed:2147483647", "end", "seed=2147483647"),
    case("generators interpolate seed:1 nowhere.txt", "end", "'nowhere.txt'", "seed:N"),
    case("generators interpolate seed:1 bad8.txt", "end", "bad8.txt", "not UTF-8"),
    case("generators interpolate seed:1 scene32.txt", "end", "'scene32.txt'", "32x32"),
    case("generators interpolate seed:1 seed:2 --steps 1", "--steps", "1", "[2, 256]"),
    case("generators interpolate seed:1 seed:2 --steps 257", "--steps", "257"),
    case("generators interpolate seed:1 seed:2 --out afile", "--out", "'afile'"),
    case("generators search", "--target", "required"),
    case("generators search --target nan", "--target", "nan"),
    case("generators search --target inf", "--target", "inf"),
    case("generators search --target -1", "--target", "-1", "[0, 256.0]"),
    case("generators search --target 257", "--target", "257"),
    case("generators search --target 3 --budget 0", "--budget", "0", "[1, 100000]"),
    case("generators search --target 3 --budget 100001", "--budget", "100001"),
    case("generators search --target 3 --seed -1", "--seed", "-1"),
    case("generators search --target 3 --seed 4294967295", "--seed", "4294967295", "4294967294"),
    case("generators search --target 3 --objective beauty", "--objective", "'beauty'", "path_length"),
    case("generators search --target 3 --out afile", "--out", "'afile'"),
    # vrenvs demo
    case("demo --train-minutes -1", "--train-minutes", "-1", "[0, 60.0]"),
    case("demo --train-minutes nan", "--train-minutes", "nan"),
    case("demo --train-minutes 61", "--train-minutes", "61"),
    case("demo --episodes 0", "--episodes", "0", "[1, 100]"),
    case("demo --episodes 101", "--episodes", "101"),
    case("demo --seed -1", "--seed", "-1"),
    case("demo --seed 4294967296", "--seed", "4294967296", "4294967295"),
    case("demo --out afile", "--out", "'afile'", "is a file"),
    case("demo --scenes dreams", "--scenes", "'dreams'"),
    case("demo --assistant wizard", "--assistant", "'wizard'", "oracle"),
    # python -m agents.ship / agents.results
    case("ship nowhere", "run", "'nowhere'", "config.yaml"),
    case("ship adir", "run", "'adir'", "config.yaml"),
    case("ship arun --episodes 0", "--episodes", "0", "[1, 10000]"),
    case("ship arun --episodes 10001", "--episodes", "10001"),
    case("ship arun --which worst", "--which", "'worst'"),
    case("ship yamlrun", "yamlrun/config.yaml", "not valid YAML", "line 2", reads=True),
    case("ship listrun", "listrun/config.yaml", "mapping of config keys", "not list", reads=True),
    case("results --episodes 0", "--episodes", "0"),
    case("results --episodes 10001", "--episodes", "10001"),
    case("results --readme nowhere.md", "--readme", "'nowhere.md'"),
    case("results --out afile", "--out", "'afile'", "is a file"),
]


@pytest.mark.parametrize(("argv", "words", "reads"), BAD)
def test_a_bad_command_line_is_refused_before_any_work(argv, words, reads, files, monkeypatch, capsys):
    no_work(monkeypatch, files, reads)
    started = time.perf_counter()
    code = run(argv)
    err = capsys.readouterr().err
    assert code == 2, err
    assert "error: " in err and "Traceback" not in err
    for word in words:
        assert word in err, err
    if not reads:
        assert time.perf_counter() - started < 5


def test_the_battery_is_large_and_covers_every_command():
    commands = {p.values[0][0] if p.values[0][0] != "generators" else p.values[0][1] for p in BAD}
    assert len(BAD) >= 110 and len({p.id for p in BAD}) == len(BAD)
    assert commands >= {"play", "watch", "record", "gallery", "bench", "bench-render", "train", "report"}
    assert commands >= {"sample", "interpolate", "search", "demo", "ship", "results"}


# Edge values that are allowed still work.


def test_edge_values_play_turn_by_turn_and_draw_one_scene(tmp_path, capsys, monkeypatch):
    iio = pytest.importorskip("imageio.v3")
    monkeypatch.chdir(tmp_path)
    assert run(["gallery", "--scenes", "procedural", "--num", "1", "--start", "2147483646"]) == 0
    assert iio.imread(tmp_path / "gallery.png").shape == (16 * 16 + 8, 16 * 16 + 8, 3)
    assert run(["gallery", "--scenes", "procedural", "--num", "2", "--tile-size", "4", "--size", "32"]) == 0
    pytest.importorskip("pygame")
    assert run(["play", "Assistant", "--speed", "0", "--max-frames", "1", "--fps", "240"]) == 0
    assert "played 1 frames, 0 steps" in capsys.readouterr().out


def test_edge_values_record_at_the_slowest_rate_and_the_largest_seed(tmp_path, capsys):
    pytest.importorskip("imageio.v3")
    out = tmp_path / "slow.gif"
    argv = ["record", "NPC-Flee", "--out", str(out), "--max-steps", "1", "--fps", "0.1"]
    assert run([*argv, "--seed", str(2**63 - 1), "--episodes", "2", "--tile-size", "4"]) == 0
    assert '"fps": 0.1' in capsys.readouterr().out and out.stat().st_size > 0


def test_the_pixel_budget_holds_16384_frames_of_256_px():
    from vrenvs.app.args import MAX_PIXELS, check_pixels

    check_pixels("the recording", 16_384, 256, "--episodes 1")
    with pytest.raises(ValueError, match=r"16,385 frames of 256x256 px \(--episodes 1\)"):
        check_pixels("the recording", 16_385, 256, "--episodes 1")
    assert MAX_PIXELS == 16_384 * 256 * 256


def test_edge_values_of_the_generators_commands(tmp_path):
    argv = ["generators", "search", "--target", "0", "--budget", "1", "--out", str(tmp_path / "s")]
    assert run([*argv, "--seed", str(2**32 - 2)]) == 0
    assert list((tmp_path / "s").glob("gan_path_length_0.json"))
    argv = ["generators", "sample", "--num", "1", "--start", "2147483646", "--out", str(tmp_path)]
    assert run(argv) == 0 and (tmp_path / "gan_2147483646_1.txt").exists()


def test_results_and_demo_run_with_edge_values(tmp_path, capsys):
    readme = tmp_path / "README.md"
    readme.write_text("before\n<!-- results:start -->\nold\n<!-- results:end -->\nafter\n")
    assert run(["results", "--episodes", "1", "--readme", str(readme), "--out", str(tmp_path / "r")]) == 0
    assert "old" not in readme.read_text() and "`ppo-Assistant`" in readme.read_text()
    out = tmp_path / "demo"
    argv = ["demo", "--train-minutes", "0", "--episodes", "1", "--assistant", "oracle", "--out", str(out)]
    assert run([*argv, "--seed", str(2**32 - 1)]) == 0
    assert (out / "rollout.gif").stat().st_size > 0 and "oracle served" in capsys.readouterr().out


# The demo's progress bar counts its time budget.


def test_the_budget_bar_counts_seconds_and_closes_full(capsys):
    from agents.demo import budget_bar

    with budget_bar(1.0, "budget") as bar:
        time.sleep(1.2)
        assert 0.4 <= bar.n <= 1.5, "the bar counts seconds spent"
    assert bar.n == bar.total == 60
    assert "100%" in capsys.readouterr().err
    with pytest.raises(KeyError), budget_bar(1.0, "broken") as broken:
        raise KeyError("stop")
    assert broken.n < 60, "a failed run does not fill the bar"


def test_the_demo_trains_under_the_budget_bar_not_sb3s(monkeypatch, tmp_path, capsys):
    import agents.evaluate
    import agents.policy_io
    import agents.train
    from agents.demo import short_training

    seen: dict[str, Any] = {}

    def train(env_id, overrides, runs, run_id, progress_bar):
        seen.update(progress_bar=progress_bar, overrides=overrides)
        time.sleep(0.7)
        return tmp_path

    monkeypatch.setattr(agents.train, "train", train)
    monkeypatch.setattr(agents.policy_io, "load_policy", lambda path: SimpleNamespace(num_timesteps=64))
    monkeypatch.setattr(agents.evaluate, "evaluate", lambda *args, **kwargs: {})
    monkeypatch.setattr(agents.evaluate, "table", lambda rows: "")
    summary = short_training(tmp_path, 0.01, 3, episodes=1)
    err = capsys.readouterr().err
    assert seen["progress_bar"] is False and "max_minutes=0.01" in seen["overrides"]
    assert "PPO on Assistant-Fetch-v0, 0.01 min: 100%" in err and "1/1 s" in err
    assert summary["steps"] == 64


# Audit round 2: drivers in the wrong role, options that would be ignored, the generators'
# checkpoint kind and run folder, the demo's output folder, galleries of finite sources.

AUDIT_DRIVER_CASES = [
    case("play Assistant --assistant ppo-NPC-Guard", "--assistant", "'ppo-NPC-Guard'", "guard", "assistant"),
    case("play Assistant-Fetch --assistant ppo-NPC-Flee", "--assistant", "'ppo-NPC-Flee'", "critter"),
    case("play Assistant --role guard --assistant ppo-NPC-Guard", "--assistant", "trained as the guard"),
    case(
        "play Assistant --role assistant --assistant ppo-Assistant", "--assistant", "'ppo-Assistant'", "plays"
    ),
    case(
        "play Assistant-Fetch --role assistant --assistant random",
        "--assistant",
        "'random'",
        "drives nothing",
    ),
    case("play NPC-Guard --assistant random", "--assistant", "'random'", "NPC-Guard-v0 has no assistant"),
    case("play NPC-Flee --assistant oracle", "--assistant", "'oracle'", "learner is the critter"),
    case("watch ppo-NPC-Guard --env Assistant-v0", "target", "'ppo-NPC-Guard'", "trained as the guard"),
    case("watch ppo-NPC-Flee --env NPC-Guard", "target", "'ppo-NPC-Flee'", "trained as the critter"),
    case("watch Assistant --agent ppo-NPC-Guard --record w.gif", "--agent", "'ppo-NPC-Guard'", "assistant"),
    case("watch NPC-Flee --agent ppo-Assistant-Fetch", "--agent", "'ppo-Assistant-Fetch'", "critter"),
    case("watch ppo-Assistant-Fetch --agent random", "--agent", "'random'", "'ppo-Assistant-Fetch'"),
    case("watch ppo-NPC-Guard --agent ppo-NPC-Guard", "--agent", "'ppo-NPC-Guard'", "target"),
    case(
        "watch ppo-Assistant --env Assistant-Fetch --agent oracle", "--agent", "'oracle'", "'ppo-Assistant'"
    ),
    case("record Assistant --out r.gif --agent ppo-NPC-Guard", "--agent", "'ppo-NPC-Guard'", "the assistant"),
    case("record NPC-Guard --out r.gif --agent ppo-Assistant", "--agent", "'ppo-Assistant'", "the guard"),
    case("record NPC-Flee --out r.gif --agent ppo-NPC-Guard", "--agent", "'ppo-NPC-Guard'", "the critter"),
    case("demo --assistant ppo-NPC-Guard", "--assistant", "'ppo-NPC-Guard'", "trained as the guard"),
    case("demo --assistant ppo-NPC-Flee", "--assistant", "'ppo-NPC-Flee'", "trained as the critter"),
    case("generators train gan --run ''", "--run", "''", "empty"),
    case("generators train vae --steps 1 --run ''", "--run", "''", "seed<seed>"),
]


@pytest.mark.parametrize(("argv", "words", "reads"), AUDIT_DRIVER_CASES)
def test_audit_a_driver_of_another_role_or_an_unused_option_is_refused(
    argv, words, reads, files, monkeypatch, capsys
):
    test_a_bad_command_line_is_refused_before_any_work(argv, words, reads, files, monkeypatch, capsys)


def _refused(argv: list[str], capsys, *words: str) -> None:
    code = run(argv)
    err = capsys.readouterr().err
    assert code == 2, err
    assert "error: " in err and "Traceback" not in err
    for word in words:
        assert word in err, err


@pytest.mark.parametrize("command", ["interpolate seed:0 seed:1", "search --target 10 --budget 1"])
@pytest.mark.parametrize(("model", "kind"), [("gan", "vae"), ("vaegan", "gan")])
def test_audit_a_checkpoint_of_another_kind_is_refused(command, model, kind, tmp_path, capsys):
    from generators.checkpoint import shipped

    out = tmp_path / "out"
    argv = ["generators", *command.split(" "), "--model", model, "--checkpoint", str(shipped(kind))]
    _refused([*argv, "--out", str(out)], capsys, "--checkpoint", f"holds a {kind} model", f"--model {model}")
    assert not out.exists()


def test_audit_a_generator_run_folder_in_use_is_refused(files, monkeypatch, capsys, tmp_path):
    no_work(monkeypatch, files, reads=False)
    used = tmp_path / "runs" / "gan" / "seed0"
    used.mkdir(parents=True)
    (used / "gan.json").write_text("{}")
    argv = ["generators", "train", "gan", "--steps", "1", "--out", str(tmp_path / "runs")]
    _refused(argv, capsys, f"run folder {str(used)!r}", "not empty", "--run")
    (tmp_path / "runs" / "gan" / "mine").write_text("a file")
    _refused([*argv, "--run", "mine"], capsys, "run folder", "mine'", "is a file")
    (tmp_path / "runs" / "vae" / "seed3").mkdir(parents=True)  # an empty folder is used as is
    from generators.train import TrainConfig, run_folder

    assert run_folder(TrainConfig(model="vae", seed=3, out=str(tmp_path / "runs"))).name == "seed3"


def test_audit_a_refused_demo_leaves_no_out_folder(files, tmp_path, capsys):
    out = tmp_path / "demo"
    _refused(
        ["demo", "--assistant", str(files / "empty_folder"), "--train-minutes", "0", "--out", str(out)],
        capsys,
        "empty_folder",
        "policy.json",
    )
    assert not out.exists()
    argv = ["demo", "--scenes", str(files / "ragged"), "--assistant", "oracle", "--train-minutes", "0"]
    _refused([*argv, "--episodes", "1", "--out", str(out)], capsys, "ragged/a.txt", "line 2")
    assert not out.exists()
    from agents.demo import run_demo

    with pytest.raises(ValueError, match=r"assistant='ppo-NPC-Guard' is a policy trained as the guard"):
        run_demo(out, episodes=1, assistant="ppo-NPC-Guard", train_minutes=0)
    assert not out.exists()


@pytest.fixture
def one_scene_bank(tmp_path, monkeypatch) -> Path:
    """A bank of one scene whose source knows it (``num_distinct``, set here too so the test
    holds with or without the sources that count their scenes)."""
    from vrenvs.core.sources import AsciiFolderSource, BankSource, save_bank

    path = tmp_path / "one.npz"
    save_bank(path, [AsciiFolderSource(16).scene(0)])
    monkeypatch.setattr(BankSource, "num_distinct", 1, raising=False)
    return path


@pytest.mark.parametrize(
    ("extra", "words"), [("--num 4", ("num=4", "start=0")), ("--start 1 --num 1", ("num=1", "start=1"))]
)
def test_audit_a_gallery_past_the_distinct_scenes_of_a_source_is_refused(
    one_scene_bank, extra, words, tmp_path, capsys
):
    out = tmp_path / "g.png"
    argv = ["gallery", "--scenes", str(one_scene_bank), *extra.split(" "), "--out", str(out)]
    _refused(argv, capsys, *words, "--num", "--start", "has 1")
    assert not out.exists()
    pytest.importorskip("imageio.v3")
    assert run(["gallery", "--scenes", str(one_scene_bank), "--num", "1", "--out", str(out)]) == 0
    assert out.is_file()
