"""Learned scene generators (GAN, VAE, VAE-GAN) behind the ``SceneSource`` protocol.

- :mod:`generators.data`: the corpus (designer + procedural 16x16 scenes, split, manifest).
- :mod:`generators.models`: the three models (all emit ``(B, 30, 16, 16)`` logits) and the
  training-only critic; :mod:`generators.objectives`: one optimisation step per model.
- :mod:`generators.train`: ``python -m generators train gan|vae|vaegan``.
- :mod:`generators.checkpoint`: weights-only checkpoints (safetensors + JSON config).
- :mod:`generators.sampling`: seeded latents -> decoded grids -> repair.
- :mod:`generators.source`: :class:`~generators.source.GeneratorSource`, the ``gan`` /
  ``vae`` / ``vaegan`` scene sources; :mod:`generators.registry`: their torch-free factories.
- :mod:`generators.latent`: interpolation and CMA-ES latent search.
- :mod:`generators.report`: the report card; :mod:`generators.metrics`: its measures.

Importing this package does not import torch.
"""
