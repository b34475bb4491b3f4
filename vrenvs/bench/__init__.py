"""The benchmark: vrenvs side by side with MiniGrid in one run, reported as ratios."""
