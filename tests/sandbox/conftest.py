import os
import sys

# The repository root on sys.path makes `tests.support` importable without a tests/__init__.py.
_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
if _ROOT not in sys.path:
    sys.path.insert(0, _ROOT)
