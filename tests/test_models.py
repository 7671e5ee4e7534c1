"""Transformer, zero-shot and few-shot models end to end, offline; and ``autocode evaluate``."""

import json
import socket

import numpy as np
import pytest
from typer.testing import CliRunner

from autocode.cli import app
from tests.tiny_models import tiny_bert

runner = CliRunner()


@pytest.fixture()
def no_network(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("autocode tried to open a network connection")

    monkeypatch.setattr(socket, "socket", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)


def test_train_and_run_offline_with_sockets_blocked(mini, tmp_path, no_network):
    from autocode.pipeline import run
    from autocode.training import train

    tfidf = train(mini, tmp_path / "tfidf", "tfidf", folds=2)
    assert tfidf.metrics["cross_validation"]["levels"]["category"]["codes"] == 4
    tiny = train(mini, tmp_path / "tiny", "transformer",
                 params={"base": tiny_bert(), "epochs": 3, "lr": 3e-3, "batch_size": 4, "context": True})
    assert "validation" in tiny.metrics and "heldout" in tiny.metrics
    meta = json.loads((tmp_path / "tiny" / "model.json").read_text())
    assert meta["type"] == "transformer" and meta["training"]["threshold_source"] == "validation split"
    assert {"model.safetensors", "head.safetensors", "tokenizer.json"} <= set(meta["files"])
    for name in ("tfidf", "tiny"):
        result = run(mini, tmp_path / f"out-{name}", tmp_path / name)
        assert result.segments > 0 and (tmp_path / f"out-{name}" / "grades.csv").exists()
    zero = run(mini, tmp_path / "out-zero", "zeroshot")
    assert zero.segments == result.segments


def test_transformer_model_folder_round_trip(mini, tmp_path):
    from autocode.classifiers.base import load_model
    from autocode.codebook import load_codebook
    from autocode.training import train

    train(mini, tmp_path / "m", "transformer", params={"base": tiny_bert(), "epochs": 2, "batch_size": 4})
    book = load_codebook(mini / "codebook.yaml")
    first = load_model(tmp_path / "m", book)
    second = load_model(tmp_path / "m", book)
    texts = [("We had no beds on the ward.", "What happened?")]
    np.testing.assert_array_equal(first.predict_proba(texts), second.predict_proba(texts))
    assert first.classifier.context is False


def test_zero_shot_prefers_the_code_whose_definition_fits(mini_codebook):
    from autocode.classifiers.zeroshot import ZeroShotClassifier, code_descriptions

    clf = ZeroShotClassifier(code_descriptions(mini_codebook)).fit()
    leaves = mini_codebook.leaves()
    texts = {
        "tension.beds": "Every ward was full and people waited on trolleys for a bed.",
        "tension.money.contracts": "They put the community service out to tender and a private firm won it.",
        "strategy.talking": "In the end we just sat down over a cup of tea and talked it all through.",
        "strategy.patients": "What settled it was asking what would be best for the people we care for.",
    }
    P = clf.predict_proba(list(texts.values()))
    cols = [mini_codebook.index[c] for c in leaves]
    picked = [leaves[i] for i in P[:, cols].argmax(axis=1)]
    assert picked == list(texts)


def test_fewshot_trains_and_codes(mini, tmp_path):
    from autocode.pipeline import run
    from autocode.training import train

    result = train(mini, tmp_path / "fs", "fewshot", folds=2)
    assert result.metrics["heldout"]["levels"]["category"]["macro_f1"] > 0.5
    assert run(mini, tmp_path / "out", tmp_path / "fs").segments > 0


def test_evaluate_command_writes_markdown_and_json(mini, tmp_path):
    report = tmp_path / "results.md"
    result = runner.invoke(app, ["evaluate", str(mini), "--models", "tfidf,zeroshot", "--folds", "2",
                                 "--report", str(report)])
    assert result.exit_code == 0, result.output
    data = json.loads(report.with_suffix(".json").read_text())
    assert set(data["models"]) == {"tfidf", "zeroshot"}
    for kind in ("tfidf", "zeroshot"):
        res = data["models"][kind]
        assert {"cross_validation", "heldout", "learning_curve"} <= set(res)
        assert {"fine", "category", "dimension"} <= set(res["heldout"]["levels"])
        assert 0 <= res["heldout"]["grades"]["match"] <= 1
    assert data["human_human"]["coders"] == ["coder_a", "coder_b"]
    text = report.read_text()
    assert "Held-out split" in text and "Learning curve" in text and "Machine:" in text
    again = runner.invoke(app, ["evaluate", str(mini), "--models", "tfidf", "--report", str(report)])
    assert again.exit_code == 1 and "--force" in again.output


def test_evaluate_rejects_unknown_model_types(mini, tmp_path):
    result = runner.invoke(app, ["evaluate", str(mini), "--models", "tfidf,gpt9", "--report", str(tmp_path / "r.md")])
    assert result.exit_code == 1 and "gpt9" in result.output and not (tmp_path / "r.md").exists()


def test_validation_thresholds_close_up_the_hierarchy_and_predict_codes_missing_from_validation(mini_codebook):
    from autocode.training import validation_thresholds

    rng = np.random.default_rng(0)
    book = mini_codebook
    P = rng.random((80, len(book)))
    Y = book.closure(P > 0.7)
    absent = book.index[book.leaves()[0]]
    Y[:, absent] = False  # a code no validation interview has
    t = validation_thresholds({"Y": Y, "P": P}, book)
    assert t.shape == (len(book),) and (t <= 1).all()
    from autocode.classifiers.base import tune_thresholds

    common = tune_thresholds(Y, book.closure_max(P), shrink=1e9)[0]  # one threshold for all codes
    assert t[absent] == pytest.approx(common)  # predicted like the rest, not never

