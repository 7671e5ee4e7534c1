"""Keep optional heavy dependencies of our dependencies out of processes that never use them.

spaCy's thinc imports torch whenever torch is installed (about 1.5 s and 190 MB), and
scikit-learn imports pandas (and with it pyarrow) whenever pandas is installed, though a
sentencizer and a TF-IDF model need neither. Both libraries import these optionally (``try:
import ... except ImportError``), so hiding a module that is not loaded yet while they import
makes them go without it; ``import torch`` elsewhere still works afterwards.
"""

from __future__ import annotations

import sys
from contextlib import contextmanager
from typing import Iterator


@contextmanager
def hidden(*names: str) -> Iterator[None]:
    """Inside the block, ``import NAME`` fails for each named module not already loaded."""
    hide = [n for n in names if n not in sys.modules]
    for name in hide:
        sys.modules[name] = None  # the import system raises ImportError for a None entry
    try:
        yield
    finally:
        for name in hide:
            if name in sys.modules and sys.modules[name] is None:
                del sys.modules[name]
