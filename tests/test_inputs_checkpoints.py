"""Files users load: generator checkpoints (``<name>.json`` + ``.safetensors``) and policy
folders (``policy.json`` + ``policy.safetensors``).

Each bad case edits one thing of a copy of a shipped file in ``tmp_path`` and expects the
loader's error class (``CheckpointError`` / ``PolicyFileError``, both ValueErrors) with a
message that names the file and the field and value at fault. Field edits are not re-sealed:
the fields are checked before ``config_sha256``, so the message names the field. Edits that
are meant to reach a later check (weights, env, tensors) re-seal the hashes as a deliberate
edit would.
"""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("safetensors")
pytest.importorskip("stable_baselines3")

from safetensors.torch import load_file, save_file  # noqa: E402

from agents import policy_io  # noqa: E402
from agents.policy_io import PolicyFileError, load_policy, read_meta  # noqa: E402
from agents.pretrained import PRETRAINED, role_names, sb3_names  # noqa: E402
from generators import checkpoint as ckpt  # noqa: E402
from generators.checkpoint import CheckpointError, load_checkpoint  # noqa: E402
from generators.models import KINDS, MAX_PARAMETERS, ModelConfig, build_model  # noqa: E402
from vrenvs.core.jsonfiles import digest  # noqa: E402

SHIPPED_POLICY = PRETRAINED / "ppo-Assistant-Fetch"


# --- helpers --------------------------------------------------------------------------------


def _set(data: dict[str, Any], dotted: str, value: Any) -> None:
    """``data[a][b] = value`` for ``dotted == "a.b"``; ``value is DELETE`` removes the key."""
    *parents, last = dotted.split(".")
    for key in parents:
        data = data[key]
    if value is DELETE:
        del data[last]
    else:
        data[last] = value


DELETE = object()


def edit_json(path: Path, dotted: str, value: Any, reseal: bool = False) -> None:
    meta = json.loads(path.read_text())
    _set(meta, dotted, value)
    if reseal:
        meta["config_sha256"] = digest(meta, "config_sha256")
    path.write_text(json.dumps(meta))  # NaN / Infinity are written as the literals NaN / Infinity


def reseal(path: Path, weights: Path, field: str) -> None:
    """Seal ``path`` for the current bytes of ``weights`` without checking them."""
    meta = json.loads(path.read_text())
    meta[field] = _file_sha(weights)
    meta["config_sha256"] = digest(meta, "config_sha256")
    path.write_text(json.dumps(meta))


def _file_sha(path: Path) -> str:
    import hashlib

    return hashlib.sha256(path.read_bytes()).hexdigest()


def rewrite_tensors(weights: Path, change: Callable[[dict[str, Any]], None]) -> None:
    tensors = load_file(str(weights))
    change(tensors)
    save_file(tensors, str(weights))


@pytest.fixture
def gen(tmp_path: Path) -> tuple[Path, Path]:
    """A copy of the shipped vae checkpoint (json, weights) and the gan weights next to it."""
    for name in ("vae.json", "vae.safetensors", "gan.safetensors"):
        shutil.copy(ckpt.shipped("vae").with_name(name), tmp_path / name)
    return tmp_path / "vae.json", tmp_path / "vae.safetensors"


@pytest.fixture
def pol(tmp_path: Path) -> Path:
    """A copy of a shipped policy folder."""
    folder = tmp_path / "policy"
    folder.mkdir()
    for name in ("policy.json", "policy.safetensors"):
        shutil.copy(SHIPPED_POLICY / name, folder / name)
    return folder


# --- generator checkpoints: one field at a time ---------------------------------------------

HEX = "ab" * 32

GEN_FIELDS = [
    ("model.width", 1_000_000, "model.width=1000000 is out of range; allowed: an integer in [8, 4096]"),
    ("model.width", 4096, "model.width=4096 with latent_dim=64 makes a vae model of"),
    ("model.width", -32, "model.width=-32 is out of range"),
    ("model.width", 0, "model.width=0 is out of range"),
    ("model.width", 32.0, "model.width=32.0 must be an integer"),
    ("model.width", "32", "model.width='32' must be an integer"),
    ("model.width", True, "model.width=True must be an integer"),
    ("model.width", None, "model.width=None must be an integer"),
    ("model.width", [32], "model.width=[32] must be an integer"),
    ("model.width", float("nan"), "model.width=nan is not allowed; allowed: a finite number"),
    ("model.width", 36, "model.width=36 is not allowed; allowed: a multiple of 8"),
    ("model.latent_dim", 0, "model.latent_dim=0 is out of range; allowed: an integer in [1, 4096]"),
    ("model.latent_dim", 10**9, "model.latent_dim=1000000000 is out of range"),
    ("model.latent_dim", 64.5, "model.latent_dim=64.5 must be an integer"),
    ("model.latent_dim", float("inf"), "model.latent_dim=inf is not allowed; allowed: a finite number"),
    ("model.latent_scale", float("nan"), "model.latent_scale=nan is not allowed"),
    ("model.latent_scale", float("-inf"), "model.latent_scale=-inf is not allowed"),
    (
        "model.latent_scale",
        -1.0,
        "model.latent_scale=-1.0 is out of range; allowed: a finite number in (0.0, 10.0]",
    ),
    ("model.latent_scale", 0, "model.latent_scale=0 is out of range"),
    ("model.latent_scale", 1e6, "model.latent_scale=1000000.0 is out of range"),
    ("model.latent_scale", "1", "model.latent_scale='1' must be a number"),
    (
        "model.kind",
        "diffusion",
        "model.kind='diffusion' is not supported; choose from ['gan', 'vae', 'vaegan']",
    ),
    ("model.kind", None, "model.kind=None is not supported"),
    ("model.decoding", "max", "model.decoding='max' is not supported; choose from ['expected'"),
    ("model.depth", 3, "model has unknown fields ['depth']"),
    ("model.width", DELETE, "model lacks ['width']"),
    ("model", [64, 32], "model=[64, 32] is not allowed; allowed: an object with the fields"),
    ("model", "vae", "model='vae' is not allowed"),
    (
        "format",
        "vrenvs-generator/3",
        "format='vrenvs-generator/3' is not allowed; allowed: 'vrenvs-generator/1' or 'vrenvs-generator/2'",
    ),
    ("format", "vrenvs-generator/2", "model lacks ['vq', 'prior', 'styles', 'sizes', 'style_weights']"),
    ("format", DELETE, "format=None is not allowed"),
    ("weights_sha256", DELETE, "lacks the fields ['weights_sha256']"),
    ("config_sha256", DELETE, "lacks the fields ['config_sha256']"),
    ("num_parameters", DELETE, "lacks the fields ['num_parameters']"),
    ("num_codes", 31, "num_codes=31 is not allowed; allowed: 30"),
    ("num_codes", 30.0, "num_codes=30.0 is not allowed"),
    ("size", 32, "size=32 is not allowed; allowed: 16"),
    ("num_parameters", 1, "num_parameters=1 is not allowed; allowed: 780222, what the model config builds"),
    ("num_parameters", "780222", "num_parameters='780222' is not allowed"),
    ("weights_file", "../vae.safetensors", "weights_file='../vae.safetensors' is not allowed"),
    ("weights_file", "/etc/passwd", "weights_file='/etc/passwd' is not allowed"),
    ("weights_file", "vae.pt", "weights_file='vae.pt' is not allowed"),
    ("weights_file", ".safetensors", "weights_file='.safetensors' is not allowed"),
    ("weights_file", 7, "weights_file=7 is not allowed"),
    ("weights_sha256", "abc", "weights_sha256='abc' is not allowed; allowed: 64 lowercase hex digits"),
    ("config_sha256", HEX.upper(), f"config_sha256='{HEX.upper()}' is not allowed"),
    ("vocabulary_hash", 123, "vocabulary_hash=123 is not allowed; allowed: a string"),
    ("vocabulary_hash", "0123456789abcdef", "trained on tile vocabulary 0123456789abcdef"),
]


@pytest.mark.parametrize(
    ("field", "value", "message"), GEN_FIELDS, ids=[f"{f}={v!r}" for f, v, _ in GEN_FIELDS]
)
def test_generator_config_field_is_refused_by_name(gen, field, value, message):
    config, _ = gen
    edit_json(config, field, value)
    with pytest.raises(CheckpointError) as err:
        load_checkpoint(config)
    assert str(config) in str(err.value)
    assert message in str(err.value)


def test_a_nan_in_provenance_is_refused_too(gen):
    config, _ = gen
    edit_json(config, "metrics.raw_playable", float("nan"))
    with pytest.raises(CheckpointError, match=r"vae\.json: metrics\.raw_playable=nan is not allowed"):
        load_checkpoint(config)


# --- generator checkpoints: hashes ------------------------------------------------------------

GEN_HASHES = [
    ("training.command", "python -m generators train vae --minutes 1"),
    ("metrics.raw_playable", 0.99),
    ("model.latent_scale", 0.5),  # a valid value: only the seal can tell it was edited
    ("config_sha256", HEX),
]


@pytest.mark.parametrize(("field", "value"), GEN_HASHES, ids=[f for f, _ in GEN_HASHES])
def test_generator_config_edited_without_resealing_is_refused(gen, field, value):
    config, _ = gen
    edit_json(config, field, value)
    with pytest.raises(CheckpointError) as err:
        load_checkpoint(config)
    assert f"generator checkpoint config {config} does not match its config_sha256" in str(err.value)


def test_generator_weights_hash_changed_in_a_sealed_config_is_refused(gen):
    config, weights = gen
    edit_json(config, "weights_sha256", HEX, reseal=True)
    with pytest.raises(CheckpointError) as err:
        load_checkpoint(config)
    assert f"generator weights {weights} are corrupt or truncated: sha256" in str(err.value)
    assert "the config expects ababababab" in str(err.value)


def test_reformatted_config_still_verifies(gen):
    """The seal is over the canonical JSON: indentation and key order do not matter."""
    config, _ = gen
    meta = json.loads(config.read_text())
    config.write_text(json.dumps(dict(reversed(list(meta.items()))), indent=7))
    assert load_checkpoint(config).meta["config_sha256"] == meta["config_sha256"]


# --- generator checkpoints: the JSON text -----------------------------------------------------

BAD_TEXT = [
    ("not JSON", b"hello", "is corrupt or truncated (not valid JSON"),
    ("empty", b"", "is corrupt or truncated (not valid JSON"),
    ("truncated", None, "is corrupt or truncated (not valid JSON"),
    ("array", b"[1, 2]", "holds a JSON list; a JSON object is expected"),
    ("string", b'"vae"', "holds a JSON str; a JSON object is expected"),
    ("bad UTF-8", b'{"format": "\xff\xfe"}', "is not UTF-8 text (byte 12"),
    ("UTF-16", '{"format": 1}'.encode("utf-16"), "is not UTF-8 text (byte 0"),
    ("repeated key", b'{"format": "a", "format": "b"}', "not valid JSON: the key 'format' appears twice"),
    ("deep", b"[" * 100_000 + b"]" * 100_000, "nests too deeply"),
    ("huge", b'{"pad": "' + b"x" * 1_000_001 + b'"}', "is larger than 1000000 bytes"),
]


@pytest.mark.parametrize(("raw", "message"), [c[1:] for c in BAD_TEXT], ids=[c[0] for c in BAD_TEXT])
def test_generator_config_text_is_refused(gen, raw, message):
    config, _ = gen
    config.write_bytes(config.read_bytes()[:500] if raw is None else raw)
    started = time.perf_counter()
    with pytest.raises(CheckpointError) as err:
        load_checkpoint(config)
    assert time.perf_counter() - started < 1.0
    assert f"generator checkpoint config {config}" in str(err.value)
    assert message in str(err.value)


def test_generator_config_that_is_a_folder_or_missing_is_refused(tmp_path):
    (tmp_path / "x.json").mkdir()
    with pytest.raises(CheckpointError, match=r"x\.json is a folder, not a file"):
        load_checkpoint(tmp_path / "x.json")
    with pytest.raises(CheckpointError, match=r"nothing\.json does not exist"):
        load_checkpoint(tmp_path / "nothing")
    with pytest.raises(TypeError, match=r"path=3 must be a path"):
        load_checkpoint(3)  # type: ignore[arg-type]


# --- generator checkpoints: the weights -------------------------------------------------------


def _swap_gan(config: Path, weights: Path) -> None:
    shutil.copy(weights.with_name("gan.safetensors"), weights)


def _truncate(config: Path, weights: Path) -> None:
    weights.write_bytes(weights.read_bytes()[:1000])


def _garbage(config: Path, weights: Path) -> None:
    weights.write_bytes(b"\x80\x04\x95 not tensors, a pickle header" * 10)


def _nan(config: Path, weights: Path) -> None:
    rewrite_tensors(weights, lambda t: t["decoder.fc.bias"].__setitem__(3, float("nan")))


def _inf(config: Path, weights: Path) -> None:
    rewrite_tensors(weights, lambda t: t["prior_tril"].__setitem__((0, 0), float("inf")))


def _float64(config: Path, weights: Path) -> None:
    rewrite_tensors(weights, lambda t: t.__setitem__("decoder.fc.bias", t["decoder.fc.bias"].double()))


def _extra(config: Path, weights: Path) -> None:
    rewrite_tensors(weights, lambda t: t.__setitem__("backdoor", torch.zeros(3)))


def _shape(config: Path, weights: Path) -> None:
    rewrite_tensors(weights, lambda t: t.__setitem__("prior_mean", torch.zeros(65)))


def _padded(config: Path, weights: Path) -> None:
    weights.write_bytes(weights.read_bytes() + b"\0" * 3_000_000)


GEN_WEIGHTS = [
    (
        "gan weights in a vae config",
        _swap_gan,
        "do not fit the vae model: 36 missing keys (e.g. decoder.body.0.bias",
    ),
    ("truncated", _truncate, "are corrupt (not safetensors"),
    ("not safetensors", _garbage, "are corrupt (not safetensors"),
    ("NaN tensor", _nan, "hold NaN or infinite values in 1 tensors (e.g. decoder.fc.bias)"),
    ("inf tensor", _inf, "hold NaN or infinite values in 1 tensors (e.g. prior_tril)"),
    ("float64 tensor", _float64, "1 tensors of the wrong dtype (e.g. decoder.fc.bias torch.float64"),
    ("extra tensor", _extra, "1 unexpected keys (e.g. backdoor)"),
    ("wrong shape", _shape, "1 tensors of the wrong shape (e.g. prior_mean (65,) (model: (64,)))"),
    ("too large for the config", _padded, "bytes; the model config needs at most 4,"),
]


@pytest.mark.parametrize(("change", "message"), [c[1:] for c in GEN_WEIGHTS], ids=[c[0] for c in GEN_WEIGHTS])
def test_generator_weights_are_refused(gen, change, message):
    config, weights = gen
    change(config, weights)
    reseal(config, weights, "weights_sha256")  # a sealed file: only the tensors are wrong
    with pytest.raises(CheckpointError) as err:
        load_checkpoint(config)
    assert f"generator weights {weights}" in str(err.value)
    assert message in str(err.value)


def test_generator_weights_missing_or_a_folder_are_refused(gen):
    config, weights = gen
    weights.unlink()
    with pytest.raises(CheckpointError, match=rf"generator weights {weights} do not exist"):
        load_checkpoint(config)
    weights.mkdir()
    with pytest.raises(CheckpointError, match=rf"generator weights {weights} is a folder, not a file"):
        load_checkpoint(config)


def test_a_huge_generator_config_fails_fast_without_building(gen, monkeypatch):
    """width=4096 is in range but makes billions of parameters: refused from the numbers."""
    config, _ = gen

    def forbidden(*args, **kwargs):
        raise AssertionError("the model was built")

    monkeypatch.setattr(ckpt, "build_model", forbidden)
    edit_json(config, "model.width", 4096)
    edit_json(config, "model.latent_dim", 4096, reseal=True)
    started = time.perf_counter()
    with pytest.raises(CheckpointError) as err:
        load_checkpoint(config)
    assert time.perf_counter() - started < 0.5
    assert (
        f"{config}: model.width=4096 with latent_dim=4096 makes a vae model of 9,346,592,798 parameters"
        in str(err.value)
    )
    assert f"at most {MAX_PARAMETERS:,} are allowed" in str(err.value)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize(("latent_dim", "width"), [(1, 8), (7, 16), (64, 32), (33, 48)])
def test_the_parameter_count_is_the_built_models(kind, latent_dim, width):
    config = ModelConfig(kind, latent_dim, width)
    assert config.num_parameters() == build_model(config).num_parameters()


def test_generator_seal_and_update_metrics_keep_a_checkpoint_loadable(gen):
    config, _ = gen
    edit_json(config, "training.command", "edited on purpose")
    with pytest.raises(CheckpointError, match="does not match its config_sha256"):
        load_checkpoint(config)
    ckpt.seal(config)
    assert load_checkpoint(config).meta["training"]["command"] == "edited on purpose"
    ckpt.update_metrics(config, {"raw_playable": 0.5})
    assert load_checkpoint(config).meta["metrics"]["raw_playable"] == 0.5
    edit_json(config, "model.width", 36)
    with pytest.raises(CheckpointError, match=r"model\.width=36 is not allowed"):
        ckpt.seal(config)  # a bad config is not sealed


@pytest.mark.parametrize("kind", KINDS)
def test_shipped_generators_load_and_verify(kind):
    config = ckpt.shipped(kind)
    meta = json.loads(config.read_text())
    assert meta["config_sha256"] == digest(meta, "config_sha256")
    assert meta["weights_sha256"] == _file_sha(config.with_name(meta["weights_file"]))
    loaded = load_checkpoint(config)
    assert loaded.model.config.kind == kind
    assert loaded.model.num_parameters() == meta["num_parameters"] < MAX_PARAMETERS // 50


# --- policies: one field at a time ------------------------------------------------------------

POLICY_FIELDS = [
    (
        "policy.features_dim",
        10**9,
        "policy.features_dim=1000000000 is out of range; allowed: an integer in [1, 4096]",
    ),
    ("policy.features_dim", -1, "policy.features_dim=-1 is out of range"),
    ("policy.features_dim", 128.0, "policy.features_dim=128.0 must be an integer"),
    ("policy.features_dim", "128", "policy.features_dim='128' must be an integer"),
    ("policy.features_dim", float("nan"), "policy.features_dim=nan is not allowed; allowed: a finite number"),
    ("policy.channels", 0, "policy.channels=0 is out of range; allowed: an integer in [1, 1024]"),
    ("policy.channels", 10**6, "policy.channels=1000000 is out of range"),
    ("policy.channels", True, "policy.channels=True must be an integer"),
    ("policy.channels", None, "policy.channels=None must be an integer"),
    ("policy.net_arch", [[128]], "policy.net_arch[0]=[128] must be an integer in [1, 4096]"),
    ("policy.net_arch", {"pi": [64], "vf": [64]}, "policy.net_arch={'pi': [64], 'vf': [64]} must be a list"),
    ("policy.net_arch", "128", "policy.net_arch='128' must be a list of layer widths"),
    ("policy.net_arch", [128] * 9, "has 9 layers; at most 8 are allowed"),
    ("policy.net_arch", [128, -5], "policy.net_arch[1]=-5 is out of range"),
    ("policy.net_arch", [10**7], "policy.net_arch[0]=10000000 is out of range"),
    ("policy.net_arch", [64.0], "policy.net_arch[0]=64.0 must be an integer"),
    ("policy.net_arch", [float("inf")], "policy.net_arch[0]=inf is not allowed; allowed: a finite number"),
    ("policy.activation_fn", "tanh", "policy has unknown keys ['activation_fn']"),
    ("policy.channels", DELETE, "policy lacks the fields ['channels']"),
    ("policy", [128, 16], "policy=[128, 16] must be a mapping"),
    (
        "env_id",
        "vrenvs/Nope-v0",
        "env_id='vrenvs/Nope-v0' is not supported; choose from ['vrenvs/Assistant-Fetch-v0'",
    ),
    ("env_id", 5, "env_id=5 is not supported"),
    ("env_id", "CartPole-v1", "env_id='CartPole-v1' is not supported"),
    ("env_kwargs", ["route"], "env_kwargs=['route'] is not allowed; allowed: an object of env kwargs"),
    ("env_kwargs", DELETE, "lacks the fields ['env_kwargs']"),
    ("num_timesteps", -1, "num_timesteps=-1 is out of range"),
    ("num_timesteps", "many", "num_timesteps='many' must be an integer"),
    ("format", 2, "format=2 is not allowed; allowed: 1 (a vrenvs policy)"),
    ("format", True, "format=True is not allowed"),
    ("sha256", "zz", "sha256='zz' is not allowed; allowed: 64 lowercase hex digits"),
    ("sha256", DELETE, "lacks the fields ['sha256']"),
    ("config_sha256", DELETE, "lacks the fields ['config_sha256']"),
    ("vocabulary_hash", "0123456789abcdef", "trained on tile vocabulary 0123456789abcdef"),
    ("vocabulary_hash", ["x"], "vocabulary_hash=['x'] is not allowed; allowed: a string"),
]


@pytest.mark.parametrize(
    ("field", "value", "message"), POLICY_FIELDS, ids=[f"{f}={v!r}" for f, v, _ in POLICY_FIELDS]
)
def test_policy_field_is_refused_by_name(pol, field, value, message):
    edit_json(pol / "policy.json", field, value)
    with pytest.raises(PolicyFileError) as err:
        load_policy(pol)
    assert str(pol / "policy.json") in str(err.value)
    assert message in str(err.value)


# --- policies: sealed configs that reach the env and the tensors ------------------------------

POLICY_SEALED = [
    ("env_kwargs", {"route": "yes"}, "env_kwargs={'route': 'yes'} do not make vrenvs/Assistant-Fetch-v0"),
    ("env_kwargs", {"colour": 1}, "env_kwargs={'colour': 1} do not make vrenvs/Assistant-Fetch-v0"),
    (
        "env_kwargs",
        {"flat": True},
        "env_kwargs={'flat': True} give observations or actions the policy cannot use",
    ),
    (
        "policy.net_arch",
        [64],
        "cannot be loaded into the policy of policy.json: 6 tensors of the wrong shape or dtype",
    ),
    ("env_kwargs", {}, "1 tensors of the wrong shape or dtype (e.g. features_extractor.head.0.weight"),
]


@pytest.mark.parametrize(
    ("field", "value", "message"), POLICY_SEALED, ids=[f"{f}={v!r}" for f, v, _ in POLICY_SEALED]
)
def test_sealed_policy_that_cannot_be_built_is_refused(pol, field, value, message):
    edit_json(pol / "policy.json", field, value, reseal=True)
    with pytest.raises(PolicyFileError) as err:
        load_policy(pol)
    assert str(pol) in str(err.value)
    assert message in str(err.value)


@pytest.mark.parametrize(
    ("field", "value"),
    [("command", "edited"), ("policy.net_arch", [64]), ("num_timesteps", 1), ("config_sha256", HEX)],
)
def test_policy_edited_without_resealing_is_refused(pol, field, value):
    edit_json(pol / "policy.json", field, value)
    with pytest.raises(PolicyFileError) as err:
        read_meta(pol)
    assert f"{pol / 'policy.json'} does not match its config_sha256" in str(err.value)


def test_a_huge_policy_config_fails_fast_without_building(pol, monkeypatch):
    def forbidden(*args, **kwargs):
        raise AssertionError("the policy was built")

    monkeypatch.setattr(policy_io, "build_model", forbidden)
    monkeypatch.setattr(policy_io, "PPO", forbidden)
    huge = {"features_dim": 4096, "channels": 1024, "net_arch": [4096] * 8}  # each in range
    edit_json(pol / "policy.json", "policy", huge, reseal=True)
    started = time.perf_counter()
    with pytest.raises(PolicyFileError) as err:
        load_policy(pol)
    assert time.perf_counter() - started < 1.0
    assert "makes a policy of 484,105,834 parameters for vrenvs/Assistant-Fetch-v0" in str(err.value)
    assert f"at most {policy_io.MAX_PARAMETERS:,} are allowed" in str(err.value)


# --- policies: the JSON text and the weights --------------------------------------------------


@pytest.mark.parametrize(("raw", "message"), [c[1:] for c in BAD_TEXT], ids=[c[0] for c in BAD_TEXT])
def test_policy_json_text_is_refused(pol, raw, message):
    meta = pol / "policy.json"
    meta.write_bytes(meta.read_bytes()[:300] if raw is None else raw)
    with pytest.raises(PolicyFileError) as err:
        load_policy(pol)
    assert f"policy config {meta}" in str(err.value)
    assert message in str(err.value)


def _policy_nan(folder: Path) -> None:
    rewrite_tensors(
        folder / "policy.safetensors", lambda t: t["action_net.bias"].__setitem__(0, float("nan"))
    )


def _policy_float16(folder: Path) -> None:
    weights = folder / "policy.safetensors"
    rewrite_tensors(weights, lambda t: t.__setitem__("value_net.bias", t["value_net.bias"].half()))


def _policy_missing_tensor(folder: Path) -> None:
    rewrite_tensors(folder / "policy.safetensors", lambda t: t.pop("value_net.weight"))


def _policy_generator_weights(folder: Path) -> None:
    shutil.copy(ckpt.shipped("gan").with_suffix(".safetensors"), folder / "policy.safetensors")


def _policy_truncated(folder: Path) -> None:
    weights = folder / "policy.safetensors"
    weights.write_bytes(weights.read_bytes()[:-10])


def _policy_padded(folder: Path) -> None:
    weights = folder / "policy.safetensors"
    weights.write_bytes(weights.read_bytes() + b" " * 2_000_000)


POLICY_WEIGHTS = [
    ("NaN tensor", _policy_nan, "holds NaN or infinite values in 1 tensors (e.g. action_net.bias)"),
    (
        "float16 tensor",
        _policy_float16,
        "(e.g. value_net.bias torch.float16 (1,) (model: torch.float32 (1,)))",
    ),
    ("missing tensor", _policy_missing_tensor, "1 missing tensors (e.g. value_net.weight)"),
    ("generator weights", _policy_generator_weights, "22 unexpected tensors (e.g. generator.body.0.bias"),
    ("truncated", _policy_truncated, "cannot be loaded into the policy: not safetensors"),
    ("too large", _policy_padded, "bytes; the policy of policy.json needs at most 1,"),
]


@pytest.mark.parametrize(
    ("change", "message"), [c[1:] for c in POLICY_WEIGHTS], ids=[c[0] for c in POLICY_WEIGHTS]
)
def test_policy_weights_are_refused(pol, change, message):
    change(pol)
    reseal(pol / "policy.json", pol / "policy.safetensors", "sha256")
    with pytest.raises(PolicyFileError) as err:
        load_policy(pol)
    assert str(pol / "policy.safetensors") in str(err.value)
    assert message in str(err.value)


def test_policy_folder_of_the_wrong_type_is_a_type_error():
    with pytest.raises(TypeError, match=r"folder=7 must be the path of a policy folder"):
        load_policy(7)  # type: ignore[arg-type]


def test_the_json_file_helpers_doctests():
    import doctest

    from vrenvs.core import jsonfiles

    result = doctest.testmod(jsonfiles)
    assert (result.attempted, result.failed) == (2, 0)


def test_policy_files_missing_are_named(pol, tmp_path):
    (pol / "policy.safetensors").unlink()
    with pytest.raises(PolicyFileError, match=r"policy\.safetensors is missing"):
        load_policy(pol)
    (tmp_path / "file").write_text("x")
    with pytest.raises(PolicyFileError, match=r"file is missing or not a folder"):
        load_policy(tmp_path / "file")


def test_policy_seal_after_a_deliberate_edit(pol):
    edit_json(pol / "policy.json", "command", "edited on purpose")
    policy_io.seal(pol)
    assert load_policy(pol).num_timesteps == read_meta(SHIPPED_POLICY)["num_timesteps"]
    edit_json(pol / "policy.json", "policy.net_arch", [64])
    with pytest.raises(PolicyFileError, match="6 tensors of the wrong shape or dtype"):
        policy_io.seal(pol)  # weights that do not fit are not sealed


@pytest.mark.parametrize(
    ("env_kwargs", "policy"),
    [
        ({"route": True}, {"features_dim": 128, "channels": 16, "net_arch": [128]}),
        ({}, {"features_dim": 8, "channels": 3, "net_arch": []}),
        ({"obs_mode": "full"}, {"features_dim": 20, "channels": 5, "net_arch": [7, 9, 3]}),
    ],
)
def test_the_policy_parameter_count_is_the_built_policys(env_kwargs, policy):
    model = policy_io.build_model("vrenvs/NPC-Guard-v0", env_kwargs, policy, {"n_steps": 8, "batch_size": 8})
    built = sum(p.numel() for p in model.policy.parameters())
    assert policy_io.num_parameters(policy, model.observation_space, model.action_space) == built


@pytest.mark.parametrize("name", sb3_names())
def test_shipped_policies_load_and_verify(name):
    folder = PRETRAINED / name
    meta = json.loads((folder / "policy.json").read_text())
    assert meta["config_sha256"] == digest(meta, "config_sha256")
    assert meta["sha256"] == _file_sha(folder / "policy.safetensors")
    model = load_policy(folder)
    count = sum(p.numel() for p in model.policy.parameters())
    assert count == policy_io.num_parameters(meta["policy"], model.observation_space, model.action_space)
    assert count < policy_io.MAX_PARAMETERS // 100


def test_the_shipped_role_policies_load_verify_and_are_listed():
    from agents.pretrained import names, role
    from agents.rllib_policy import WorldRolePolicy, load_role_policy
    from vrenvs.envs.drivers import policy_names

    assert role_names() == ["rllib-Guard-Thief/guard", "rllib-Guard-Thief/thief"]
    assert set(role_names()) <= set(names()) and set(role_names()) <= set(policy_names())
    for name in role_names():
        policy, card = load_role_policy(PRETRAINED / name)  # checks the sha256, names, shapes, values
        assert isinstance(policy, WorldRolePolicy) and card["role"] == role(name) == name.split("/")[1]
        assert sum(p.numel() for p in policy.parameters()) < policy_io.MAX_PARAMETERS // 100


# --- audit round 2: cycles, the controller cache, files that are not regular files --------------


def _copy_policy(tmp_path: Path, name: str, shipped: str) -> Path:
    folder = tmp_path / name
    folder.mkdir()
    for file in ("policy.json", "policy.safetensors"):
        shutil.copy(PRETRAINED / shipped / file, folder / file)
    return folder


def _update_env_kwargs(folder: Path, **changes: Any) -> None:
    meta = json.loads((folder / "policy.json").read_text())
    meta["env_kwargs"].update(changes)
    meta["config_sha256"] = digest(meta, "config_sha256")
    (folder / "policy.json").write_text(json.dumps(meta))


def _self_cycle(tmp_path: Path) -> tuple[Path, list[Path]]:
    guard = _copy_policy(tmp_path, "guard", "ppo-NPC-Guard")
    _update_env_kwargs(guard, npcs=["guard"], npc_controllers={"guard": str(guard)})
    return guard, [guard, guard]


def _two_cycle(tmp_path: Path) -> tuple[Path, list[Path]]:
    guard = _copy_policy(tmp_path, "guard", "ppo-NPC-Guard")
    flee = _copy_policy(tmp_path, "flee", "ppo-NPC-Flee")
    _update_env_kwargs(guard, npcs=["critter"], npc_controllers={"critter": str(flee)})
    _update_env_kwargs(flee, npcs=["chaser", "guard"], npc_controllers={"guard": str(guard)})
    return guard, [guard, flee, guard]


AUDIT_CYCLES = [("self", _self_cycle), ("two policies", _two_cycle)]


@pytest.mark.parametrize("make", [c[1] for c in AUDIT_CYCLES], ids=[c[0] for c in AUDIT_CYCLES])
@pytest.mark.parametrize("how", ["load_policy", "seal", "gym.make", "controller"])
def test_audit_policies_loading_each_other_are_a_cycle_error(make, how, tmp_path):
    import gymnasium as gym

    from agents.pretrained import policy_controller

    start, cycle = make(tmp_path)
    calls = {
        "load_policy": lambda: load_policy(start),
        "seal": lambda: policy_io.seal(start),
        "gym.make": lambda: gym.make("vrenvs/Assistant-v0", npc_controllers={"guard": str(start)}),
        "controller": lambda: policy_controller(start),
    }
    with pytest.raises(ValueError) as info:
        calls[how]()
    message = str(info.value)
    assert "in a cycle: " + " -> ".join(str(p.resolve()) for p in cycle) in message, message
    assert policy_io._LOADING == []  # the loading stack is unwound


def test_audit_the_controller_cache_sees_replaced_files(tmp_path):
    from agents.pretrained import policy_controller

    folder = _copy_policy(tmp_path, "npc", "ppo-NPC-Guard")
    first = policy_controller(folder)
    assert policy_controller(folder) is first  # unchanged files: loaded once
    for file in ("policy.json", "policy.safetensors"):
        shutil.copy(PRETRAINED / "ppo-NPC-Flee" / file, folder / file)
    second = policy_controller(folder)
    assert second is not first
    assert second.meta["env_id"] == "vrenvs/NPC-Flee-v0" and first.meta["env_id"] == "vrenvs/NPC-Guard-v0"


def _zero_link(folder: Path, name: str) -> None:
    (folder / name).unlink()
    (folder / name).symlink_to("/dev/zero")


def _folder_instead(folder: Path, name: str) -> None:
    (folder / name).unlink()
    (folder / name).mkdir()


AUDIT_NOT_FILES = [
    ("policy.json -> /dev/zero", _zero_link, "policy.json", "a device, pipe or socket"),
    ("policy.safetensors -> /dev/zero", _zero_link, "policy.safetensors", "a device, pipe or socket"),
    ("policy.json a folder", _folder_instead, "policy.json", "a folder"),
    ("policy.safetensors a folder", _folder_instead, "policy.safetensors", "a folder"),
]


@pytest.mark.parametrize(
    ("spoil", "name", "kind"), [c[1:] for c in AUDIT_NOT_FILES], ids=[c[0] for c in AUDIT_NOT_FILES]
)
def test_audit_policy_files_that_are_not_regular_files_are_named(pol, spoil, name, kind):
    spoil(pol, name)
    with pytest.raises(PolicyFileError) as info:
        read_meta(pol)
    assert f"{pol / name} is not a regular file ({kind})" in str(info.value)


def test_audit_policy_env_kwargs_render_mode_is_not_used_to_load(pol):
    edit_json(pol / "policy.json", "env_kwargs.render_mode", "human", reseal=True)
    assert policy_io.acting_kwargs(read_meta(pol)["env_kwargs"]) == {
        "scenes": "vqvae",
        "route": True,
        "shaping": 1.0,
    }
    assert load_policy(pol).get_env().venv.render_mode is None


# --- audit round 2: the learned scene source's arguments, special files, reloading ----------

AUDIT_SOURCE_ARGS = [
    ({"bank_size": 10**6}, ValueError, "bank_size=1000000 is out of range; allowed: an integer in [1, 4096]"),
    ({"bank_size": 4097}, ValueError, "bank_size=4097 is out of range"),
    ({"bank_size": 0}, ValueError, "bank_size=0 is out of range"),
    ({"bank_size": "16"}, TypeError, "bank_size='16' must be an integer in [1, 4096]"),
    ({"bank_size": None}, TypeError, "bank_size=None must be an integer"),
    ({"bank_size": float("nan")}, TypeError, "bank_size=nan must be an integer"),
    ({"bank_size": 2.5}, TypeError, "bank_size=2.5 must be an integer"),
    ({"bank_size": True}, TypeError, "bank_size=True must be an integer"),
    ({"size": "16"}, TypeError, "size='16' must be an integer"),
    ({"size": 16.0}, TypeError, "size=16.0 must be an integer"),
    ({"size": 32}, ValueError, "16x16 scenes only, not 32x32"),
    ({"checkpoint": 5}, TypeError, "checkpoint=5 must be the path of a generator checkpoint"),
    ({"checkpoint": b"vae.json"}, TypeError, "checkpoint=b'vae.json' must be the path"),
    ({"checkpoint": ["vae.json"]}, TypeError, "checkpoint=['vae.json'] must be the path"),
    ({"checkpoint": ""}, ValueError, "checkpoint='' is empty"),
]


@pytest.mark.parametrize(
    ("kwargs", "error", "message"), AUDIT_SOURCE_ARGS, ids=[repr(c[0]) for c in AUDIT_SOURCE_ARGS]
)
def test_audit_generator_source_arguments_are_refused_by_name(kwargs, error, message, monkeypatch):
    import generators.source

    monkeypatch.setattr(generators.source, "load_checkpoint", _no_load)
    with pytest.raises(error) as caught:
        generators.source.GeneratorSource("vae", **kwargs)
    assert message in str(caught.value)


def _no_load(*args: Any, **kwargs: Any) -> Any:
    raise AssertionError("the checkpoint was loaded before the arguments were checked")


def test_audit_the_largest_bank_and_numpy_sizes_still_work():
    import numpy as np

    from generators.source import MAX_BANK_SIZE, GeneratorSource

    source = GeneratorSource("vae", size=np.int64(16), bank_size=np.int32(MAX_BANK_SIZE))
    assert source.bank_size == MAX_BANK_SIZE == 4096 and isinstance(source.bank_size, int)


@pytest.mark.parametrize("which", ["json", "safetensors"])
def test_audit_a_checkpoint_file_that_is_a_device_is_not_a_regular_file(gen, which):
    config, weights = gen
    target = config if which == "json" else weights
    target.unlink()
    target.symlink_to("/dev/zero")
    what = "generator checkpoint config" if which == "json" else "generator weights"
    started = time.perf_counter()
    with pytest.raises(CheckpointError, match=rf"{what} {target} is not a regular file"):
        load_checkpoint(config)
    assert time.perf_counter() - started < 5


def test_audit_the_generators_checkpoint_option_names_a_device(gen, capsys):
    from generators.cli import main

    config, _ = gen
    config.unlink()
    config.symlink_to("/dev/zero")
    with pytest.raises(SystemExit) as stop:
        main(["sample", "--model", "vae", "--checkpoint", str(config)])
    assert stop.value.code == 2
    err = capsys.readouterr().err
    assert "--checkpoint" in err and f"{str(config)!r} is not a regular file" in err


def _halve(tensors: dict[str, Any]) -> None:
    tensors.update({k: v * 0.5 for k, v in tensors.items() if v.is_floating_point()})


def test_audit_a_checkpoint_rewritten_on_disk_is_loaded_again(gen):
    from generators.source import GeneratorSource

    config, weights = gen
    first = GeneratorSource("vae", checkpoint=config)
    assert GeneratorSource("vae", checkpoint=config).model is first.model  # unchanged: shared
    scale = first.model.config.latent_scale
    edit_json(config, "model.latent_scale", scale / 2)
    ckpt.seal(config)
    second = GeneratorSource("vae", checkpoint=config)
    assert second.model.config.latent_scale == scale / 2 and second.checkpoint != first.checkpoint
    rewrite_tensors(weights, _halve)
    ckpt.seal(config)
    third = GeneratorSource("vae", checkpoint=config)
    assert third.model is not second.model and third.checkpoint != second.checkpoint
