"""Model cards: a markdown page per checkpoint, written from its JSON config alone."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

__all__ = ["write_card"]

_BLURB = {
    "gan": "DCGAN-style generator trained with the hinge loss against a spectral-norm critic.",
    "vae": "Convolutional VAE with a categorical decoder (cross-entropy per cell) and a warmed-up KL weight.",
    "vaegan": "The VAE architecture whose decoder also faces a hinge-loss spectral-norm critic.",
    "vqvae": (
        "v2: a VQ-VAE (EMA codebook, dead-code restarts) trained by reconstruction on the 16x16 and "
        "32x32 corpora, and a conditional causal-transformer prior over its code grids (style and "
        "size start token)."
    ),
    "vqgan": (
        "v2: the vqvae recipe whose VQ-VAE decoder also faces a hinge-loss spectral-norm patch "
        "critic in stage 1, and the same conditional causal-transformer prior over its code grids."
    ),
}


def _metric_lines(metrics: dict[str, Any]) -> list[str]:
    """One row per figure; the report card's figures come first (``metrics.report`` for the
    first generators, ``metrics.report_<size>`` for v2)."""
    reports = {k: v for k, v in metrics.items() if k == "report" or k.startswith("report_")}
    lines = []
    for name, report in sorted(reports.items()):
        side = name[len("report_") :]
        label = "report card" if name == "report" else f"report card, {side}x{side}"
        lines += [f"| {key} ({label}) | {_fmt(value)} |" for key, value in report.items() if key != "source"]
    training = {k: v for k, v in metrics.items() if k not in reports}
    return lines + [
        f"| {key} (end of training, eval seeds) | {_fmt(value)} |" for key, value in sorted(training.items())
    ]


def _fmt(value: Any) -> str:
    if isinstance(value, list):
        return ", ".join(map(str, value)) or "none"
    if isinstance(value, dict):  # e.g. the report's faults: kind -> share
        return ", ".join(f"{k} {_fmt(v)}" for k, v in value.items()) or "none"
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def _corpus_lines(size: str, corpus: dict[str, Any]) -> list[str]:
    train, held = corpus.get("train", {}), corpus.get("heldout", {})
    return [
        f"- {size}x{size} training: {train.get('count', '?')} grids: designer files "
        f"{train.get('designer', {}).get('files', '?')} with their 8 symmetries, procedural scenes "
        f"{train.get('procedural', {}).get('indices', '?')} "
        f"(`{train.get('procedural', {}).get('source', '?')}`).",
        f"- {size}x{size} held out: {held.get('count', '?')} grids: designer files "
        f"{held.get('designer', {}).get('files', '?')} (all symmetries), procedural indices "
        f"{held.get('procedural', {}).get('indices', '?')}.",
    ]


def _init_lines(init: Any) -> list[str]:
    """The run a ``--init`` checkpoint came from (its own ``init`` first, recursively)."""
    if not isinstance(init, dict):
        return []
    steps = init.get("steps", {})
    done = ", ".join(f"{k} {v}" for k, v in steps.items() if v) if isinstance(steps, dict) else steps
    return [
        *_init_lines(init.get("init")),
        f"- Started from (`--init`) the checkpoint of: `{init.get('command', '?')}` (seed "
        f"{init.get('seed', '?')}, steps: {done}, {init.get('wall_time_s', 0) / 60:.1f} min); then:",
    ]


def _feasible_lines(table: Any) -> list[str]:
    """The card's lines for a checkpoint's ``feasible_styles`` (none when it has none)."""
    if not isinstance(table, dict) or not table:
        return []
    lines = [
        "",
        "## Styles asked for property targets",
        "",
        "Asked for targets without a style, the source mixes only the styles whose training corpus",
        "has the buckets (at least 5% of the style's grids; `python -m generators feasible <json>`",
        "writes this table from the corpora above, the weights are untouched):",
        "",
        "| size | property | bucket | styles |",
        "|---|---|---|---|",
    ]
    for size, per in sorted(table.items(), key=lambda kv: int(kv[0])):
        for name, buckets in per.items():
            for bucket, styles in buckets.items():
                lines.append(f"| {size}x{size} | {name} | {bucket} | {', '.join(styles) or '(none)'} |")
    return lines


def card_text_v2(meta: dict[str, Any]) -> str:
    """The card of a ``vrenvs-generator/2`` checkpoint (VQ-VAE + prior)."""
    model, training = meta["model"], meta.get("training", {})
    vq, prior = model.get("vq", {}), model.get("prior", {})
    sizes = meta.get("size", model.get("sizes", []))
    steps = training.get("steps", {})
    steps_text = (
        f"{steps.get('vq', '?')} VQ-VAE + {steps.get('prior', '?')} prior"
        + (f" + {steps['bootstrap']} bootstrap" if steps.get("bootstrap") else "")
        + (f" + {steps['refine']} refiner" if steps.get("refine") else "")
        + " steps"
        if isinstance(steps, dict)
        else f"{steps} steps"
    )
    corpus = training.get("corpus", {})
    data = [
        line
        for size, c in sorted(corpus.items(), key=lambda kv: str(kv[0]))
        for line in _corpus_lines(str(size), c)
    ]
    metrics = meta.get("metrics", {})
    parts = "VQ-VAE, prior and refiner" if model.get("refiner") else "VQ-VAE and prior"
    lines = [
        f"# Model card: `{model['kind']}` scene generator",
        "",
        _BLURB.get(model["kind"], ""),
        "",
        "## Model",
        "",
        f"- Format `{meta.get('format', '?')}`; {meta['num_parameters']:,} parameters ({parts}; "
        "the codebook and its EMA statistics are buffers, shipped too).",
        f"- Sizes: {', '.join(f'{s}x{s}' for s in sizes)}; styles: {', '.join(model.get('styles', []))}.",
        f"- VQ-VAE: `{json.dumps(vq, sort_keys=True)}`.",
        f"- Prior: `{json.dumps(prior, sort_keys=True)}`.",
        *(
            [
                f"- Refiner (`generators.refine`): `{json.dumps(model['refiner'], sort_keys=True)}`: a U-Net "
                "over the decoder's logits, applied that many passes before decoding; the metrics "
                "`unrefined_*` are the same samples without it."
            ]
            if model.get("refiner")
            else []
        ),
        f"- Output: per-cell logits over {meta['num_codes']} glyph codes, decoded by "
        f"`{model.get('decoding', '?')}`. Scene s under a condition (style, size, temperature, top_k, "
        "top_p) draws its code grid from the uniforms of `torch.Generator().manual_seed(s)` "
        "(inverse-CDF, raster order) and decodes it (see `generators.vqmodel`).",
        *(
            [
                "- Default top_p (a condition that names none; the metrics below sample with it): "
                + ", ".join(
                    f"{s}x{s}: {'none' if p >= 1 else p}" for s, p in zip(sizes, model["top_p"], strict=True)
                )
                + "."
            ]
            if model.get("top_p")
            else []
        ),
        *(
            [
                "- 2x2 patterns `tidy` allows (its training corpus's, stored with the weights): "
                + ", ".join(f"{n:,} at {s}x{s}" for s, n in zip(sizes, model["patterns"], strict=True))
                + "."
            ]
            if model.get("patterns")
            else []
        ),
        f"- Tile vocabulary hash: `{meta['vocabulary_hash']}`; weights sha256: `{meta['weights_sha256']}`.",
        "",
        "## Data",
        "",
        *(data or ["- (no corpus manifest recorded)"]),
        "",
        "## Training",
        "",
        *_init_lines(training.get("init")),
        f"- Command: `{training.get('command', '?')}`",
        f"- Seed {training.get('seed', '?')}, {steps_text}, "
        f"{training.get('wall_time_s', 0) / 60:.1f} min wall on {training.get('threads', '?')} "
        f"torch thread(s) (torch {training.get('torch', '?')}).",
        *(
            [f"- Properties (`generators.properties`): {', '.join(model['properties'])}."]
            if model.get("properties")
            else []
        ),
        *_feasible_lines(meta.get("feasible_styles")),
        "",
        "## Metrics",
        "",
        f"Recorded: {', '.join(sorted(metrics)) or 'none'}.",
        "",
        "| metric | value |",
        "|---|---|",
        *_metric_lines(metrics),
        "",
    ]
    return "\n".join(lines)


def card_text(meta: dict[str, Any]) -> str:
    if isinstance(meta.get("size"), list) or meta.get("format") == "vrenvs-generator/2":
        return card_text_v2(meta)
    model, training = meta["model"], meta.get("training", {})
    corpus = training.get("corpus", {})
    train, held = corpus.get("train", {}), corpus.get("heldout", {})
    lines = [
        f"# Model card: `{model['kind']}` scene generator",
        "",
        _BLURB.get(model["kind"], ""),
        "",
        "## Model",
        "",
        f"- Config: `{json.dumps(model, sort_keys=True)}`; {meta['num_parameters']:,} parameters "
        "(the critic is not shipped).",
        f"- Output: logits over {meta['num_codes']} glyph codes per cell of a "
        f"{meta['size']}x{meta['size']} grid, decoded by `{model.get('decoding', 'expected')}` "
        "(see `generators.sampling`); scene s decodes the noise `torch.randn(latent_dim, "
        "generator=torch.Generator().manual_seed(s)) * latent_scale`"
        + (
            ", mapped through the Gaussian fitted to the training scenes' encoder means "
            "(`prior_mean + noise @ prior_tril.T`)."
            if model["kind"] != "gan"
            else "."
        ),
        f"- Tile vocabulary hash: `{meta['vocabulary_hash']}`; weights sha256: `{meta['weights_sha256']}`.",
        "",
        "## Data",
        "",
        f"- Training: {train.get('count', '?')} grids: designer files "
        f"{train.get('designer', {}).get('files', '?')} with their 8 symmetries, procedural scenes "
        f"{train.get('procedural', {}).get('indices', '?')} (`ProceduralSource(16)`, three styles).",
        f"- Held out: {held.get('count', '?')} grids: designer files "
        f"{held.get('designer', {}).get('files', '?')} (all symmetries), procedural indices "
        f"{held.get('procedural', {}).get('indices', '?')}.",
        "",
        "## Training",
        "",
        f"- Command: `{training.get('command', '?')}`",
        f"- Seed {training.get('seed', '?')}, {training.get('steps', '?')} steps, "
        f"{training.get('wall_time_s', 0) / 60:.1f} min wall on {training.get('threads', '?')} "
        f"torch thread(s) (torch {training.get('torch', '?')}).",
        "",
        "## Metrics",
        "",
        "| metric | value |",
        "|---|---|",
        *_metric_lines(meta.get("metrics", {})),
        "",
    ]
    return "\n".join(lines)


def write_card(config_path: str | Path) -> Path:
    """Write ``<name>.md`` next to ``<name>.json``."""
    config_path = Path(config_path)
    meta = json.loads(config_path.read_text())
    out = config_path.with_suffix(".md")
    out.write_text(card_text(meta))
    return out
