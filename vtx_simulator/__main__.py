"""``python -m vtx_simulator``."""

from vtx_simulator.cli import main

raise SystemExit(main())
