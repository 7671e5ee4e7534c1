"""Dynamic int8 quantisation of the transformer at inference, on a tiny random BERT (offline)."""

import json

import numpy as np
import pytest
import torch

from autocode.classifiers.transformer import TransformerClassifier
from autocode.errors import AutocodeError
from tests.test_classifier_contract import toy_data
from tests.tiny_models import tiny_bert


def _fit(quantize="int8", val_fraction=0.0):
    texts, Y = toy_data()
    groups = [f"T{i % 5}" for i in range(len(texts))]
    clf = TransformerClassifier(base=tiny_bert(), epochs=3, lr=3e-3, batch_size=8, val_fraction=val_fraction,
                                seed=0, quantize=quantize)
    return clf.fit(texts, Y, groups=groups), texts


def _is_int8(net) -> bool:
    return any("quantized" in type(m).__module__ for m in net.encoder.modules())


def test_full_precision_by_default_int8_on_request_and_stored(tmp_path):
    assert TransformerClassifier().quantize is None
    clf, texts = _fit("int8")
    assert _is_int8(clf._inference_net()) and not _is_int8(clf.net_)  # weights stay float32
    clf.save(tmp_path)
    assert json.loads((tmp_path / "transformer.json").read_text())["quantize"] == "int8"
    assert _is_int8(TransformerClassifier.load(tmp_path).infer_)  # quantised at load time
    full = TransformerClassifier.load(tmp_path, quantize=None)
    assert full._inference_net() is full.net_


@pytest.mark.parametrize("setting", [None, "int8"])
def test_fitted_and_loaded_models_give_identical_probabilities(setting, tmp_path):
    clf, texts = _fit(setting)
    clf.save(tmp_path)
    loaded = TransformerClassifier.load(tmp_path)
    assert loaded.quantize == setting
    np.testing.assert_array_equal(clf.predict_proba(texts), loaded.predict_proba(texts))
    np.testing.assert_array_equal(loaded.predict_proba(texts), TransformerClassifier.load(tmp_path).predict_proba(texts))


def test_int8_stays_close_to_full_precision(tmp_path):
    clf, texts = _fit("int8")
    clf.save(tmp_path)
    full = TransformerClassifier.load(tmp_path, quantize=None).predict_proba(texts)
    int8 = clf.predict_proba(texts)
    assert not np.array_equal(full, int8)
    assert np.abs(full - int8).max() < 0.05
    assert ((full >= 0.5) == (int8 >= 0.5)).mean() > 0.95


def test_models_saved_without_the_setting_load_in_full_precision(tmp_path):
    clf, texts = _fit(None)
    clf.save(tmp_path)
    params = json.loads((tmp_path / "transformer.json").read_text())
    del params["quantize"]
    (tmp_path / "transformer.json").write_text(json.dumps(params))
    loaded = TransformerClassifier.load(tmp_path)
    assert loaded.quantize is None and loaded._inference_net() is loaded.net_
    np.testing.assert_array_equal(clf.predict_proba(texts), loaded.predict_proba(texts))


def test_validation_probabilities_come_from_the_inference_network():
    clf, texts = _fit("int8", val_fraction=0.4)
    rows = clf.validation_["rows"]
    np.testing.assert_array_equal(clf.validation_["P"], clf.predict_proba([texts[i] for i in rows]))


def test_never_quantised_off_the_cpu(monkeypatch):
    clf, _ = _fit("int8")
    monkeypatch.setattr(clf, "_dev", lambda: torch.device("cuda"))
    clf.infer_ = None
    assert not _is_int8(clf._inference_net())


def test_unknown_setting_is_refused():
    with pytest.raises(AutocodeError, match="quantize"):
        TransformerClassifier(quantize="int4")


def test_train_cli_int8_flag_stores_the_setting_and_the_model_runs(mini, tmp_path):
    from typer.testing import CliRunner

    from autocode.cli import app

    out = tmp_path / "tiny-int8"
    result = CliRunner().invoke(app, ["train", str(mini), "--model", "transformer", "--base", tiny_bert(),
                                      "--epochs", "1", "--int8", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert json.loads((out / "transformer.json").read_text())["quantize"] == "int8"
    result = CliRunner().invoke(app, ["run", str(mini), "--model", str(out), "--out", str(tmp_path / "run")])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "run" / "segments.jsonl").read_text().strip()
