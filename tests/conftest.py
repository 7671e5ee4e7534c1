from __future__ import annotations

import shutil
from pathlib import Path

import pytest

FIXTURES = Path(__file__).parent / "fixtures"
MINI = FIXTURES / "mini"


@pytest.fixture()
def mini(tmp_path) -> Path:
    """A private copy of the tiny fixture study (5 interviews, 7 codes, two coders)."""
    dest = tmp_path / "mini"
    shutil.copytree(MINI, dest)
    return dest


@pytest.fixture(scope="session")
def mini_model(tmp_path_factory) -> Path:
    """A TF-IDF model trained on the fixture study (made once per test session)."""
    from autocode.training import train

    out = tmp_path_factory.mktemp("models") / "mini-tfidf"
    train(MINI, out, "tfidf", folds=2)
    return out


@pytest.fixture()
def mini_codebook():
    from autocode.codebook import load_codebook

    return load_codebook(MINI / "codebook.yaml")
