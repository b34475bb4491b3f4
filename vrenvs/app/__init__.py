"""What a person runs: the ``vrenvs`` command line, the play and watch windows, recordings,
galleries and the demo (the main job)."""
