"""Learning curves as PNG (matplotlib, headless)."""

from __future__ import annotations

import csv
from pathlib import Path

__all__ = ["learning_curve"]


def learning_curve(eval_csv: Path, out: Path, title: str) -> Path:
    """Held-out success rate (with its 95% interval) against environment steps."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    with eval_csv.open() as handle:
        rows = list(csv.DictReader(handle))
    steps = [int(r["timesteps"]) for r in rows]
    success = [float(r["success"]) for r in rows]
    low = [float(r["success_low"]) for r in rows]
    high = [float(r["success_high"]) for r in rows]
    fig, ax = plt.subplots(figsize=(6, 3.5), dpi=100)
    ax.plot(steps, success, marker="o", label="held-out success")
    ax.fill_between(steps, low, high, alpha=0.25, label="95% interval")
    ax.set(xlabel="environment steps", ylabel="success rate", ylim=(0, 1), title=title)
    ax.grid(alpha=0.3)
    ax.legend(loc="lower right")
    fig.tight_layout()
    fig.savefig(out)
    plt.close(fig)
    return out
