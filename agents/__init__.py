"""stable-baselines3 glue and trained policies for the assistant and NPC roles.

Planned (see the agents issue): a ``VecEnv`` adapter over the native vector env, a features
extractor for the symbolic views, train / eval / watch commands and shipped policies.
"""
