"""Contract: a saved policy loads back to the very policy that was saved.

The loaded model is compared with the ORIGINAL model's outputs and tensors, snapshotted
before saving (so a save that alters or zeroes the model in memory cannot hide), never with
another load of the same folder.
"""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("stable_baselines3")
torch = pytest.importorskip("torch")

from safetensors.torch import load_file  # noqa: E402

from agents.policy_io import build_model, load_policy, read_meta, save_policy  # noqa: E402
from agents.vec_env import make_vec_env  # noqa: E402

ENV_ID = "vrenvs/Assistant-Fetch-v0"
ENV_KWARGS = {"scenes": "designer"}
POLICY = {"features_dim": 16, "channels": 4, "net_arch": [16]}
PPO_ARGS = {"n_steps": 32, "batch_size": 32, "n_epochs": 1}
META = {"env_id": ENV_ID, "env_kwargs": ENV_KWARGS, "policy": POLICY}


def _outputs(model, obs) -> dict[str, np.ndarray]:
    """Deterministic actions, action probabilities and values of ``model`` on ``obs``."""
    actions, _ = model.predict(obs, deterministic=True)
    with torch.no_grad():
        tensor = model.policy.obs_to_tensor(obs)[0]
        probs = model.policy.get_distribution(tensor).distribution.probs.numpy().copy()
        values = model.policy.predict_values(tensor).numpy().copy()
    return {"actions": np.asarray(actions).copy(), "probs": probs, "values": values}


@pytest.fixture(scope="module")
def trained():
    """A tiny PPO after one short update, a batch of real observations, and snapshots of
    its outputs and tensors taken before anything is saved."""
    model = build_model(ENV_ID, ENV_KWARGS, POLICY, PPO_ARGS, seed=0)
    model.learn(32)
    venv = make_vec_env(ENV_ID, 4, seed=3, **ENV_KWARGS)
    obs = venv.reset()
    rng = np.random.default_rng(0)
    for _ in range(5):  # a few varied observations: not only first frames
        obs, *_ = venv.step(rng.integers(0, 9, size=4))
    snapshot = {k: v.detach().clone() for k, v in model.policy.state_dict().items()}
    return model, obs, _outputs(model, obs), snapshot


def test_loaded_policy_acts_like_the_original(trained, tmp_path):
    model, obs, before, snapshot = trained
    folder = save_policy(model, tmp_path / "policy", META)
    loaded = load_policy(folder)
    after = _outputs(loaded, obs)
    np.testing.assert_array_equal(after["actions"], before["actions"])
    np.testing.assert_allclose(after["probs"], before["probs"], rtol=0, atol=1e-6)
    np.testing.assert_allclose(after["values"], before["values"], rtol=0, atol=1e-6)
    # the originals are not degenerate, so equal outputs mean something
    assert np.ptp(before["values"]) > 0 or np.abs(before["values"]).max() > 1e-3
    assert np.abs(before["probs"] - 1 / 9).max() > 1e-6, "not a uniform policy"
    loaded_state = loaded.policy.state_dict()
    assert set(loaded_state) == set(snapshot)
    for name, tensor in snapshot.items():
        assert torch.equal(loaded_state[name], tensor), name
    assert loaded.num_timesteps == model.num_timesteps == 32


def test_saved_weights_are_the_models_tensors(trained, tmp_path):
    model, _, _, snapshot = trained
    folder = save_policy(model, tmp_path / "policy", META)
    saved = load_file(str(folder / "policy.safetensors"))
    assert saved, "no tensors saved"
    for name, tensor in saved.items():
        assert name in snapshot, f"unknown tensor {name}"
        assert torch.equal(tensor, snapshot[name]), name
    # every tensor of the policy is stored (one shared by actor and critic under one name)
    live = model.policy.state_dict()
    covered = {live[name].data_ptr() for name in saved}
    missing = [name for name, tensor in live.items() if tensor.data_ptr() not in covered]
    assert not missing, f"tensors not saved: {missing}"
    weights = [t for name, t in saved.items() if name.endswith("weight")]
    assert weights and all(bool(t.abs().sum() > 0) for t in weights), "all-zero weights saved"
    meta = read_meta(folder)
    assert meta["env_id"] == ENV_ID and meta["num_timesteps"] == 32
