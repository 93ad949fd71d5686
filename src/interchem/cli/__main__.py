"""``python -m interchem.cli``: the same as the ``interchem`` command."""

from interchem.cli import app

app(prog_name="interchem")
