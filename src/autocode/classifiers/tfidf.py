"""TF-IDF baseline: word and character n-grams, one logistic regression per code.

Weights are stored as JSON (vocabularies, parameters) and a NumPy ``.npz`` read with
``allow_pickle=False``: nothing is unpickled when a model is loaded.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Sequence

import numpy as np
import scipy.sparse as sp

from autocode.lazy import hidden

with hidden("pandas", "pyarrow"):  # scikit-learn would import them (2 s) when installed
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

from autocode.classifiers.linear import fit_one_vs_rest, sigmoid_scores, text_only
from autocode.errors import AutocodeError

PARAMS_FILE = "tfidf.json"
WEIGHTS_FILE = "tfidf_weights.npz"


class TfidfClassifier:
    def __init__(
        self,
        word_ngrams: tuple[int, int] = (1, 2),
        char_ngrams: tuple[int, int] = (2, 5),
        max_word_features: int = 20000,
        max_char_features: int = 30000,
        min_df: int = 2,
        C: float = 4.0,
        class_weight: str | None = "balanced",
        seed: int = 0,
    ):
        self.word_ngrams = tuple(word_ngrams)
        self.char_ngrams = tuple(char_ngrams)
        self.max_word_features = max_word_features
        self.max_char_features = max_char_features
        self.min_df = min_df
        self.C = C
        self.class_weight = class_weight
        self.seed = seed

    def params(self) -> dict:
        return {
            "word_ngrams": list(self.word_ngrams), "char_ngrams": list(self.char_ngrams),
            "max_word_features": self.max_word_features, "max_char_features": self.max_char_features,
            "min_df": self.min_df, "C": self.C, "class_weight": self.class_weight, "seed": self.seed,
        }

    def _vectorizers(self, n_texts: int, vocab=(None, None)) -> list[TfidfVectorizer]:
        min_df = self.min_df if n_texts >= 2 * self.min_df else 1
        common = dict(sublinear_tf=True, lowercase=True, min_df=min_df, dtype=np.float32)
        word = TfidfVectorizer(analyzer="word", ngram_range=self.word_ngrams, max_features=self.max_word_features,
                               token_pattern=r"(?u)\b\w[\w']*\b", vocabulary=vocab[0], **common)
        char = TfidfVectorizer(analyzer="char_wb", ngram_range=self.char_ngrams,
                               max_features=self.max_char_features, vocabulary=vocab[1], **common)
        return [word, char]

    def _features(self, texts: Sequence[str]) -> sp.csr_matrix:
        return sp.hstack([v.transform(texts) for v in self.vectorizers_], format="csr")

    def fit(self, texts: Sequence[str], Y: np.ndarray, groups=None, progress=None) -> "TfidfClassifier":
        texts = text_only(texts)
        Y = np.asarray(Y, dtype=bool)
        if len(texts) != Y.shape[0] or len(texts) == 0:
            raise AutocodeError("training needs as many label rows as texts, and at least one text")
        self.vectorizers_ = self._vectorizers(len(texts))
        X = sp.hstack([v.fit_transform(texts) for v in self.vectorizers_], format="csr")
        coef, intercept = fit_one_vs_rest(X, Y, lambda: LogisticRegression(
            C=self.C, class_weight=self.class_weight, solver="liblinear", random_state=self.seed, max_iter=200))
        self.coef_, self.intercept_ = coef, intercept
        return self

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        if not hasattr(self, "coef_"):
            raise AutocodeError("the TF-IDF classifier is not trained; call fit() or load a model")
        texts = text_only(texts)
        if not texts:
            return np.zeros((0, len(self.intercept_)))
        return sigmoid_scores(self._features(texts), self.coef_, self.intercept_)

    def save(self, directory: Path) -> list[str]:
        directory = Path(directory)
        vocab = [{k: int(i) for k, i in v.vocabulary_.items()} for v in self.vectorizers_]
        payload = {"params": self.params(), "vocabularies": vocab}
        (directory / PARAMS_FILE).write_text(json.dumps(payload, ensure_ascii=False, sort_keys=True), encoding="utf-8")
        with open(directory / WEIGHTS_FILE, "wb") as fh:
            np.savez_compressed(fh, coef=self.coef_, intercept=self.intercept_,
                                idf_word=self.vectorizers_[0].idf_, idf_char=self.vectorizers_[1].idf_)
        return [PARAMS_FILE, WEIGHTS_FILE]

    @classmethod
    def load(cls, directory: Path) -> "TfidfClassifier":
        directory = Path(directory)
        try:
            payload = json.loads((directory / PARAMS_FILE).read_text(encoding="utf-8"))
            weights = np.load(directory / WEIGHTS_FILE, allow_pickle=False)
            self = cls(**payload["params"])
            self.vectorizers_ = self._vectorizers(0, vocab=tuple(payload["vocabularies"]))
            self.vectorizers_[0].idf_ = weights["idf_word"]
            self.vectorizers_[1].idf_ = weights["idf_char"]
            self.coef_, self.intercept_ = weights["coef"], weights["intercept"]
        except (OSError, KeyError, ValueError, TypeError) as exc:
            raise AutocodeError(f"TF-IDF weights cannot be read ({exc}); retrain the model", directory) from None
        return self
