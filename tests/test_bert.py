"""autocode's own BERT runs saved models as transformers would, without importing transformers."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from autocode.classifiers import bert
from autocode.classifiers.encoder import load_for_inference
from autocode.classifiers.transformer import TransformerClassifier
from tests.test_quantize import _fit
from tests.tiny_models import tiny_bert

TEXTS = ["We sat down together with the finance director.", "Beds, beds, beds: the ward was FULL every winter!",
         "Café opening hours — naïve plans?", "", "the " * 300, "no"]


def hf(folder):
    from transformers import AutoModel, AutoTokenizer

    return AutoTokenizer.from_pretrained(folder), AutoModel.from_pretrained(folder).eval()


def test_tokens_equal_those_of_the_transformers_tokenizer():
    folder = tiny_bert()
    ours, (theirs, _) = bert.FastTokenizer(folder), hf(folder)
    for args, kwargs in [((TEXTS,), {"truncation": True, "max_length": 16}),
                         ((TEXTS[:4], TEXTS[1:5]), {"truncation": "only_second", "max_length": 40})]:
        a = ours(*args, padding=True, return_tensors="pt", **kwargs)
        b = theirs(*args, padding=True, return_tensors="pt", **kwargs)
        assert set(a) == {"input_ids", "token_type_ids", "attention_mask"}
        for key in a:
            assert torch.equal(a[key], b[key]), key
    assert a["token_type_ids"].any() and not a["attention_mask"].all()  # pairs and padding were exercised


def test_hidden_states_equal_those_of_transformers_bert():
    folder = tiny_bert()
    tokenizer, model = hf(folder)
    ours = bert.BertEncoder.load(folder)
    enc = tokenizer(TEXTS[:4], TEXTS[1:5], truncation="only_second", max_length=40, padding=True, return_tensors="pt")
    with torch.inference_mode():
        a, b = ours(**enc).last_hidden_state, model(**enc).last_hidden_state
    mask = enc["attention_mask"].bool()
    assert a.shape == b.shape and float((a - b)[mask].abs().max()) < 1e-5


def test_other_architectures_and_settings_load_through_transformers(tmp_path):
    assert bert.supported(tiny_bert())
    for change in ({"position_embedding_type": "relative_key"}, {"model_type": "roberta"}, {"is_decoder": True}):
        folder = tmp_path / "_".join(change)
        shutil.copytree(tiny_bert(), folder)
        config = json.loads((folder / "config.json").read_text())
        (folder / "config.json").write_text(json.dumps({**config, **change}))
        assert not bert.supported(folder)
    _, model = load_for_inference(str(tmp_path / "position_embedding_type"))
    assert not isinstance(model, bert.BertEncoder) and type(model).__module__.startswith("transformers")
    no_tokenizer = tmp_path / "no_tokenizer_json"
    shutil.copytree(tiny_bert(), no_tokenizer)
    (no_tokenizer / "tokenizer.json").unlink()
    assert not bert.supported(no_tokenizer)


def test_a_fitted_model_codes_with_the_same_probabilities_as_its_transformers_network():
    clf, texts = _fit(None)
    assert isinstance(clf._inference_net().encoder, bert.BertEncoder)
    assert not isinstance(clf.net_.encoder, bert.BertEncoder)  # trained (and saved) with transformers
    np.testing.assert_allclose(clf.predict_proba(texts), clf._proba(clf.net_, texts), atol=1e-5)


def test_coding_with_a_saved_model_does_not_import_transformers(tmp_path):
    clf, texts = _fit(None)
    clf.save(tmp_path)
    script = ("import sys, json; from autocode.classifiers.transformer import TransformerClassifier as T; "
              f"p = T.load({str(tmp_path)!r}).predict_proba({texts[:3]!r}); "
              "print(json.dumps([sorted({m.split('.')[0] for m in sys.modules} & {'transformers'}), p.tolist()]))")
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True,
                         cwd=Path(__file__).resolve().parents[1])
    imported, probabilities = json.loads(out.stdout.strip().splitlines()[-1])
    assert imported == []
    np.testing.assert_array_equal(np.array(probabilities), clf.predict_proba(texts[:3]))


@pytest.mark.parametrize("setting", [None, "int8"])
def test_a_loaded_model_saves_the_files_it_was_loaded_from(setting, tmp_path):
    clf, texts = _fit(setting)
    (tmp_path / "a").mkdir()
    clf.save(tmp_path / "a")
    loaded = TransformerClassifier.load(tmp_path / "a")
    (tmp_path / "b").mkdir()
    loaded.save(tmp_path / "b")
    for name in ("config.json", "model.safetensors", "tokenizer.json"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()
    np.testing.assert_array_equal(TransformerClassifier.load(tmp_path / "b").predict_proba(texts),
                                  loaded.predict_proba(texts))


@pytest.mark.parametrize("kind", ["autocode", "transformers"])
def test_a_text_longer_than_max_length_keeps_a_piece_of_its_context(kind):
    from autocode.classifiers.encoder import tokenize

    folder = tiny_bert()
    tokenizer = bert.FastTokenizer(folder) if kind == "autocode" else hf(folder)[0]
    items = [("the ward was full " * 40, "what about beds"), ("we talked", "how do you work them")]
    enc = tokenize(tokenizer, items, 32)  # the first text alone is about 160 tokens
    assert enc["input_ids"].shape == (2, 32)
    assert enc["token_type_ids"][0].sum() >= 1 and enc["attention_mask"][0].all()  # context kept, text cut
    whole = tokenize(tokenizer, items[1:], 32)
    assert torch.equal(enc["input_ids"][1, : whole["input_ids"].shape[1]], whole["input_ids"][0])
