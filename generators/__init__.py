"""Learned scene generators (GAN, VAE, VAE-GAN) behind the ``SceneSource`` protocol.

Planned (see the generators issue): models, training scripts, shipped weights and the
``gan`` / ``vae`` / ``vaegan`` sources registered with :func:`vrenvs.core.sources.register_source`.
"""
