"""Pictures of the world: sprites, atlas and bitmap font, frames as a pure function of the
state (numpy only), the overlays' text and paths (``hud``), and the pygame window (``viewer``,
which imports pygame when it opens)."""
