"""vrenvs: Gymnasium environments of generated 2D tile worlds with a user, an assistant and NPCs.

Importing this package registers the env ids (``vrenvs/<Name>-v0``)::

    import gymnasium as gym
    import vrenvs  # noqa: F401

    env = gym.make("vrenvs/Assistant-Fetch-v0")
"""

from vrenvs.envs.registration import ENVS, env_ids, register_envs

__version__ = "0.1.0"
__all__ = ["ENVS", "__version__", "env_ids"]

register_envs()
