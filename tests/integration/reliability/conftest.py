import sys
from pathlib import Path

# The repository root on sys.path makes `tests.support` importable without a tests/__init__.py.
_ROOT = str(Path(__file__).resolve().parents[3])
if _ROOT not in sys.path:
    sys.path.insert(0, _ROOT)

from tests.support.databases import *  # noqa: E402, F403
