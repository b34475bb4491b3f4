"""Train one scene model: ``python -m generators train gan|vae|vaegan [--flags]``.

One function, :func:`train`, reads top to bottom (CleanRL style): seed, data, model,
objective, a loop bounded by ``--steps`` and/or ``--minutes`` with a tqdm bar, TensorBoard
scalars under ``<out>/<model>/<run>``, a PNG grid of a fixed latent batch every
``--image-every`` steps, and at the end a checkpoint (weights + JSON config carrying the
vocabulary hash and this exact command) and a model card.
"""

from __future__ import annotations

import argparse
import ast
import copy
import inspect
import itertools
import shlex
import shutil
import time
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch

from generators.checkpoint import save_checkpoint
from generators.data import Corpus, CorpusSpec, load_corpus, one_hot
from generators.images import grid_image, write_png
from generators.metrics import pattern_kl
from generators.models import KINDS, VAE, Critic, ModelConfig, SceneModel, build_model
from generators.objectives import Objective, make_objective
from generators.sampling import PLAIN_DECODINGS, decode_codes, sample_codes
from vrenvs.core.checks import arg_choice, arg_float, arg_int, arg_output, check_output
from vrenvs.core.reach import solvable_batch

__all__ = ["TrainConfig", "evaluate", "field_docs", "parse_config", "run_folder", "train"]

EVAL_SEED0 = 1_000_000_000
"""Latent seeds used for evaluation during training, disjoint from the report's seeds."""


@dataclass
class TrainConfig:
    model: str = "gan"
    """which model to train: gan, vae or vaegan"""
    seed: int = 0
    """seed of initialisation, batches and training latents"""
    steps: int = 0
    """stop after this many updates (0: no step limit)"""
    minutes: float = 15.0
    """stop after this much wall time (0: no time limit)"""
    batch_size: int = 64
    """scenes per update"""
    lr: float = 2e-4
    """Adam learning rate of the generator / VAE"""
    lr_critic: float = 2e-4
    """Adam learning rate of the critic (gan, vaegan)"""
    latent_dim: int = 64
    """size of the latent vector"""
    width: int = 32
    """channels of the 16x16 layers of encoder and decoder"""
    critic_width: int = 32
    """channels of the 16x16 layers of the critic"""
    critic_input: str = "straight"
    """what the critic sees of fakes: straight (argmax one-hot, straight-through), gumbel, softmax"""
    critic_temperature: float = 1.0
    """softmax temperature of what the critic sees (and of the straight-through gradient)"""
    latent_scale: float = 1.0
    """std of latents when sampling (stored in the checkpoint)"""
    decoding: str = "expected"
    """logits -> codes when sampling: expected, winners, doors, argmax (see generators.sampling),
    or auto: the best of expected / winners / doors at each evaluation, kept with the weights"""
    kl_weight: float = 1.0
    """weight of the KL term (vae, vaegan)"""
    kl_warmup: int = 2000
    """steps over which the KL weight grows linearly from 0"""
    adv_weight: float = 1.0
    """weight of the adversarial term of the decoder (vaegan)"""
    pattern_weight: float = 0.0
    """weight of the tile-pair statistics term (KL of corpus vs batch pair frequencies; 0: off)"""
    quad_weight: float = 0.0
    """weight of the 2x2-pattern term (KL of corpus vs recent batches' 2x2 patterns; 0: off)"""
    num_procedural: int = 6000
    """procedural scenes in the training corpus"""
    num_heldout: int = 2000
    """procedural scenes in the held-out corpus"""
    eval_samples: int = 1024
    """samples of the final evaluation stored in the checkpoint"""
    designer_weight: float = 4.0
    """sampling weight of a designer scene relative to a procedural one"""
    log_every: int = 25
    """steps between TensorBoard scalars"""
    image_every: int = 500
    """steps between PNG grids of the fixed latent batch"""
    eval_every: int = 500
    """steps between quick evaluations (raw playability, reconstruction)"""
    threads: int = 2
    """torch CPU threads"""
    out: str = "runs/generators"
    """folder for runs: <out>/<model>/<run>/ holds TensorBoard logs, PNGs, the checkpoint"""
    run: str = ""
    """run name (default: seed<seed>)"""
    export: str = ""
    """also copy the final checkpoint and model card into this folder (e.g. generators/weights)"""


def field_docs(cls: type) -> dict[str, str]:
    """Attribute docstrings of a dataclass (the string after each field) for --help."""
    tree = ast.parse(inspect.getsource(cls))
    body = tree.body[0].body  # type: ignore[attr-defined]
    docs = {}
    for node, nxt in itertools.pairwise(body):
        named = isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name)
        if named and isinstance(nxt, ast.Expr) and isinstance(nxt.value, ast.Constant):
            docs[node.target.id] = str(nxt.value.value)
    return docs


_COUNT = 10_000_000
"""Upper bound of step counts and intervals (the shipped models trained for under 100,000 steps)."""
_WEIGHT = 1000.0
"""Upper bound of loss weights and sampling weights."""
_INTS: dict[str, tuple[int, int]] = {
    "seed": (0, 2**63 - 1),
    "steps": (0, _COUNT),
    "batch_size": (1, 4096),
    "latent_dim": (1, 1024),
    "width": (1, 512),
    "critic_width": (1, 512),
    "kl_warmup": (0, _COUNT),
    "num_procedural": (0, 1_000_000),  # below the held-out part, which starts at index 1,000,000
    "num_heldout": (0, 1_000_000),
    "eval_samples": (1, 65_536),
    "log_every": (1, _COUNT),
    "image_every": (1, _COUNT),
    "eval_every": (1, _COUNT),
    "threads": (1, 64),
}
_FLOATS: dict[str, tuple[float, float, bool]] = {  # (low, high, low excluded)
    "minutes": (0.0, 24 * 60.0, False),
    "lr": (0.0, 1.0, True),
    "lr_critic": (0.0, 1.0, True),
    "critic_temperature": (0.0, 100.0, True),
    "latent_scale": (0.0, 100.0, True),
    "kl_weight": (0.0, _WEIGHT, False),
    "adv_weight": (0.0, _WEIGHT, False),
    "pattern_weight": (0.0, _WEIGHT, False),
    "quad_weight": (0.0, _WEIGHT, False),
    "designer_weight": (0.0, _WEIGHT, False),
}
_CHOICES: dict[str, tuple[str, ...]] = {
    "critic_input": ("straight", "gumbel", "softmax"),
    "decoding": (*PLAIN_DECODINGS, "auto"),
}


def _folder(text: str) -> str:
    """An ``argparse`` type: an output folder, checked before training (as text, for the JSON)."""
    return str(arg_output(folder=True)(text))


def _optional_folder(text: str) -> str:
    return _folder(text) if text else ""


def _run_name(text: str) -> str:
    """An ``argparse`` type: a run name is one folder name under ``<out>/<model>/``."""
    if text == "":
        raise argparse.ArgumentTypeError("'' is empty; give a folder name, or leave --run out for seed<seed>")
    if text in (".", "..") or "/" in text or "\\" in text or len(text) > 255:
        raise argparse.ArgumentTypeError(f"{text!r} is not a folder name; give a name without / or \\")
    return text


def _argtype(name: str) -> tuple[Any, str]:
    """The ``argparse`` type of the field ``name`` and the allowed values for its help."""
    if name in _INTS:
        low, high = _INTS[name]
        return arg_int(low, high), f"{low} to {high:,}"
    if name in _FLOATS:
        lo, hi, above = _FLOATS[name]
        return arg_float(lo, hi, above=above), f"above {lo:g}, up to {hi:g}" if above else f"{lo:g} to {hi:g}"
    if name in _CHOICES:
        return arg_choice(_CHOICES[name]), ", ".join(_CHOICES[name])
    return {"out": _folder, "export": _optional_folder, "run": _run_name}[name], ""


def add_arguments(parser: argparse.ArgumentParser, model: bool = True) -> None:
    """One option per :class:`TrainConfig` field, each with its range or choices; without
    ``model`` no positional model argument (the caller's subcommand names it)."""
    docs = field_docs(TrainConfig)
    for f in fields(TrainConfig):
        if f.name == "model":
            if model:
                parser.add_argument("model", choices=KINDS, help=docs[f.name])
            continue
        kind, allowed = _argtype(f.name)
        text = f"{docs[f.name]} (allowed: {allowed})" if allowed else docs[f.name]
        # argparse runs a text default through its type: the empty run name is not given then
        default = None if f.name == "run" else f.default
        parser.add_argument(f"--{f.name.replace('_', '-')}", type=kind, default=default, help=text)


def parse_config(args: argparse.Namespace) -> TrainConfig:
    values = {f.name: getattr(args, f.name) for f in fields(TrainConfig)}
    return TrainConfig(**{**values, "run": values["run"] or ""})


def run_folder(config: TrainConfig) -> Path:
    """``<out>/<model>/<run>`` (run default ``seed<seed>``), checked before training: no file
    in the way and no earlier run's files in it (they would be overwritten)."""
    run_dir = Path(config.out) / config.model / (config.run or f"seed{config.seed}")
    check_output("run folder", run_dir, folder=True)
    if run_dir.is_dir() and any(run_dir.iterdir()):
        raise ValueError(
            f"run folder {str(run_dir)!r} exists and is not empty (a run was trained there); give "
            "another --run name (or --out folder), or remove that folder"
        )
    return run_dir


def _batches(corpus: Corpus, config: TrainConfig, gen: torch.Generator):
    """Endless batches of (one-hot, codes); designer scenes drawn ``designer_weight`` x as often."""
    codes = torch.from_numpy(corpus.train.astype(np.int64))
    weights = torch.where(torch.from_numpy(corpus.train_designer), config.designer_weight, 1.0).double()
    while True:
        idx = torch.multinomial(weights, config.batch_size, replacement=True, generator=gen)
        yield one_hot(codes[idx]), codes[idx]


def evaluate(model: SceneModel, corpus: Corpus, num: int = 512) -> dict[str, float]:
    """Quick figures: raw playability of ``num`` samples, their 2x2 tile-pattern KL to the
    held-out corpus and, for encoders, held-out reconstruction accuracy. Models with an
    encoder first refit their sampling Gaussian to the training scenes."""
    if isinstance(model, VAE):
        model.fit_prior(one_hot(torch.from_numpy(corpus.train.astype(np.int64))))
    raw = sample_codes(model, range(EVAL_SEED0, EVAL_SEED0 + num))
    out = {
        "raw_playable": float(solvable_batch(raw).mean()),
        "pattern_kl": pattern_kl(
            raw, corpus.heldout[np.linspace(0, len(corpus.heldout) - 1, num).astype(int)]
        ),
    }
    if model.can_encode:
        out.update(reconstruction(model, corpus.heldout))
    return out


def reconstruction(model: SceneModel, codes: np.ndarray) -> dict[str, float]:
    """Tile accuracy of the per-cell argmax of decode(mu(x)) against ``x`` ``(N, H, W)``:
    how much of a scene the latent keeps (count decodings are for prior samples)."""
    model.eval()
    with torch.inference_mode():
        mu, _ = model.encode(one_hot(torch.from_numpy(codes.astype(np.int64))))
    model.train()
    same = decode_codes(model, mu, "argmax") == codes
    return {
        "reconstruction_accuracy": float(same.mean()),
        "reconstruction_accuracy_interior": float(same[:, 1:-1, 1:-1].mean()),
    }


def _snapshot(model: SceneModel, writer: Any, run_dir: Path, step: int) -> None:
    img = grid_image(sample_codes(model, range(64)), cols=8)
    write_png(run_dir / "samples" / f"step_{step:06d}.png", img)
    writer.add_image("samples", img, step, dataformats="HWC")


def _writer(run_dir: Path) -> Any:
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError as err:  # tensorboard is optional for sampling, needed for training
        raise ValueError(
            'training logs need tensorboard: pip install "vrenvs[generators]" tensorboard'
        ) from err
    return SummaryWriter(str(run_dir))


def train(config: TrainConfig, command: str = "") -> Path:
    """Train ``config.model`` and return the path of the checkpoint's JSON."""
    from tqdm import tqdm

    if config.steps <= 0 and config.minutes <= 0:
        raise ValueError(
            f"--steps {config.steps} and --minutes {config.minutes:g} set no budget: give --steps > 0 "
            "or --minutes > 0"
        )
    run_dir = run_folder(config)
    torch.set_num_threads(config.threads)
    torch.manual_seed(config.seed)
    gen = torch.Generator().manual_seed(config.seed)
    spec = CorpusSpec(num_procedural=config.num_procedural, num_heldout_procedural=config.num_heldout)
    corpus = load_corpus(spec)
    options = AUTO_DECODINGS if config.decoding == "auto" else (config.decoding,)
    model, objective = _build(config, options[0], corpus)
    writer = _writer(run_dir)
    start, step, scalars = time.monotonic(), 0, {}
    best: Best = (-float("inf"), {}, options[0])
    bar = tqdm(total=config.steps or None, desc=f"train {config.model}", unit="step", dynamic_ncols=True)
    batches = _batches(corpus, config, gen)
    while not _done(config, step, start):
        real, codes = next(batches)
        scalars = objective.step(real, codes, gen, step)
        step += 1
        bar.update(1)
        if step % config.log_every == 0:
            for key, value in scalars.items():
                writer.add_scalar(key, value, step)
            bar.set_postfix({k.split("/")[-1]: f"{v:.3g}" for k, v in scalars.items()})
        if step % config.image_every == 0:
            _snapshot(model, writer, run_dir, step)
        if step % config.eval_every == 0:
            best = _eval_and_keep(model, corpus, writer, step, best, options)
    bar.close()
    wall = time.monotonic() - start
    best = _eval_and_keep(model, corpus, writer, step, best, options)
    model.load_state_dict(best[1])
    model.config = replace(model.config, decoding=best[2])
    _snapshot(model, writer, run_dir, step)
    writer.close()
    info = _info(
        config, command, step, wall, spec, corpus, evaluate(model, corpus, config.eval_samples), scalars
    )
    path = save_checkpoint(model, run_dir / config.model, info)
    from generators.cards import write_card

    write_card(path)
    if config.export:
        _export(path, Path(config.export))
    print(f"wrote {path} ({step} steps, {wall / 60:.1f} min)")
    return path


def _build(config: TrainConfig, decoding: str, corpus: Corpus) -> tuple[SceneModel, Objective]:
    """The model and its objective (with a critic for gan and vaegan)."""
    model_config = ModelConfig(config.model, config.latent_dim, config.width, config.latent_scale, decoding)
    model = build_model(model_config)
    critic = Critic(config.critic_width) if config.model in ("gan", "vaegan") else None
    codes = torch.from_numpy(corpus.train.astype(np.int64))
    return model, make_objective(config.model, model, critic, asdict(config), codes)


def _done(config: TrainConfig, step: int, start: float) -> bool:
    if config.steps > 0 and step >= config.steps:
        return True
    return config.minutes > 0 and time.monotonic() - start >= 60 * config.minutes


def _score(metrics: dict[str, float]) -> float:
    """What 'best' means when keeping a snapshot: playability minus the pattern KL (a
    collapsed generator can be very playable and very unlike the corpus), and for encoders
    no more than the reconstruction accuracy (both bars must hold)."""
    play = metrics["raw_playable"] - metrics["pattern_kl"]
    return min(play, metrics["reconstruction_accuracy"]) if "reconstruction_accuracy" in metrics else play


Best = tuple[float, dict, str]
"""(score, weights, decoding) of the best evaluation so far."""

AUTO_DECODINGS = ("expected", "winners", "doors")


def _eval_and_keep(
    model: SceneModel, corpus: Corpus, writer: Any, step: int, best: Best, options: tuple[str, ...]
) -> Best:
    """Log quick metrics; keep the weights of the best evaluation so far (early stopping on
    evaluation seeds that the report never uses). With ``--decoding auto`` every decoding
    is tried and the best one is kept with the weights."""
    results = []
    for decoding in options:
        model.config = replace(model.config, decoding=decoding)
        metrics = evaluate(model, corpus, 256)
        results.append((_score(metrics), decoding, metrics))
    score, decoding, metrics = max(results, key=lambda r: r[0])
    model.config = replace(model.config, decoding=decoding)
    for key, value in metrics.items():
        writer.add_scalar(f"eval/{key}", value, step)
    if score > best[0] or best[0] == -float("inf"):
        return score, copy.deepcopy(model.state_dict()), decoding
    return best


def _info(
    config: TrainConfig,
    command: str,
    step: int,
    wall: float,
    spec: CorpusSpec,
    corpus: Corpus,
    metrics: dict[str, float],
    last: dict[str, float],
) -> dict[str, Any]:
    return {
        "training": {
            "command": command or "python -m generators train " + shlex.join(_argv(config)),
            "seed": config.seed,
            "steps": step,
            "wall_time_s": round(wall, 1),
            "threads": config.threads,
            "torch": torch.__version__,
            "config": asdict(config),
            "corpus": corpus.manifest,
            "corpus_key": spec.key(),
            "final_losses": {k: round(v, 4) for k, v in last.items()},
        },
        "metrics": {k: round(v, 4) for k, v in metrics.items()},
    }


def _argv(config: TrainConfig) -> list[str]:
    """The flags that differ from the defaults, to rebuild the command when none is given."""
    default = TrainConfig()
    args = [config.model]
    for f in fields(TrainConfig):
        value = getattr(config, f.name)
        if f.name != "model" and value != getattr(default, f.name):
            args += [f"--{f.name.replace('_', '-')}", str(value)]
    return args


def _export(path: Path, folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    stem = path.with_suffix("")
    for suffix in (".json", ".safetensors", ".md"):
        shutil.copy2(stem.with_suffix(suffix), folder / stem.with_suffix(suffix).name)
