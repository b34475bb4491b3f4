"""The Gymnasium face: the single env (a batch of one), the native vector env, their spaces,
the env classes generated from the task specs, and registration."""
