"""``python -m vrenvs ...``: the ``vrenvs`` command (:mod:`vrenvs.app.cli`)."""

from vrenvs.app.cli import main

raise SystemExit(main())
