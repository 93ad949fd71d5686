"""Where the tests find things, relative to the repository (never an absolute path of one machine).

``REFERENCE`` is the reference data beside the repository (``../shared/reference``); tests that need it
skip with a reason where a checkout has none.
"""

from pathlib import Path

TESTS = Path(__file__).resolve().parent
ROOT = TESTS.parent
FIXTURES = TESTS / "fixtures"
VALIDATION = ROOT / "validation"
SRC = ROOT / "src" / "interchem"
REFERENCE = ROOT.parent / "shared" / "reference"
