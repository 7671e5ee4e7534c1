"""One contract every classifier must keep; add each new model type to FACTORIES."""

import inspect

import numpy as np
import pytest

from autocode.classifiers.base import Model, load_model, tune_thresholds
from autocode.errors import AutocodeError
from tests.tiny_models import tiny_bert

DESCRIPTIONS = [["beds on the ward, trolleys"], ["savings, budget and cost"], ["we talked and listened over coffee"]]


def _tfidf():
    from autocode.classifiers.tfidf import TfidfClassifier

    return TfidfClassifier(seed=0)


def _transformer():
    from autocode.classifiers.transformer import TransformerClassifier

    return TransformerClassifier(base=tiny_bert(), epochs=10, lr=3e-3, batch_size=8, val_fraction=0.0, seed=0)


def _fewshot():
    from autocode.classifiers.zeroshot import FewShotClassifier

    return FewShotClassifier()  # the packaged MiniLM: frozen random weights would carry no meaning


def _zeroshot():
    from autocode.classifiers.zeroshot import ZeroShotClassifier

    return ZeroShotClassifier(DESCRIPTIONS)


FACTORIES = {"tfidf": _tfidf, "transformer": _transformer, "fewshot": _fewshot, "zeroshot": _zeroshot}
LEARNERS = ["tfidf", "transformer", "fewshot"]  # models that learn from labelled segments

WORDS = [["beds", "ward", "trolley"], ["savings", "budget", "cost"], ["talked", "listened", "coffee"]]


def toy_data(n=60, seed=0):
    rng = np.random.default_rng(seed)
    texts, Y = [], np.zeros((n, 3), dtype=bool)
    for i in range(n):
        k = i % 3
        Y[i, k] = True
        filler = " ".join(rng.choice(["the", "we", "then", "it", "was", "a", "and"], size=5))
        texts.append(f"{filler} {rng.choice(WORDS[k])} {filler}")
    return texts, Y


@pytest.fixture(params=sorted(FACTORIES))
def factory(request):
    return FACTORIES[request.param]


@pytest.fixture(params=LEARNERS)
def learner(request):
    return FACTORIES[request.param]


def test_init_only_stores_parameters(factory):
    clf = factory()
    fitted = [k for k in vars(clf) if k.endswith("_") and not k.startswith("_")]
    assert fitted == []
    params = inspect.signature(type(clf).__init__).parameters
    for name in params:
        if name != "self":
            assert hasattr(clf, name)


def test_fit_returns_self_and_probabilities_in_range(factory):
    texts, Y = toy_data()
    clf = factory()
    assert clf.fit(texts, Y) is clf
    P = clf.predict_proba(["the beds on the ward", "a savings budget", "we talked and listened"])
    assert P.shape == (3, 3)
    assert np.all((P >= 0) & (P <= 1))


def test_learners_put_each_code_in_its_codebook_column(learner):
    texts, Y = toy_data()
    P = learner().fit(texts, Y).predict_proba(["the beds on the ward", "a savings budget", "we talked and listened"])
    assert list(P.argmax(axis=1)) == [0, 1, 2]


def test_predict_before_fit_fails_cleanly(factory):
    with pytest.raises(AutocodeError):
        factory().predict_proba(["text"])


def test_empty_input_gives_empty_output(factory):
    texts, Y = toy_data()
    assert factory().fit(texts, Y).predict_proba([]).shape == (0, 3)


def test_a_code_without_examples_is_never_likely(learner):
    texts, Y = toy_data()
    Y = np.hstack([Y, np.zeros((len(texts), 1), dtype=bool)])
    P = learner().fit(texts, Y).predict_proba(texts)
    assert P.shape[1] == 4 and P[:, 3].max() < 0.5


def test_same_seed_same_probabilities(factory):
    texts, Y = toy_data()
    a = factory().fit(texts, Y).predict_proba(texts)
    b = factory().fit(texts, Y).predict_proba(texts)
    np.testing.assert_array_equal(a, b)


def test_save_then_load_gives_identical_probabilities(factory, tmp_path):
    texts, Y = toy_data()
    clf = factory().fit(texts, Y)
    files = clf.save(tmp_path)
    assert files and all((tmp_path / f).is_file() for f in files)
    assert not any(f.endswith((".pkl", ".pickle", ".joblib")) for f in files)
    again = type(clf).load(tmp_path)
    np.testing.assert_array_equal(clf.predict_proba(texts), again.predict_proba(texts))


KIND = {"TfidfClassifier": "tfidf", "TransformerClassifier": "transformer", "FewShotClassifier": "fewshot",
        "ZeroShotClassifier": "zeroshot"}


def test_model_folder_refuses_other_codebooks_and_tampering(learner, tmp_path, mini_codebook):
    n = len(mini_codebook)
    texts, Y3 = toy_data()
    Y = np.zeros((len(texts), n), dtype=bool)
    Y[:, [1, 3, 5]] = Y3
    clf = learner().fit(texts, Y)
    Model(KIND[type(clf).__name__], clf, list(mini_codebook.ids), np.full(n, 0.5)).save(tmp_path, mini_codebook)
    loaded = load_model(tmp_path, mini_codebook)
    np.testing.assert_array_equal(loaded.predict_proba(texts), clf.predict_proba(texts))

    other = mini_codebook.to_dict()
    other["codes"][1]["children"].append({"id": "strategy.new", "label": "New", "definition": "d"})
    from autocode.codebook import Codebook

    with pytest.raises(AutocodeError, match="only in the codebook: strategy.new"):
        load_model(tmp_path, Codebook.from_spec(other))

    weights = sorted(p for p in tmp_path.iterdir() if p.name != "model.json")[0]
    weights.write_bytes(weights.read_bytes() + b"x")
    with pytest.raises(AutocodeError, match="checksum"):
        load_model(tmp_path, mini_codebook)


def test_tune_thresholds_maximises_f1():
    Y = np.array([[1], [1], [0], [0]], dtype=bool)
    P = np.array([[0.9], [0.4], [0.3], [0.1]])
    t = tune_thresholds(Y, P)[0]
    assert 0.3 < t <= 0.4  # catches both positives, no negative
    assert tune_thresholds(np.zeros((3, 1), dtype=bool), np.ones((3, 1)))[0] > 1


def test_shrunk_thresholds_pull_rare_codes_toward_the_common_one():
    rng = np.random.default_rng(0)
    P = rng.random((200, 3))
    Y = np.zeros((200, 3), dtype=bool)
    Y[:, 0] = P[:, 0] > 0.6  # many positives, own optimum 0.6
    Y[:3, 1] = True  # three positives: a noisy optimum
    own = tune_thresholds(Y, P)
    np.testing.assert_array_equal(tune_thresholds(Y, P, shrink=0.0), own)
    shrunk = tune_thresholds(Y, P, shrink=10.0)
    common = tune_thresholds(Y, P, shrink=1e9)
    assert np.allclose(common, common[0]) and common[0] <= 1  # one threshold for every code
    assert abs(shrunk[0] - own[0]) < 0.05  # 80 positives: barely moved
    assert abs(shrunk[1] - common[1]) < abs(own[1] - common[1])  # 3 positives: mostly the common one
    assert own[2] > 1 and shrunk[2] == common[2]  # no positives: the common threshold, not "never"
