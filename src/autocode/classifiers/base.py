"""The Classifier protocol, model directories and per-code decision thresholds.

Every classifier implements ``fit(texts, Y) -> self``, ``predict_proba(texts)`` returning an
(n_segments, n_codes) array in codebook order, ``save(dir)`` and ``load(dir)``; ``__init__``
only stores parameters. A *model directory* holds the classifier's weights (in a safe format)
and ``model.json``: type, codes, codebook hash, autocode version, thresholds, training
configuration, metrics and a SHA-256 checksum of every weight file.
"""

from __future__ import annotations

import hashlib
import importlib
import inspect
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, Sequence, runtime_checkable

import numpy as np

from autocode import __version__
from autocode.codebook import Codebook
from autocode.errors import AutocodeError
from autocode.io.atomic import write_json

FORMAT_VERSION = 1
PICKLE_SUFFIXES = {".pkl", ".pickle", ".joblib", ".pt", ".pth", ".ckpt"}
"""Weight formats that unpickle (and so can run code) when loaded: refused in any model folder."""
META_FILE = "model.json"
_REGISTRY = {
    "tfidf": "autocode.classifiers.tfidf:TfidfClassifier",
    "transformer": "autocode.classifiers.transformer:TransformerClassifier",
    "zeroshot": "autocode.classifiers.zeroshot:ZeroShotClassifier",
    "fewshot": "autocode.classifiers.zeroshot:FewShotClassifier",
}
DEFAULT_FOLDS = {"transformer": 0}  # fine-tuning tunes thresholds on its own grouped validation split


@runtime_checkable
class Classifier(Protocol):
    def fit(self, texts: Sequence[str], Y: np.ndarray, groups: Sequence[str] | None = None,
            progress=None) -> "Classifier":
        """Learn from texts (or (text, context) pairs) and a boolean label matrix in codebook
        order. ``groups`` (the transcript of each text) lets a model keep interviews together
        when it splits off validation data; models that need no split ignore it."""
        ...

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray: ...

    def save(self, directory: Path) -> list[str]:
        """Write weights into ``directory``; return the file names written."""
        ...

    @classmethod
    def load(cls, directory: Path) -> "Classifier": ...


def available_types() -> list[str]:
    return sorted(_REGISTRY)


def _class_for(kind: str):
    if kind not in _REGISTRY:
        raise AutocodeError(f"unknown model type {kind!r}; choose one of {', '.join(available_types())}")
    module, name = _REGISTRY[kind].split(":")
    try:
        return getattr(importlib.import_module(module), name)
    except ModuleNotFoundError as exc:
        raise AutocodeError(
            f"model type {kind!r} needs the package {exc.name!r}; install autocode with its extras "
            "(see README, Quick start)"
        ) from None


def make_classifier(kind: str, codebook: Codebook | None = None, **params: Any) -> Classifier:
    """A new, untrained classifier of ``kind``; models that read code definitions get them."""
    cls = _class_for(kind)
    accepted = inspect.signature(cls.__init__).parameters
    if "descriptions" in accepted and codebook is not None and "descriptions" not in params:
        from autocode.classifiers.zeroshot import code_descriptions

        params["descriptions"] = code_descriptions(codebook)
    unknown = [k for k in params if k not in accepted]
    if unknown:
        raise AutocodeError(f"model type {kind!r} has no parameter {', '.join(unknown)}")
    return cls(**params)


def model_inputs(classifier: Classifier, segments) -> list:
    """What a classifier reads per segment: the text, or (text, interviewer context) pairs."""
    if getattr(classifier, "context", False):
        return [(s.text, s.context or "") for s in segments]
    return [s.text for s in segments]


@dataclass
class Model:
    """A classifier with what it needs to code: its codebook's codes and decision thresholds."""

    kind: str
    classifier: Classifier
    codes: list[str]
    thresholds: np.ndarray
    meta: dict[str, Any] = field(default_factory=dict)

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        return self.classifier.predict_proba(texts)

    def scores(self, segments: Sequence, codebook: Codebook) -> np.ndarray:
        """Probabilities of ``segments`` in codebook order, closed up the hierarchy (a code at
        least as likely as the likeliest code below it), as every coding path uses them."""
        if not len(segments):
            return np.zeros((0, len(codebook)))
        return codebook.closure_max(self.predict_proba(model_inputs(self.classifier, segments)))

    def decide(self, P: np.ndarray, codebook: Codebook) -> np.ndarray:
        return decide(P, self.thresholds, codebook)

    def save(self, directory: str | Path, codebook: Codebook) -> None:
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        files = self.classifier.save(directory)
        meta = dict(self.meta)
        meta.pop("created", None)  # no wall-clock time: the same training gives the same bytes
        meta.update(
            format_version=FORMAT_VERSION,
            type=self.kind,
            autocode_version=__version__,
            codebook={"name": codebook.name, "hash": codebook.structure_hash(), "codes": list(self.codes)},
            thresholds=[round(float(t), 6) for t in self.thresholds],
            files={name: _sha256(directory / name) for name in sorted(files)},
        )
        write_json(directory / META_FILE, meta)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def read_meta(directory: Path) -> dict[str, Any]:
    path = directory / META_FILE
    if not directory.is_dir():
        raise AutocodeError("model folder not found; pass a folder made by 'autocode train'", directory)
    if not path.is_file():
        raise AutocodeError(f"not an autocode model folder: {META_FILE} is missing; train one with 'autocode train'", directory)
    try:
        meta = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise AutocodeError("model metadata is not valid JSON; the model folder is damaged, retrain it", path) from None
    if not isinstance(meta, dict) or meta.get("format_version") != FORMAT_VERSION:
        raise AutocodeError(
            f"unknown model format version {meta.get('format_version') if isinstance(meta, dict) else None!r} "
            f"(this autocode reads version {FORMAT_VERSION}); retrain the model with this version",
            path,
        )
    return meta


def verify_files(directory: Path, meta: dict[str, Any]) -> None:
    files = meta.get("files")
    if not isinstance(files, dict) or not files:
        raise AutocodeError("model metadata lists no weight files; retrain the model", directory / META_FILE)
    for name, digest in files.items():
        path = directory / name
        if Path(name).suffix.lower() in PICKLE_SUFFIXES:
            raise AutocodeError(f"model file {name!r} is a pickle, which autocode never loads (it can run code); "
                                "retrain the model with 'autocode train'", directory)
        if Path(name).name != name or not path.is_file():
            raise AutocodeError(f"model file {name!r} is missing; the model folder is incomplete, retrain or restore it", directory)
        if _sha256(path) != digest:
            raise AutocodeError(f"model file {name!r} does not match its checksum; it was changed or damaged", directory)


def load_model(directory: str | Path, codebook: Codebook) -> Model:
    """Load a model folder, refusing one made for another codebook or with altered files."""
    directory = Path(directory)
    meta = read_meta(directory)
    codes = meta.get("codebook", {}).get("codes", [])
    codebook.check_compatible(codes, f"model {directory}")
    verify_files(directory, meta)
    classifier = _class_for(meta.get("type", "")).load(directory)
    thresholds = np.asarray(meta.get("thresholds", []), dtype=float)
    if thresholds.shape != (len(codes),):
        raise AutocodeError("model thresholds do not match its codes; retrain the model", directory / META_FILE)
    return Model(meta["type"], classifier, list(codes), thresholds, meta)


def decide(P: np.ndarray, thresholds: np.ndarray, codebook: Codebook) -> np.ndarray:
    """Binary codes from probabilities: per-code thresholds, then closed up the hierarchy."""
    return codebook.closure(np.asarray(P) >= thresholds[None, :])


def tune_thresholds(Y: np.ndarray, P: np.ndarray, grid: np.ndarray | None = None, shrink: float = 0.0) -> np.ndarray:
    """Per code, the threshold that maximises F1 of ``P >= t`` against ``Y``.

    Codes without positives get a threshold above 1 (never predicted). Ties take the
    threshold closest to 0.5. With ``shrink`` = k > 0 each threshold is pulled toward the one
    threshold best for all codes together (highest mean F1): ``(n * t_code + k * t_all) / (n + k)``,
    n the code's positives; codes without positives get ``t_all``. For small tuning sets, where a
    code's own optimum rests on a handful of segments (docs/transformer-experiments.md).
    """
    grid = np.round(np.arange(0.02, 0.99, 0.01), 2) if grid is None else grid
    Y = np.asarray(Y, dtype=bool)
    out = np.empty(Y.shape[1])
    for j in range(Y.shape[1]):
        positives = Y[:, j].sum()
        if positives == 0:
            out[j] = 1.01
            continue
        pred = P[:, j][None, :] >= grid[:, None]
        tp = (pred & Y[:, j]).sum(axis=1)
        f1 = 2 * tp / (pred.sum(axis=1) + positives)
        best = np.flatnonzero(f1 >= f1.max() - 1e-12)
        out[j] = grid[best[np.argmin(np.abs(grid[best] - 0.5))]]
    if shrink <= 0:
        return out
    n = Y.sum(axis=0)
    return (n * np.minimum(out, 1.0) + shrink * _common_threshold(Y, P, grid)) / (n + shrink)


def _common_threshold(Y: np.ndarray, P: np.ndarray, grid: np.ndarray) -> float:
    """The single threshold with the highest mean per-code F1 (codes neither coded nor predicted skipped)."""
    means = []
    for t in grid:
        pred = np.asarray(P) >= t
        den = pred.sum(axis=0) + Y.sum(axis=0)
        f1 = 2 * (pred & Y).sum(axis=0) / np.maximum(den, 1)
        means.append(f1[den > 0].mean() if (den > 0).any() else 0.0)
    return float(grid[int(np.argmax(means))])
