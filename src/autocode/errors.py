"""The one exception type that the CLI turns into a one-line ``Error: ...`` and exit code 1."""

from __future__ import annotations

from pathlib import Path


class AutocodeError(Exception):
    """Bad input or a failed precondition, described for the person who can fix it.

    The message names the file (when there is one), what was expected and how to fix it.
    """

    def __init__(self, message: str, path: str | Path | None = None):
        self.path = None if path is None else Path(path)
        text = f"{self.path}: {message}" if self.path is not None else message
        super().__init__(" ".join(text.split()))


def pydantic_problem(exc: Exception) -> str:
    """Summarise a pydantic ValidationError as 'key.path: message; ...'."""
    errors = getattr(exc, "errors", None)
    if errors is None:
        return str(exc)
    parts = []
    for err in errors()[:5]:
        where = ".".join(str(p) for p in err.get("loc", ())) or "(top level)"
        parts.append(f"{where}: {err.get('msg', 'invalid')}")
    return "; ".join(parts)
