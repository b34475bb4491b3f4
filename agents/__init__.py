"""stable-baselines3 glue and trained policies for the assistant and NPC roles.

- :mod:`agents.vec_env`: ``make_vec_env`` / ``VrenvsVecEnv``, an SB3 ``VecEnv`` over the
  native vector env; :mod:`agents.features`: the features extractor for symbolic views.
- ``vrenvs train`` / ``vrenvs eval`` (:mod:`agents.train`, :mod:`agents.evaluate`), the demo
  (:mod:`agents.demo`), shipping (:mod:`agents.ship`) and the results table
  (:mod:`agents.results`).
- :mod:`agents.pretrained`: the shipped policies (``ppo-<Env name>``), loaded from
  safetensors and JSON by :mod:`agents.policy_io` (nothing is unpickled).
"""
