"""Coding from the codebook alone (zero-shot), or from a handful of examples (few-shot).

Both embed segments with the same offline encoder as the transformer model (mean-pooled,
normalised). Zero-shot scores each segment by cosine similarity with a prototype per code, the
mean embedding of the code's label, definition, include note and examples, mapped to (0, 1)
by ``sigmoid(scale * (cosine - shift))``. Few-shot trains one logistic regression per code on
frozen embeddings of the coded segments, with the codebook's descriptions as extra examples.
"""

from __future__ import annotations

import hashlib
import json
from collections import OrderedDict
from pathlib import Path
from typing import Sequence

import numpy as np

from autocode.classifiers.encoder import PACKAGED, Item, embed, load_for_inference, resolve_base
from autocode.classifiers.linear import fit_one_vs_rest, sigmoid_scores, text_only
from autocode.errors import AutocodeError

CACHE_ENTRIES = 20_000  # embeddings kept for reuse (about 30 MB at 384 dimensions), least recently used dropped
_CACHE: OrderedDict[tuple, np.ndarray] = OrderedDict()


def code_descriptions(codebook) -> list[list[str]]:
    """Per code, in codebook order: 'label: definition', the include note and the examples."""
    out = []
    for code in codebook.codes:
        texts = [f"{code.label}: {code.definition}"]
        if code.include:
            texts.append(code.include)
        texts.extend(code.examples)
        out.append(texts)
    return out


def _fingerprint(base: str | None) -> str:
    weights = Path(resolve_base(base)) / "model.safetensors"
    if not weights.is_file():
        return ""
    digest = hashlib.sha256()
    with open(weights, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


class _Embedder:
    """Shared by both classifiers: loads the encoder once, caches segment embeddings, and saves
    the parameters (with the encoder's fingerprint) as JSON and the fitted arrays as .npz."""

    _files: tuple[str, str]  # (parameters .json, arrays .npz)
    _arrays: dict[str, str]  # fitted attribute -> its name in the .npz
    _unreadable: str  # what a load error says: "<model> cannot be read (...); <remedy>"

    def save(self, directory: Path) -> list[str]:
        params_file, arrays_file = self._files
        directory = Path(directory)
        (directory / params_file).write_text(
            json.dumps({**self.params(), "encoder_sha256": self.encoder_sha256_}, indent=1), encoding="utf-8")
        with open(directory / arrays_file, "wb") as fh:
            np.savez(fh, **{name: getattr(self, attr) for attr, name in self._arrays.items()})
        return [params_file, arrays_file]

    @classmethod
    def load(cls, directory: Path):
        params_file, arrays_file = cls._files
        directory = Path(directory)
        try:
            params = json.loads((directory / params_file).read_text(encoding="utf-8"))
            sha = params.pop("encoder_sha256", "")
            self = cls(**params)
            arrays = np.load(directory / arrays_file, allow_pickle=False)
            for attr, name in cls._arrays.items():
                setattr(self, attr, arrays[name])
        except (OSError, KeyError, ValueError, TypeError) as exc:
            raise AutocodeError(cls._unreadable.format(exc=exc), directory) from None
        self.encoder_sha256_ = sha
        self._check_encoder(directory)
        return self

    def _encoder(self):
        if not hasattr(self, "_loaded"):
            self._loaded = load_for_inference(self.base, self.device)
        return self._loaded

    def _embed(self, items: Sequence[Item]) -> np.ndarray:
        items = list(items)
        key = (resolve_base(self.base), self.max_length)
        unique = dict.fromkeys(items)
        found = {x: _CACHE.pop((key, x)) for x in unique if (key, x) in _CACHE}
        missing = [x for x in unique if x not in found]
        if missing:
            tokenizer, model = self._encoder()
            found.update(zip(missing, embed(tokenizer, model, missing, self.max_length, self.batch_size)))
        for x, vector in found.items():  # most recently used last
            _CACHE[(key, x)] = vector
        while len(_CACHE) > CACHE_ENTRIES:
            _CACHE.popitem(last=False)
        dim = self._encoder()[1].config.hidden_size if not items else None
        return np.array([found[x] for x in items]) if items else np.zeros((0, dim), dtype=np.float32)

    def _check_encoder(self, directory: Path) -> None:
        expected = getattr(self, "encoder_sha256_", "")
        if expected and _fingerprint(self.base) != expected:
            raise AutocodeError("the encoder this model was built on has changed; rebuild the model", directory)


class ZeroShotClassifier(_Embedder):
    _files = ("zeroshot.json", "prototypes.npz")
    _arrays = {"prototypes_": "prototypes"}
    _unreadable = "zero-shot model cannot be read ({exc}); rebuild it"

    def __init__(self, descriptions: list[list[str]] | None = None, base: str | None = PACKAGED,
                 shift: float = 0.3, scale: float = 20.0, max_length: int = 128, batch_size: int = 64,
                 device: str | None = None):
        self.descriptions = descriptions
        self.base = base
        self.shift = shift
        self.scale = scale
        self.max_length = max_length
        self.batch_size = batch_size
        self.device = device

    def params(self) -> dict:
        return {"descriptions": self.descriptions, "base": self.base, "shift": self.shift, "scale": self.scale,
                "max_length": self.max_length, "batch_size": self.batch_size}

    def fit(self, texts: Sequence[Item] = (), Y: np.ndarray | None = None, **_) -> "ZeroShotClassifier":
        """Build the code prototypes from the descriptions; training labels are not used."""
        if not self.descriptions:
            raise AutocodeError("zero-shot coding needs code descriptions from a codebook")
        prototypes = []
        for texts_of_code in self.descriptions:
            vectors = self._embed(texts_of_code)
            mean = vectors.mean(axis=0)
            prototypes.append(mean / max(np.linalg.norm(mean), 1e-9))
        self.prototypes_ = np.array(prototypes, dtype=np.float32)
        self.encoder_sha256_ = _fingerprint(self.base)
        return self

    def similarity(self, texts: Sequence[Item]) -> np.ndarray:
        if not hasattr(self, "prototypes_"):
            raise AutocodeError("the zero-shot classifier has no prototypes; call fit() or load a model")
        texts = text_only(texts)
        if not texts:
            return np.zeros((0, len(self.prototypes_)))
        return self._embed(texts) @ self.prototypes_.T

    def predict_proba(self, texts: Sequence[Item]) -> np.ndarray:
        return 1.0 / (1.0 + np.exp(-self.scale * (self.similarity(texts) - self.shift)))


class FewShotClassifier(_Embedder):
    _files = ("fewshot.json", "fewshot_head.npz")
    _arrays = {"coef_": "coef", "intercept_": "intercept"}
    _unreadable = "few-shot model cannot be read ({exc}); retrain it"

    def __init__(self, descriptions: list[list[str]] | None = None, base: str | None = PACKAGED, C: float = 1.0,
                 max_length: int = 128, batch_size: int = 64, seed: int = 0, device: str | None = None):
        self.descriptions = descriptions
        self.base = base
        self.C = C
        self.max_length = max_length
        self.batch_size = batch_size
        self.seed = seed
        self.device = device

    def params(self) -> dict:
        return {"descriptions": self.descriptions, "base": self.base, "C": self.C, "max_length": self.max_length,
                "batch_size": self.batch_size, "seed": self.seed}

    def fit(self, texts: Sequence[Item], Y: np.ndarray, **_) -> "FewShotClassifier":
        from sklearn.linear_model import LogisticRegression

        texts = text_only(texts)
        X, Y = self._embed(texts), np.asarray(Y, dtype=bool)
        for j, extra in enumerate(self.descriptions or []):  # the codebook's own words as examples
            X = np.vstack([X, self._embed(extra)])
            rows = np.zeros((len(extra), Y.shape[1]), dtype=bool)
            rows[:, j] = True
            Y = np.vstack([Y, rows])
        self.coef_, self.intercept_ = fit_one_vs_rest(X, Y, lambda: LogisticRegression(
            C=self.C, class_weight="balanced", max_iter=1000, random_state=self.seed))
        self.encoder_sha256_ = _fingerprint(self.base)
        return self

    def predict_proba(self, texts: Sequence[Item]) -> np.ndarray:
        if not hasattr(self, "coef_"):
            raise AutocodeError("the few-shot classifier is not trained; call fit() or load a model")
        texts = text_only(texts)
        if not texts:
            return np.zeros((0, len(self.intercept_)))
        return sigmoid_scores(self._embed(texts), self.coef_, self.intercept_)
