"""Scene sources: where the scenes an env serves come from.

Every source honours one protocol, :class:`SceneSource` (``sample(num, rng)``). The built-in
sources are also *indexed*: scene ``i`` is a pure function of ``i`` (Procgen's levels), so
``num_scenes`` / ``start_scene`` make train / test splits. Every scene a source returns is
already repaired, hence solvable.

Sources by name: ``procedural``, ``designer``, a path to a folder of ASCII ``.txt`` scenes or to
an ``.npz`` bank, names added with :func:`register_source` (the learned generators register
``gan`` / ``vae`` / ``vaegan`` / ``vqvae`` this way, resolved lazily so the core never imports
torch; ``curriculum``, :mod:`vrenvs.core.curriculum`, too, as it builds on this module), or any
object with a ``sample`` method.

A name with options is a dict, JSON-serialisable like every env kwarg:
``{"source": "procedural", "style": "cave"}``, ``{"source": "vqvae", "style": "village",
"temperature": 0.9}``. The options are the keyword parameters of the source's factory
(``factory(size, **options)``); :func:`source_options` lists them.
"""

from __future__ import annotations

import inspect
import os
import zipfile
import zlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from importlib import resources
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np

from vrenvs.core.catalog import CATALOG
from vrenvs.core.checks import check_choice, check_int, check_output
from vrenvs.core.plugins import load, plugin_names
from vrenvs.core.repair import REPAIR_VERSION, repair
from vrenvs.core.scene import Scene, SceneError, read_ascii

__all__ = [
    "DEFAULT_SOURCE",
    "AsciiFolderSource",
    "BankSource",
    "IndexedSource",
    "ProceduralSource",
    "SceneSource",
    "bank_block",
    "default_source",
    "make_source",
    "register_source",
    "save_bank",
    "served",
    "source_names",
    "source_options",
    "symmetry",
]

_CACHE_LIMIT = 4096
SCENE_SIZES = (16, 32)
"""The square scene sizes the envs play (``size``): a scene folder holds files of these only."""
MAX_BANK_SCENES = 1_000_000
MAX_BANK_BYTES = 256 << 20
"""A bank holds at most this many scenes and bytes of codes (a 16x16 bank of the maximum
count is 256 MB in memory); larger headers are refused before anything is allocated."""


@runtime_checkable
class SceneSource(Protocol):
    """Anything that hands out solvable scenes: ``sample(num, rng) -> list[Scene]``."""

    name: str

    def sample(self, num: int, rng: np.random.Generator) -> list[Scene]: ...


NUM_SCENE_INDICES = 2**31 - 1
"""Scene indices run over ``[0, NUM_SCENE_INDICES)``: ``start_scene`` and ``num_scenes`` stay
inside it (the learned generators seed torch from the index, which keeps 32 bits)."""


def symmetry(codes: np.ndarray, k: int) -> np.ndarray:
    """One of the 8 symmetries of the square: rotation by ``k % 4`` quarter turns, then a
    left-right flip when ``k % 8 >= 4``. Glyphs have no direction, so all 8 keep the rules."""
    out = np.rot90(codes, k % 4)
    return np.ascontiguousarray(out[:, ::-1] if k % 8 >= 4 else out)


def bank_block(rng: np.random.Generator, start: int, span: int, bank: int) -> list[int]:
    """The scene indices of one bank of ``bank`` scenes, picked at random among the banks that
    overlap ``[start, start + span)`` and clipped to it, in a random order: the next episodes
    of a world (which pops them from the end) play one bank through (one ``rng.integers`` and
    one ``rng.permutation`` call)."""
    first = start // bank
    block = first + int(rng.integers((start + span - 1) // bank - first + 1))
    lo, hi = max(block * bank, start), min((block + 1) * bank, start + span)
    return [int(i) for i in rng.permutation(np.arange(lo, hi))]


class IndexedSource:
    """A source where scene ``index`` is a pure function of ``index``; scenes are cached.

    ``bank_size``: a source that makes its scenes in blocks of consecutive indices (the
    learned generators decode a batch at once) says how many; the world then plays a block
    at a time. ``reserve(consumers)`` tells it how many worlds draw from it at once, so it
    can keep a block per world decoded. ``batches_banks``: several banks decode faster
    together than one by one (the v2 generators); the worlds then pick banks ahead and
    pass them to :meth:`prefetch` as ``upcoming``.

    ``num_distinct``: how many different scenes the indices reach before they repeat (index
    ``i`` and ``i + num_distinct`` are the same scene), or None when they do not repeat
    (procedural and learned sources). Splits of ``num_scenes`` / ``start_scene`` can only be
    disjoint modulo it.
    """

    name = "indexed"
    bank_size = 1
    batches_banks = False
    num_distinct: int | None = None

    def __init__(self, size: int) -> None:
        self.size = int(size)
        self._cache: dict[int, Scene] = {}
        self.edits: dict[int, int] = {}

    def raw(self, index: int) -> Scene:
        raise NotImplementedError

    def reserve(self, consumers: int) -> None:
        """``consumers`` worlds draw from this source (nothing to keep for unbanked ones)."""

    def prefetch(self, indices: Sequence[int], upcoming: Iterable[int] = ()) -> None:
        """Make the scenes ``indices`` ready together, before they are asked for one by one
        (a world calls this with every scene its resets need at once). A hint: scenes must
        come out the same with or without it. Banked sources decode the missing banks in
        one batch; the others have nothing to batch. ``upcoming`` (given to sources that
        set :attr:`batches_banks`): scenes the worlds will ask for later, one per bank, read
        only by a source that has to decode for ``indices``: it decodes their missing banks
        in the same batch."""

    def scene(self, index: int) -> Scene:
        """Scene ``index``, repaired; the same object every call while cached."""
        if index < 0:
            raise ValueError(f"scene index must be >= 0, got {index}")
        cached = self._cache.get(index)
        if cached is None:
            fixed = repair(served(self, self.raw(index), self.size))
            cached = fixed.scene
            if len(self._cache) >= _CACHE_LIMIT:
                self._cache.pop(next(iter(self._cache)))
                self.edits.pop(next(iter(self.edits)), None)
            self._cache[index] = cached
            self.edits[index] = fixed.edits
        return cached

    def identity(self, index: int) -> dict[str, object]:
        """What reproduces scene ``index`` bit for bit."""
        return {"source": self.name, "index": int(index), "repair_version": REPAIR_VERSION}

    def sample(self, num: int, rng: np.random.Generator) -> list[Scene]:
        return [self.scene(int(i)) for i in rng.integers(0, NUM_SCENE_INDICES, size=num)]


class ProceduralSource(IndexedSource):
    """The three procedural styles in turn: scene ``i`` has style ``STYLES[i % 3]``."""

    name = "procedural"

    def __init__(self, size: int, styles: tuple[str, ...] | None = None) -> None:
        from vrenvs.core import procedural

        super().__init__(size)
        self._generate = procedural.generate
        self.styles = tuple(styles or procedural.STYLES)

    def raw(self, index: int) -> Scene:
        style = self.styles[index % len(self.styles)]
        return self._generate(style, np.random.default_rng([index, self.size]), self.size)

    def identity(self, index: int) -> dict[str, object]:
        return {**super().identity(index), "style": self.styles[index % len(self.styles)]}


class AsciiFolderSource(IndexedSource):
    """ASCII scenes of one size from a folder; index ``i`` is file ``i % n`` under symmetry
    ``(i // n) % 8``, so indices beyond the file count give rotated and mirrored layouts.
    With ``style``, only the files whose header says ``; style: <style>`` are used."""

    def __init__(
        self, size: int, folder: str | Path | None = None, name: str = "designer", style: str | None = None
    ) -> None:
        super().__init__(size)
        self.name = name
        self.style = style
        self.folder = Path(folder) if folder is not None else None
        paths = self._paths()
        if not paths:
            raise ValueError(f"scene folder {self._where()} holds no .txt scenes")
        scenes = [read_ascii(p) for p in paths]
        for path, scene in zip(paths, scenes, strict=True):
            if scene.shape not in {(n, n) for n in SCENE_SIZES}:
                raise SceneError(
                    f"{path}: the scene is {scene.shape[0]}x{scene.shape[1]} (rows x columns); scene "
                    f"folders hold square scenes of the env sizes {' or '.join(map(str, SCENE_SIZES))}"
                )
        self.scenes = [s for s in scenes if s.shape == (self.size, self.size)]
        if style is not None and self.scenes:
            styles = sorted({s.meta["style"] for s in self.scenes if "style" in s.meta})
            check_choice("style", style, styles)
            self.scenes = [s for s in self.scenes if s.meta.get("style") == style]
        if not self.scenes:
            found = sorted({f"{s.shape[0]}x{s.shape[1]}" for s in scenes})
            raise ValueError(
                f"scene folder {self._where()} has no {self.size}x{self.size} scenes "
                f"(sizes found: {', '.join(found)})"
            )
        self.num_distinct = len(self.scenes) * 8

    def _where(self) -> str:
        return str(self.folder) if self.folder else "vrenvs/data/scenes"

    def _paths(self) -> list[Path]:
        if self.folder is None:
            root = resources.files("vrenvs.data").joinpath("scenes")
            return sorted(Path(str(p)) for p in root.iterdir() if p.name.endswith(".txt"))
        if self.folder.is_file():
            raise ValueError(f"scene folder {self.folder} is a file; give a folder of .txt scenes")
        if not self.folder.is_dir():
            raise ValueError(f"scene folder {self.folder} does not exist")
        return sorted(self.folder.glob("*.txt"))

    def raw(self, index: int) -> Scene:
        base = self.scenes[index % len(self.scenes)]
        k = (index // len(self.scenes)) % 8
        return Scene(symmetry(base.codes, k), name=base.name, meta=dict(base.meta))

    def identity(self, index: int) -> dict[str, object]:
        base = self.scenes[index % len(self.scenes)]
        sym = (index // len(self.scenes)) % 8
        return {**super().identity(index), "scene": base.name, "symmetry": sym}


def served(source: object, scene: object, size: int) -> Scene:
    """``scene`` as a source handed it out, checked: a :class:`Scene` (or a 2-D integer
    array of glyph codes) of ``size`` x ``size``. Anything else is an error naming the
    source; the caller repairs what passes."""
    where = getattr(source, "name", type(source).__name__)
    if isinstance(scene, np.ndarray):
        try:
            scene = Scene(scene)
        except SceneError as err:
            raise SceneError(f"scene source {where!r} gave a bad grid: {err}") from None
    if not isinstance(scene, Scene):
        raise TypeError(
            f"scene source {where!r} gave {type(scene).__name__} {_short(scene)}; expected a "
            "vrenvs.core.scene.Scene (or a 2-D integer array of glyph codes)"
        )
    if scene.shape != (size, size):
        raise SceneError(
            f"scene source {where!r} gave a {scene.shape[0]}x{scene.shape[1]} scene; this env plays "
            f"size {size}"
        )
    return scene


def _short(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


class BankSource(IndexedSource):
    """Scenes stored in an ``.npz`` bank (``codes``: ``(N, H, W)`` uint8 and ``vocabulary``)."""

    def __init__(self, size: int, path: str | Path) -> None:
        super().__init__(size)
        self.path = Path(path)
        self.name = str(self.path)
        if self.path.is_dir():
            raise ValueError(f"scene bank {self.path} is a folder; give an .npz file written by save_bank")
        if not self.path.is_file():
            raise ValueError(f"scene bank {self.path} does not exist")
        _check_bank_header(self.path)
        try:
            with np.load(self.path, allow_pickle=False) as bank:
                if not hasattr(bank, "files") or "codes" not in bank or "vocabulary" not in bank:
                    raise SceneError(f"scene bank {self.path} needs arrays 'codes' and 'vocabulary'")
                vocabulary, codes = bank["vocabulary"], bank["codes"]
        except SceneError:
            raise
        # not a zip of .npy arrays, truncated, pickled (TypeError: a bare .npy is no context manager)
        except (OSError, ValueError, TypeError, EOFError, zipfile.BadZipFile, zlib.error) as err:
            raise SceneError(f"scene bank {self.path} cannot be read as an .npz bank: {err}") from None
        if (
            vocabulary.dtype.kind != "U"
            or vocabulary.shape != ()
            or str(vocabulary) != CATALOG.vocabulary_hash
        ):
            written = str(vocabulary) if vocabulary.dtype.kind == "U" else _short(vocabulary.tolist())
            raise SceneError(
                f"scene bank {self.path} was written for tile vocabulary {written[:64]}, "
                f"this version uses {CATALOG.vocabulary_hash}"
            )
        if codes.ndim != 3 or len(codes) == 0 or codes.shape[1:] != (size, size):
            raise SceneError(
                f"scene bank {self.path} holds codes of shape {codes.shape}; expected (N>0, {size}, {size})"
            )
        if codes.dtype.kind not in "iu":
            raise SceneError(
                f"scene bank {self.path} holds codes of dtype {codes.dtype}; glyph codes are "
                f"integers in [0, {CATALOG.num_codes - 1}] (uint8 as save_bank writes them)"
            )
        bad = (codes < 0) | (codes >= CATALOG.num_codes)
        if bad.any():
            n, y, x = np.argwhere(bad)[0]
            raise SceneError(
                f"scene bank {self.path}, scene {n}, row {y}, column {x}: glyph code {codes[n, y, x]} "
                f"is outside the vocabulary [0, {CATALOG.num_codes - 1}]"
            )
        self.codes = codes.astype(np.uint8)
        self.num_distinct = len(self.codes)

    def raw(self, index: int) -> Scene:
        return Scene(self.codes[index % len(self.codes)], name=f"bank:{index % len(self.codes)}")


def _check_bank_header(path: Path) -> None:
    """Refuse a bank whose ``codes`` header claims more than :data:`MAX_BANK_SCENES` scenes
    or :data:`MAX_BANK_BYTES` bytes, reading only the ``.npy`` header inside the zip."""
    try:
        with zipfile.ZipFile(path) as archive, archive.open("codes.npy") as member:
            version = np.lib.format.read_magic(member)
            read = (
                np.lib.format.read_array_header_1_0
                if version == (1, 0)
                else np.lib.format.read_array_header_2_0
            )
            shape, _, dtype = read(member)
    except (KeyError, OSError, ValueError, EOFError, zipfile.BadZipFile, zlib.error):
        return  # not a bank or no codes: the full read below names the problem
    count = int(np.prod(shape, dtype=object)) if shape else 1
    if (shape and shape[0] > MAX_BANK_SCENES) or count * dtype.itemsize > MAX_BANK_BYTES:
        raise SceneError(
            f"scene bank {path} holds codes of shape {shape} ({dtype}); a bank holds at most "
            f"{MAX_BANK_SCENES:,} scenes and {MAX_BANK_BYTES >> 20} MiB of codes"
        )


def save_bank(path: str | Path, scenes: list[Scene]) -> None:
    """Write scenes (a list of :class:`Scene` of one shape) to an ``.npz`` bank readable by
    :class:`BankSource`; ``path`` must end with ``.npz``."""
    check_output("path", path, (".npz",))
    if isinstance(scenes, (str, bytes, np.ndarray)) or not hasattr(scenes, "__len__"):
        raise TypeError(f"scenes={_short(scenes)} must be a list of vrenvs.core.scene.Scene")
    if not scenes:
        raise ValueError("scenes=[] is empty; cannot save an empty scene bank")
    for i, scene in enumerate(scenes):
        if not isinstance(scene, Scene):
            raise TypeError(
                f"scenes[{i}] is {type(scene).__name__} {_short(scene)}; expected a "
                "vrenvs.core.scene.Scene (Scene(codes) wraps a grid of glyph codes)"
            )
    shapes = sorted({s.shape for s in scenes})
    if len(shapes) > 1:
        raise ValueError(f"scenes have shapes {shapes}; a bank holds scenes of one shape")
    if len(scenes) > MAX_BANK_SCENES:
        raise ValueError(f"scenes has {len(scenes)} scenes; a bank holds at most {MAX_BANK_SCENES:,}")
    codes = np.stack([s.codes for s in scenes]).astype(np.uint8)
    np.savez_compressed(path, codes=codes, vocabulary=np.array(CATALOG.vocabulary_hash))


def _procedural(size: int, style: str | None = None) -> ProceduralSource:
    """``scenes="procedural"``: the three styles in turn, or one ``style``."""
    if style is None:
        return ProceduralSource(size)
    from vrenvs.core import procedural

    return ProceduralSource(size, (check_choice("style", style, procedural.STYLES),))


def _designer(size: int, style: str | None = None) -> AsciiFolderSource:
    """``scenes="designer"``: the shipped designer scenes of ``size``, or those of one ``style``."""
    return AsciiFolderSource(size, style=style)


_REGISTRY: dict[str, Callable[..., SceneSource]] = {
    "procedural": _procedural,
    "designer": _designer,
}


DEFAULT_SOURCE = "vqvae"
"""The ``scenes`` an env uses when none is given, at both sizes: the learned source the
generator report card measures closest to the corpus (before generators v2: ``gan`` at 16,
``procedural`` at 32)."""


def default_source(size: int) -> str:
    """The ``scenes`` an env of ``size`` uses when none is given (:data:`DEFAULT_SOURCE`)."""
    del size  # one learned source makes both sizes
    return DEFAULT_SOURCE


def register_source(name: str, factory: Callable[..., SceneSource]) -> None:
    """Make ``scenes=name`` resolve to ``factory(size)`` in this process, and ``scenes={"source":
    name, **options}`` to ``factory(size, **options)``. Packages declare theirs once for every
    process as ``vrenvs.sources`` entry points (see :mod:`vrenvs.core.plugins`); the learned
    generators do so, imported on first use."""
    _REGISTRY[name] = factory


def _factory(name: str) -> Callable[..., SceneSource] | None:
    if name in _REGISTRY:
        return _REGISTRY[name]
    if name in plugin_names("vrenvs.sources"):
        factory: Callable[..., SceneSource] = load("vrenvs.sources", name)
        return factory
    return None


def source_options(name: str) -> list[str] | None:
    """The options ``scenes={"source": name, ...}`` takes (the factory's keyword parameters
    after ``size``); None when the factory takes any keyword (it checks them itself)."""
    check_choice("source", name, source_names())
    factory = _factory(name)
    assert factory is not None
    params = list(inspect.signature(factory).parameters.values())[1:]
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params):
        return None
    return [p.name for p in params if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)]


def _scalar(value: object) -> bool:
    return value is None or isinstance(value, (str, bool, int, float))


def _json_option(value: object) -> bool:
    """A scene option an env kwarg can hold: a JSON scalar, or a list or an object of those."""
    if isinstance(value, list):
        return all(_scalar(v) for v in value)
    if isinstance(value, Mapping):
        return all(isinstance(k, str) and _scalar(v) for k, v in value.items())
    return _scalar(value)


def _from_mapping(spec: Mapping[Any, object], size: int) -> SceneSource:
    """``scenes={"source": name, **options}`` -> ``factory(size, **options)``, checked."""
    shown = _short(dict(spec))
    for key, value in spec.items():
        if not isinstance(key, str):
            raise TypeError(f"scenes={shown}: key {key!r} must be a str")
        if not _json_option(value):
            raise TypeError(
                f"scenes[{key!r}]={_short(value)} must be a str, number, bool, None, or a list or an "
                "object of those (env kwargs are JSON values, so the env spec can be saved and replayed)"
            )
    if "source" not in spec:
        raise ValueError(
            f"scenes={shown} has no 'source' key; give {{'source': name, **options}} with a name "
            f"from {source_names()}"
        )
    name = spec["source"]
    if not isinstance(name, str):
        raise TypeError(
            f"scenes['source']={name!r} must be a source name (a str); choose from {source_names()}"
        )
    if name not in source_names():
        raise ValueError(
            f"scenes['source']={name!r} is not a source name; choose from {source_names()} (paths and "
            "objects are given as scenes= directly)"
        )
    options = {str(k): v for k, v in spec.items() if k != "source"}
    allowed = source_options(name)
    if allowed is not None:
        unknown = sorted(set(options) - set(allowed))
        if unknown:
            raise ValueError(
                f"scenes[{unknown[0]!r}] is not an option of source {name!r}; allowed: "
                f"{allowed or 'none (give scenes=' + repr(name) + ')'}"
            )
    factory = _factory(name)
    assert factory is not None
    try:
        return factory(size, **options)
    except (TypeError, ValueError) as err:
        raise type(err)(f"scenes={shown}: {err}") from None


def source_names() -> list[str]:
    """Built-in, registered and plugged-in source names."""
    return sorted({*_REGISTRY, *plugin_names("vrenvs.sources")})


def make_source(spec: str | os.PathLike[str] | SceneSource | Mapping[str, object], size: int) -> SceneSource:
    """Resolve a ``scenes=`` argument to a source producing ``size`` x ``size`` scenes
    (``size`` one of :data:`SCENE_SIZES`)."""
    check_choice("size", check_int("size", size), SCENE_SIZES)
    if isinstance(spec, Mapping):
        return _from_mapping(spec, size)
    if isinstance(spec, os.PathLike):
        spec = os.fspath(spec)
    if isinstance(spec, type):
        raise TypeError(
            f"scenes={spec.__name__} is a class; give a source object (an instance), e.g. "
            f"{spec.__name__}(size), or a source name"
        )
    if not isinstance(spec, str):
        sample = getattr(spec, "sample", None)
        if sample is None:
            raise TypeError(
                f"scenes={_short(spec)} is not a source: give a name ({', '.join(source_names())}), "
                "a path, or an object with name and sample(num, rng)"
            )
        if not callable(sample):
            raise TypeError(f"scenes={_short(spec)}: its sample attribute is not callable")
        if not isinstance(getattr(spec, "name", None), str):
            raise TypeError(f"scenes={_short(spec)} has no name (a str attribute the info reports)")
        try:
            signature = inspect.signature(sample)
        except (TypeError, ValueError):  # no signature to read (some builtins): trust it
            return spec
        try:
            signature.bind(1, np.random.default_rng(0))
        except TypeError:
            raise TypeError(
                f"scenes={_short(spec)}: its sample{signature} cannot be called as "
                "sample(num, rng); a source's sample takes the count and a numpy Generator"
            ) from None
        return spec
    if not spec:
        raise ValueError(f"scenes='' is empty; choose from {source_names()}, a folder or an .npz bank")
    factory = _factory(spec)
    if factory is not None:
        return factory(size)
    path = Path(spec)
    if spec.endswith(".npz"):
        return BankSource(size, path)
    if path.is_dir():
        return AsciiFolderSource(size, path, name=str(path))
    raise ValueError(
        f"unknown scene source {spec!r}; choose from {source_names()}, a folder of .txt scenes "
        "or an .npz bank"
    )
