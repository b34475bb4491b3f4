"""The curriculum in an SB3 run: episode scores from PPO's rollouts back to the scene source.

``vrenvs train ENV_ID --curriculum plr|accel|uniform`` (or ``curriculum: {method: plr, ...}``
in a config) trains on ``scenes={"source": "curriculum", "base": <the config's scenes>, ...}``
(:mod:`vrenvs.core.curriculum`). :class:`CurriculumCallback` records which scene each env
played at every step of a rollout; when the rollout ends (PPO has computed its advantages)
it scores every episode that ended in it (:class:`~vrenvs.core.curriculum.EpisodeScorer`) and
reports the scores to the source, logs ``curriculum/*`` scalars and appends one row per
episode to ``curriculum.csv`` in the run folder (steps, scene index, score). The source's
state goes into every checkpoint (``curriculum.npz``) and a resumed run restores it; together
with the scene identities (edits are rebuilt from their seeds) every played scene can be
replayed.
"""

from __future__ import annotations

import csv
import zipfile
import zlib
from pathlib import Path
from typing import Any

import numpy as np
from stable_baselines3.common.callbacks import BaseCallback

from vrenvs.core.curriculum import OUTCOME_SCORES, CurriculumSource, EpisodeScorer

__all__ = [
    "STATE_FILE",
    "CurriculumCallback",
    "curriculum_source",
    "load_state",
    "save_state",
    "truncate_log",
]

STATE_FILE = "curriculum.npz"


def curriculum_source(venv: Any) -> CurriculumSource | None:
    """The curriculum source the SB3 vector env ``venv`` (``agents.vec_env.VrenvsVecEnv``)
    plays, or None when it plays another source."""
    source = getattr(getattr(getattr(venv, "venv", None), "world", None), "source", None)
    return source if isinstance(source, CurriculumSource) else None


def save_state(source: CurriculumSource, folder: Path, playing: Any = ()) -> Path:
    """Write ``source``'s state to ``folder / curriculum.npz`` (plain arrays, no pickles);
    ``playing``: the scene indices the worlds play now (see :meth:`CurriculumSource.state`)."""
    path = Path(folder) / STATE_FILE
    arrays: dict[str, Any] = source.state(playing)
    np.savez_compressed(path, **arrays)
    return path


def load_state(source: CurriculumSource, folder: Path) -> None:
    """Restore ``source`` from ``folder / curriculum.npz``; a missing or foreign file is a
    ValueError naming it, and ``source`` is left as it was."""
    path = Path(folder) / STATE_FILE
    if not path.is_file():
        raise ValueError(f"{path} is missing: the checkpoint holds no curriculum state to resume")
    try:
        with np.load(path, allow_pickle=False) as data:
            state = {k: data[k] for k in data.files}
    except (OSError, ValueError, EOFError, zipfile.BadZipFile, zlib.error) as err:
        raise ValueError(f"{path} is not a curriculum state written by vrenvs train: {err}") from None
    before = source.state()
    try:
        source.load_state(state)
    except (KeyError, ValueError, TypeError) as err:
        source.load_state(before)
        raise ValueError(f"{path}: {err}") from None


def truncate_log(log: Path, timesteps: int) -> None:
    """Drop the rows of ``log`` (``curriculum.csv``) written after step ``timesteps``: a
    resumed run goes on from its checkpoint, so later rows name scenes (and edit indices)
    it will hand out again."""
    if not log.is_file():
        return
    with log.open(newline="") as handle:
        rows = list(csv.reader(handle))
    if not rows:
        return
    kept = [rows[0], *(r for r in rows[1:] if r and int(r[0]) <= timesteps)]
    with log.open("w", newline="") as handle:
        csv.writer(handle).writerows(kept)


class CurriculumCallback(BaseCallback):
    """Reports each finished episode's score to ``source`` after every rollout (see the module
    docstring). ``log``: the CSV file of per-episode rows (None: no file)."""

    def __init__(self, source: CurriculumSource, score: str = "pvl", log: Path | None = None) -> None:
        super().__init__()
        self.source = source
        self.score = score
        self.log = log
        self.scorer: EpisodeScorer | None = None
        self._played: list[np.ndarray] = []
        self._dones: list[np.ndarray] = []
        self._wins: list[np.ndarray] = []
        self._current: np.ndarray | None = None

    def _world_indices(self) -> np.ndarray:
        return np.asarray(self.training_env.venv.world.scene_index, np.int64).copy()  # type: ignore[attr-defined]

    def _on_training_start(self) -> None:
        self.scorer = EpisodeScorer(self.training_env.num_envs, self.score)

    def _on_rollout_start(self) -> None:
        self._played, self._dones, self._wins = [], [], []
        self._current = self._world_indices()

    def _on_step(self) -> bool:
        assert self._current is not None
        self._played.append(self._current)
        self._dones.append(np.asarray(self.locals["dones"], bool).copy())
        if self.score in OUTCOME_SCORES:  # read from the infos only when scored by them
            infos = self.locals.get("infos") or ()
            self._wins.append(np.array([bool(i.get("is_success", False)) for i in infos], bool))
        self._current = self._world_indices()  # after a same-step reset: the next episode's scene
        return True

    def _on_rollout_end(self) -> None:
        assert self.scorer is not None
        if not self._played:
            return
        advantages = np.asarray(self.model.rollout_buffer.advantages)  # type: ignore[attr-defined]
        steps = len(self._played)
        wins = np.stack(self._wins) if self.score in OUTCOME_SCORES else None
        indices, scores = self.scorer(advantages[:steps], np.stack(self._dones), np.stack(self._played), wins)
        self.source.update(indices, scores)
        s = self.source
        self.logger.record("curriculum/episodes_scored", s.reported)
        self.logger.record("curriculum/replayed", s.replayed)
        self.logger.record("curriculum/buffer", len(s.buffer))
        self.logger.record("curriculum/edits", len(s.parents))
        if len(scores):
            self.logger.record("curriculum/mean_score", float(scores.mean()))
        if len(s.buffer):
            self.logger.record("curriculum/buffer_mean_score", float(s.buffer.scores[: len(s.buffer)].mean()))
        if self.log is not None and len(indices):
            fresh = not self.log.exists()
            with self.log.open("a", newline="") as handle:
                writer = csv.writer(handle)
                if fresh:
                    writer.writerow(["timesteps", "scene_index", "score"])
                writer.writerows(
                    (self.num_timesteps, int(i), f"{float(v):.6g}") for i, v in zip(indices, scores)
                )
