"""The user's language: request templates, the fixed word vocabulary and tokenisation.

Token id 0 is padding. The vocabulary is built once from ``vrenvs/data/language.yaml`` plus
every word an item, region kind or colour can contribute, so it is fixed for a release and
independent of the scenes played.
"""

from __future__ import annotations

from importlib import resources

import numpy as np
import yaml

from vrenvs.core.catalog import CATALOG, COLOURS
from vrenvs.core.regions import REGION_RULES

__all__ = [
    "MAX_TOKENS",
    "REQUEST_TYPES",
    "TEMPLATES",
    "VOCABULARY",
    "detokenize",
    "sentence",
    "spoken",
    "tokenize",
]

_SPEC = yaml.safe_load(resources.files("vrenvs.data").joinpath("language.yaml").read_text())
TEMPLATES: dict[str, str] = dict(_SPEC["templates"])
MAX_TOKENS: int = int(_SPEC["max_tokens"])

REQUEST_TYPES = ("none", "fetch", "guide", "open")
"""Request type ids: index in this tuple (0 = no request pending)."""


def _vocabulary() -> tuple[str, ...]:
    words: set[str] = set(_SPEC["extra_words"]) | set(COLOURS)
    for template in TEMPLATES.values():
        words.update(w for w in template.split() if not w.startswith("{"))
    for item in CATALOG.items:
        words.update((item.adjective, item.noun))
    words.update(kind["name"] for kind in REGION_RULES["kinds"])
    return ("<pad>", *sorted(words))


VOCABULARY = _vocabulary()
_WORD_ID = {w: i for i, w in enumerate(VOCABULARY)}


def sentence(kind: str, target: str = "") -> str:
    """The English request, e.g. ``sentence("fetch", "blue cup")`` -> "Please bring me the blue cup."."""
    if kind not in TEMPLATES:
        raise ValueError(f"unknown request kind {kind!r}; choose from {sorted(TEMPLATES)}")
    text = TEMPLATES[kind].format(target=target)
    return text[0].upper() + text[1:] + "."


def tokenize(text: str) -> np.ndarray:
    """Token ids of ``text`` (case and final period ignored), padded to :data:`MAX_TOKENS`."""
    words = text.lower().rstrip(".").split()
    unknown = [w for w in words if w not in _WORD_ID]
    if unknown:
        raise ValueError(f"words {unknown} are not in the vocabulary of {len(VOCABULARY)} words")
    if len(words) > MAX_TOKENS:
        raise ValueError(f"{text!r} has {len(words)} words; at most {MAX_TOKENS} fit a request")
    ids = np.zeros(MAX_TOKENS, dtype=np.int16)
    ids[: len(words)] = [_WORD_ID[w] for w in words]
    return ids


def detokenize(ids: np.ndarray) -> str:
    return " ".join(VOCABULARY[i] for i in np.asarray(ids) if i)


def spoken(ids: np.ndarray) -> str:
    """Token ids as the sentence the user says: ``"Please bring me the blue cup."`` ("" for
    no request)."""
    text = detokenize(ids)
    return text[:1].upper() + text[1:] + "." if text else ""
