"""``python -m generators ...``: see :mod:`generators.cli`."""

from generators.cli import main

raise SystemExit(main())
