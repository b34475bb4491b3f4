"""``vrenvs generators train|report|sample|interpolate|search`` (also ``python -m
generators ...``). Every subcommand prints where it wrote its files."""

from __future__ import annotations

import argparse
import json
import shlex
import sys
from pathlib import Path

import numpy as np

__all__ = ["main"]


def _cmd_train(args: argparse.Namespace, argv: list[str]) -> int:
    from generators.train import parse_config, train

    train(parse_config(args), command="python -m generators " + shlex.join(argv))
    return 0


def _cmd_report(args: argparse.Namespace, argv: list[str]) -> int:
    from generators.report import make_report

    if args.samples < 2:
        raise ValueError(f"--samples must be >= 2, got {args.samples}")
    checkpoints = {k: v for k, v in (("gan", args.gan), ("vae", args.vae), ("vaegan", args.vaegan)) if v}
    summary = make_report(args.out, args.samples, checkpoints, args.threads, args.update_cards)
    print((Path(args.out) / "report.md").read_text())
    print(f"wrote {args.out}/report.md, report.json and gallery.png ({len(summary['rows'])} rows)")
    return 0


def _model(kind: str, checkpoint: str | None):
    from generators.checkpoint import load_checkpoint, shipped

    return load_checkpoint(checkpoint or shipped(kind)).model


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

    source = GeneratorSource(args.model, checkpoint=args.checkpoint)
    codes = np.stack([source.scene(args.start + k).codes for k in range(args.num)])
    _write_scenes(Path(args.out), f"{args.model}_{args.start}_{args.num}", codes, cols=min(8, args.num))
    return 0


def _endpoint(text: str):
    """``seed:N`` or a path to an ASCII scene file."""
    from vrenvs.core.scene import read_ascii

    if text.startswith("seed:"):
        return int(text[5:])
    if not Path(text).is_file():
        raise ValueError(f"endpoint {text!r} is neither seed:N nor an existing scene file")
    return read_ascii(text)


def _cmd_interpolate(args: argparse.Namespace, argv: list[str]) -> int:
    from generators.latent import interpolate

    result = interpolate(
        _model(args.model, args.checkpoint), _endpoint(args.start), _endpoint(args.end), args.steps
    )
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


def _add_model(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--model", choices=("gan", "vae", "vaegan"), default="gan", help="generator (default: gan)"
    )
    parser.add_argument("--checkpoint", default=None, help="checkpoint JSON (default: the shipped weights)")


def _parser() -> argparse.ArgumentParser:
    from generators.latent import OBJECTIVES
    from generators.train import add_arguments

    parser = argparse.ArgumentParser(
        prog="vrenvs generators", description="Learned scene generators (GAN, VAE, VAE-GAN)."
    )
    sub = parser.add_subparsers(dest="command", required=True)
    train = sub.add_parser("train", help="train one model (seeded, TensorBoard, PNG grids, checkpoint)")
    add_arguments(train)
    train.set_defaults(handler=_cmd_train)
    report = sub.add_parser("report", help="the report card: metrics table and gallery of every source")
    report.add_argument("--out", default="out/generators/report", help="output folder")
    report.add_argument("--samples", type=int, default=2048, help="scenes per source (default: 2048)")
    report.add_argument("--threads", type=int, default=2, help="torch threads (default: 2)")
    report.add_argument(
        "--update-cards", action="store_true", help="record the rows in the checkpoints' JSON and model cards"
    )
    for kind in ("gan", "vae", "vaegan"):
        report.add_argument(f"--{kind}", default=None, help=f"{kind} checkpoint JSON (default: shipped)")
    report.set_defaults(handler=_cmd_report)
    sample = sub.add_parser("sample", help="write scenes start .. start+num-1 as PNG and ASCII")
    _add_model(sample)
    sample.add_argument("--start", type=int, default=0, help="first latent seed")
    sample.add_argument("--num", type=int, default=16, help="number of scenes")
    sample.add_argument("--out", default="out/generators/samples", help="output folder")
    sample.set_defaults(handler=_cmd_sample)
    inter = sub.add_parser("interpolate", help="scenes on the latent line between two scenes")
    _add_model(inter)
    inter.add_argument("start", help="seed:N or an ASCII scene file (files need --model vae or vaegan)")
    inter.add_argument("end", help="seed:N or an ASCII scene file")
    inter.add_argument("--steps", type=int, default=8, help="scenes on the line, ends included")
    inter.add_argument("--out", default="out/generators/interpolate", help="output folder")
    inter.set_defaults(handler=_cmd_interpolate)
    search = sub.add_parser("search", help="CMA-ES latent search for a scene with a target property")
    _add_model(search)
    search.add_argument("--objective", choices=sorted(OBJECTIVES), default="path_length", help="property")
    search.add_argument("--target", type=float, required=True, help="wanted value of the property")
    search.add_argument("--budget", type=int, default=400, help="scenes to evaluate (default: 400)")
    search.add_argument("--seed", type=int, default=0, help="latent seed the search starts from")
    search.add_argument("--out", default="out/generators/search", help="output folder")
    search.set_defaults(handler=_cmd_search)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run a subcommand; user errors print one line and return 2."""
    argv = list(sys.argv[1:] if argv is None else argv)
    args = _parser().parse_args(argv)
    try:
        return int(args.handler(args, argv))
    except (ValueError, FileNotFoundError) as err:
        print(f"vrenvs generators {args.command}: error: {err}", file=sys.stderr)
        return 2
