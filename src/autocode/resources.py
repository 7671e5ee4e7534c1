"""Where the shipped codebooks and models live, in a source checkout or an installed wheel."""

from __future__ import annotations

from pathlib import Path

_PACKAGE_DATA = Path(__file__).resolve().parent / "_data"
_REPO_ROOT = Path(__file__).resolve().parents[2]

DEFAULT_CODEBOOK = "configs/codebooks/nhs_leadership.yaml"
DEFAULT_MODEL = "models/tfidf-default"


def data_path(relative: str) -> Path:
    """Return the shipped file ``relative`` (e.g. ``configs/codebooks/x.yaml``)."""
    for base in (_REPO_ROOT, _PACKAGE_DATA):
        candidate = base / relative
        if candidate.exists():
            return candidate
    return _REPO_ROOT / relative


def default_codebook_path() -> Path:
    return data_path(DEFAULT_CODEBOOK)


def default_model_path() -> Path:
    return data_path(DEFAULT_MODEL)
