"""The ``interchem`` command: thin, one module per command group.

Each module parses and validates its options, calls a Maker or a runner function, and prints. The
app, consoles and error handler live in ``common``; importing a module registers its commands.
"""

from __future__ import annotations

import sys

from interchem.cli import amorphous as amorphous  # noqa: F401  (amorphous, lithiation)
from interchem.cli import export as export  # noqa: F401  (export)
from interchem.cli import finetune as finetune  # noqa: F401  (finetune)
from interchem.cli import interfaces as interfaces  # noqa: F401  (interface)
from interchem.cli import kinetics as kinetics  # noqa: F401  (barriers, diffusion, phonons)
from interchem.cli import remote as remote  # noqa: F401  (remote-project, submit, results, fireworks)
from interchem.cli import screen as screen  # noqa: F401  (screen, tieline, report, phases, calculators)
from interchem.cli import status as status  # noqa: F401  (status)
from interchem.cli import store as store  # noqa: F401  (store check, store repair, store clean)
from interchem.cli.common import app

__all__ = ["app"]

if __name__ == "__main__":  # pragma: no cover
    sys.exit(app())
