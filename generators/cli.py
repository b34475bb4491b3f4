"""``vrenvs generators train|report|sample|interpolate|search|adapt`` (also ``python -m
generators ...``). Every subcommand prints where it wrote its files."""

from __future__ import annotations

import argparse
import json
import shlex
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np

from vrenvs.core.checks import arg_float, arg_int, arg_output, check_int
from vrenvs.core.sources import NUM_SCENE_INDICES

__all__ = ["main"]

MAX_SAMPLES = 65_536
"""``report --samples``: scenes per row of the report card."""
MAX_THREADS = 64
MAX_SCENES = 1024
"""``sample --num``: scenes in one PNG sheet and ASCII file."""
MAX_LINE = 256
"""``interpolate --steps``: scenes on the line, in one row of the PNG."""
MAX_BUDGET = 100_000
"""``search --budget``: scenes decoded and measured."""
MAX_TARGET = 256.0
"""``search --target``: every objective is a count or a distance on the 16x16 grid."""
MAX_SEARCH_SEED = 2**32 - 2
"""``search --seed``: CMA-ES seeds numpy with ``seed + 1``, which must stay below 2**32."""
USER_ERRORS = (ValueError, TypeError, OSError)
"""What a user's mistake raises: one line and status 2 instead of a traceback."""


def _cmd_train(args: argparse.Namespace, argv: list[str]) -> int:
    from generators.train import parse_config, train

    train(parse_config(args), command="python -m generators " + shlex.join(argv))
    return 0


def _cmd_train_vq(args: argparse.Namespace, argv: list[str]) -> int:
    from generators.train_vq import parse_config, train_vq

    train_vq(parse_config(args), command="python -m generators " + shlex.join(argv))
    return 0


def _cmd_report(args: argparse.Namespace, argv: list[str]) -> int:
    from generators.report import make_report

    kinds = ("gan", "vae", "vaegan", "vqvae", "vqgan")
    checkpoints = {k: getattr(args, k) for k in kinds if getattr(args, k)}
    sizes = tuple(args.sizes)
    summary = make_report(args.out, args.samples, checkpoints, args.threads, args.update_cards, sizes)
    print((Path(args.out) / "report.md").read_text())
    pictures = ", ".join(p.name for p in sorted(Path(args.out).glob("*.png")))
    print(f"wrote {args.out}/report.md, report.json and {pictures} ({len(summary['rows'])} rows)")
    return 0


def _model(kind: str, checkpoint: str | None):
    """The ``--model`` generator: the shipped weights, or ``--checkpoint`` if it holds that kind."""
    from generators.checkpoint import load_checkpoint, shipped

    model = load_checkpoint(checkpoint or shipped(kind)).model
    if model.kind != kind:
        raise ValueError(
            f"argument --checkpoint: {checkpoint!r} holds a {model.kind} model, not the --model {kind}; "
            f"give --model {model.kind} or a {kind} checkpoint"
        )
    return model


def _write_scenes(out: Path, stem: str, codes: np.ndarray, cols: int) -> None:
    from generators.images import grid_image, write_png
    from vrenvs.core.scene import Scene

    out.mkdir(parents=True, exist_ok=True)
    write_png(out / f"{stem}.png", grid_image(codes, cols=cols, cell=8))
    text = "\n".join(Scene(c, name=f"{stem} {k}").to_ascii() for k, c in enumerate(codes))
    (out / f"{stem}.txt").write_text(text)
    print(f"wrote {out / stem}.png and {out / stem}.txt")


def _cmd_sample(args: argparse.Namespace, argv: list[str]) -> int:
    from generators.source import GeneratorSource

    if args.start + args.num > NUM_SCENE_INDICES:
        raise ValueError(
            f"argument --num: {args.num} scenes from --start {args.start} run past the last scene index "
            f"{NUM_SCENE_INDICES - 1}"
        )
    source = GeneratorSource(args.model, checkpoint=args.checkpoint)
    codes = np.stack([source.scene(args.start + k).codes for k in range(args.num)])
    _write_scenes(Path(args.out), f"{args.model}_{args.start}_{args.num}", codes, cols=min(8, args.num))
    return 0


def _cmd_feasible(args: argparse.Namespace, argv: list[str]) -> int:
    from generators.cards import write_card
    from generators.train_vq import refresh_feasible_styles

    table = refresh_feasible_styles(args.checkpoint)
    card = write_card(args.checkpoint)
    print(f"wrote feasible_styles into {args.checkpoint} and its card {card.name}")
    for size, per in table.items():
        for name, buckets in per.items():
            shown = "; ".join(f"{b}: {', '.join(styles) or '-'}" for b, styles in buckets.items())
            print(f"{size}x{size} {name}: {shown}")
    return 0


def _endpoint(text: str):
    """An ``argparse`` type: ``seed:N`` (a latent seed, a scene index of the generator) or
    the path of a 16x16 ASCII scene file, read when the line is parsed."""
    from generators.data import SIZE
    from vrenvs.core.scene import read_ascii

    try:
        if text.startswith("seed:"):
            try:
                number = int(text[5:])
            except ValueError:
                raise ValueError(f"{text!r} is not seed:N with N an integer") from None
            return check_int("seed", number, 0, NUM_SCENE_INDICES - 1)
        if not Path(text).is_file():
            raise ValueError(f"{text!r} is neither seed:N nor an existing scene file")
        scene = read_ascii(text)
    except ValueError as err:
        raise argparse.ArgumentTypeError(str(err)) from None
    if scene.shape != (SIZE, SIZE):
        raise argparse.ArgumentTypeError(
            f"{text!r} is a {scene.shape[0]}x{scene.shape[1]} scene; the generators make {SIZE}x{SIZE} ones"
        )
    return scene


def _checkpoint(text: str) -> str:
    """An ``argparse`` type: a checkpoint (``x``, ``x.json`` or ``x.safetensors``) whose JSON
    exists; its content is checked when it is loaded."""
    path = Path(text)
    stem = path.with_suffix("") if path.suffix in (".json", ".safetensors") else path
    config = stem.with_name(stem.name + ".json")
    if not config.is_file():
        problem = "is not a regular file" if config.exists() else "does not exist"
        raise argparse.ArgumentTypeError(f"{text!r} is no checkpoint: {str(config)!r} {problem}")
    return text


def _cmd_interpolate(args: argparse.Namespace, argv: list[str]) -> int:
    from generators.latent import interpolate

    result = interpolate(_model(args.model, args.checkpoint), args.start, args.end, args.steps)
    _write_scenes(Path(args.out), f"{args.model}_interpolation", result.codes, cols=args.steps)
    return 0


def _cmd_search(args: argparse.Namespace, argv: list[str]) -> int:
    from generators.latent import search

    result = search(_model(args.model, args.checkpoint), args.objective, args.target, args.budget, args.seed)
    out = Path(args.out)
    _write_scenes(out, f"{args.model}_{args.objective}_{args.target:g}", result.codes[None], cols=1)
    summary = {
        "model": args.model,
        "objective": args.objective,
        "target": args.target,
        "value": result.value,
        "evaluations": result.evaluations,
        "latent": [round(float(v), 6) for v in result.latent],
    }
    (out / f"{args.model}_{args.objective}_{args.target:g}.json").write_text(
        json.dumps(summary, indent=2) + "\n"
    )
    print(f"{args.objective} = {result.value:g} (target {args.target:g}) after {result.evaluations} scenes")
    return 0


_SIMULATE_ONLY: dict[str, tuple[Callable[[str], object], object, str]] = {
    "base": (str, "vqvae", "the source adapted"),
    "ratings": (arg_int(2, 100_000), 50, "ratings per rater"),
    "scenes": (arg_int(10, 100_000), 1000, "scenes measured"),
    "candidates": (arg_int(1, 1024), 8, "base scenes per served scene"),
    "temperature": (arg_float(0, 100, above=True), 0.25, "softmax temperature > 0"),
    "diversity": (arg_float(0, 100), 1.0, "weight of the novelty term"),
    "seed": (arg_int(0, 2**32 - 2), 0, "raters' noise seed"),
}
"""``adapt``'s options only simulated raters read: (parse, default, help); given with
``--feedback``, an error."""


def _cmd_adapt(args: argparse.Namespace, argv: list[str]) -> int:
    from generators.adapt import FEATURES, fit_store, simulate, write_simulation

    out = Path(args.out)
    given = [f"--{k}" for k in _SIMULATE_ONLY if getattr(args, k) is not None]
    if args.simulate:
        if args.feedback is not None:
            raise ValueError(
                "--feedback and --simulate exclude each other: simulated raters rate scenes themselves"
            )
        if args.ridge is not None:
            raise ValueError(f"--ridge {args.ridge:g} is for --feedback; --simulate fits its own raters")
        for key, (_, default, _) in _SIMULATE_ONLY.items():
            if getattr(args, key) is None:
                setattr(args, key, default)
        result = simulate(
            args.base,
            16,
            args.ratings,
            args.scenes,
            args.candidates,
            args.temperature,
            args.diversity,
            args.seed,
        )
        result["command"] = "python -m generators " + shlex.join(argv)
        table = write_simulation(result, out)
        print(table)
        print(f"wrote {out}/simulation.json, simulation.md and preference_shift.png")
        return 0
    if args.feedback is None:
        raise ValueError(
            "give --feedback DB (a feedback store written by vrenvs play --feedback) or --simulate"
        )
    if given:
        raise ValueError(f"{', '.join(given)}: for --simulate only; --feedback fits the ratings in the store")
    model = fit_store(args.feedback, 1.0 if args.ridge is None else args.ridge)
    out.mkdir(parents=True, exist_ok=True)
    path = model.save(out / "adapted.json")
    strongest = np.argsort(-np.abs(model.weights))[:4]
    shown = ", ".join(f"{FEATURES[k]} {model.weights[k]:+.2f}" for k in strongest)
    print(f"fitted to {model.ratings} ratings (mean {model.bias:.2f}); strongest: {shown}")
    print(f'wrote {path}; play it with scenes={{"source": "adapted", "model": "{path}"}}')
    return 0


def _add_model(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--model", choices=("gan", "vae", "vaegan"), default="gan", help="generator (default: gan)"
    )
    parser.add_argument(
        "--checkpoint", type=_checkpoint, default=None, help="checkpoint JSON (default: the shipped weights)"
    )


def _out(parser: argparse.ArgumentParser, default: str) -> None:
    parser.add_argument("--out", type=arg_output(folder=True), default=default, help="output folder")


def _parser() -> argparse.ArgumentParser:
    from generators.latent import OBJECTIVES
    from generators.models import KINDS
    from generators.train import add_arguments
    from generators.train_vq import add_arguments as add_vq_arguments
    from generators.vqmodel import VQ_KINDS

    parser = argparse.ArgumentParser(
        prog="vrenvs generators", description="Learned scene generators (GAN, VAE, VAE-GAN, VQ-VAE)."
    )
    sub = parser.add_subparsers(dest="command", required=True)
    train = sub.add_parser("train", help="train one model (seeded, TensorBoard, PNG grids, checkpoint)")
    models = train.add_subparsers(dest="model", required=True, metavar="model")
    for kind in KINDS:
        first = models.add_parser(kind, help=f"train a {kind} (first generators, 16x16)")
        add_arguments(first, model=False)
        first.set_defaults(handler=_cmd_train)
    for kind in VQ_KINDS:
        what = "VQ-VAE + prior" if kind == "vqvae" else "VQ-VAE with a patch critic + prior"
        v2 = models.add_parser(kind, help=f"train a {kind} (v2: {what}, 16x16 and 32x32, styles)")
        add_vq_arguments(v2)
        v2.set_defaults(handler=_cmd_train_vq)
    report = sub.add_parser("report", help="the report card: metrics table and gallery of every source")
    _out(report, "out/generators/report")
    report.add_argument(
        "--samples",
        type=arg_int(2, MAX_SAMPLES),
        default=2048,
        help=f"scenes per source, 2 to {MAX_SAMPLES:,} (default: 2048)",
    )
    report.add_argument(
        "--threads",
        type=arg_int(1, MAX_THREADS),
        default=2,
        help=f"torch threads, 1 to {MAX_THREADS} (default: 2)",
    )
    report.add_argument(
        "--update-cards", action="store_true", help="record the rows in the checkpoints' JSON and model cards"
    )
    report.add_argument(
        "--sizes",
        type=arg_int(16, 32),
        choices=[16, 32],
        nargs="+",
        default=[16, 32],
        help="map sizes to measure, 16 and/or 32 (default: both)",
    )
    for kind in ("gan", "vae", "vaegan", "vqvae", "vqgan"):
        report.add_argument(
            f"--{kind}", type=_checkpoint, default=None, help=f"{kind} checkpoint JSON (default: shipped)"
        )
    report.set_defaults(handler=_cmd_report)
    sample = sub.add_parser("sample", help="write scenes start .. start+num-1 as PNG and ASCII")
    _add_model(sample)
    sample.add_argument(
        "--start",
        type=arg_int(0, NUM_SCENE_INDICES - 1),
        default=0,
        help=f"first latent seed (scene index), 0 to {NUM_SCENE_INDICES - 1:,} (default: 0)",
    )
    sample.add_argument(
        "--num",
        type=arg_int(1, MAX_SCENES),
        default=16,
        help=f"number of scenes, 1 to {MAX_SCENES} (default: 16)",
    )
    _out(sample, "out/generators/samples")
    sample.set_defaults(handler=_cmd_sample)
    inter = sub.add_parser("interpolate", help="scenes on the latent line between two scenes")
    _add_model(inter)
    inter.add_argument(
        "start", type=_endpoint, help="seed:N or an ASCII scene file (files need --model vae or vaegan)"
    )
    inter.add_argument("end", type=_endpoint, help="seed:N or an ASCII scene file")
    inter.add_argument(
        "--steps",
        type=arg_int(2, MAX_LINE),
        default=8,
        help=f"scenes on the line, ends included, 2 to {MAX_LINE} (default: 8)",
    )
    _out(inter, "out/generators/interpolate")
    inter.set_defaults(handler=_cmd_interpolate)
    search = sub.add_parser("search", help="CMA-ES latent search for a scene with a target property")
    _add_model(search)
    search.add_argument("--objective", choices=sorted(OBJECTIVES), default="path_length", help="property")
    search.add_argument(
        "--target",
        type=arg_float(0, MAX_TARGET),
        required=True,
        help=f"wanted value of the property, 0 to {MAX_TARGET:g}",
    )
    search.add_argument(
        "--budget",
        type=arg_int(1, MAX_BUDGET),
        default=400,
        help=f"scenes to evaluate, 1 to {MAX_BUDGET:,} (default: 400)",
    )
    search.add_argument(
        "--seed",
        type=arg_int(0, MAX_SEARCH_SEED),
        default=0,
        help=f"latent seed the search starts from, 0 to {MAX_SEARCH_SEED:,} (default: 0)",
    )
    _out(search, "out/generators/search")
    search.set_defaults(handler=_cmd_search)
    feasible = sub.add_parser(
        "feasible",
        help="write into a v2 checkpoint which styles of its corpus have each property bucket",
    )
    feasible.add_argument("checkpoint", type=Path, help="the checkpoint's .json file")
    feasible.set_defaults(handler=_cmd_feasible)
    adapt = sub.add_parser(
        "adapt", help="fit a preference model to ratings (--feedback) or measure it with simulated raters"
    )
    adapt.add_argument(
        "--feedback", type=Path, help="feedback store (SQLite) written by vrenvs play --feedback"
    )
    adapt.add_argument("--simulate", action="store_true", help="simulated raters with hidden tastes instead")
    adapt.add_argument(
        "--ridge", type=arg_float(0, 1e6, above=True), help="--feedback: ridge penalty > 0 (default: 1)"
    )
    for key, (parse, default, what) in _SIMULATE_ONLY.items():
        adapt.add_argument(f"--{key}", type=parse, help=f"--simulate: {what} (default: {default})")
    _out(adapt, "out/generators/adapt")
    adapt.set_defaults(handler=_cmd_adapt)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run a subcommand; user errors print one line and return 2."""
    argv = list(sys.argv[1:] if argv is None else argv)
    args = _parser().parse_args(argv)
    try:
        return int(args.handler(args, argv))
    except USER_ERRORS as err:
        print(f"vrenvs generators {args.command}: error: {err}", file=sys.stderr)
        return 2
