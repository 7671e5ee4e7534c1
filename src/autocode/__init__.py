"""autocode: an offline auto-coder for qualitative interview research.

The library mirrors the command line; see ``autocode.pipeline`` for ``run``, ``train``,
``grade_study`` and ``agree``.
"""

__version__ = "0.1.0"

from autocode.errors import AutocodeError  # noqa: E402

__all__ = ["AutocodeError", "__version__"]
