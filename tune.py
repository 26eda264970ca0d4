#!/usr/bin/env python
"""Run a raytrack sweep: ``python tune.py [space.yaml] [raytrack tune options]``.

Without a file it runs the embedded default, ``search_spaces/quickstart.yaml``: a small real
sweep (ASHA + Optuna) of the Exa.TrkX interaction GNN on simulated events, on a local Ray.
The same file runs on a cluster with ``RAY_ADDRESS`` set or through ``ray job submit``.
"""

import sys
from pathlib import Path

from raytrack.cli import main

QUICKSTART = Path(__file__).resolve().parent / "search_spaces" / "quickstart.yaml"

if __name__ == "__main__":
    args = sys.argv[1:]
    if not args or args[0].startswith("-"):
        args = [str(QUICKSTART), *args]
    sys.exit(main(["tune", *args]))
