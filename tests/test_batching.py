"""Inference batches: each text tokenised once, longest first, capped in rows and padded tokens."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from autocode.classifiers import bert, encoder
from autocode.classifiers.encoder import collate, embed, inference_batches, token_batches, tokenize
from tests.test_bert import TEXTS, hf
from tests.tiny_models import tiny_bert


def test_token_batches_cover_every_index_once_longest_first_within_both_caps():
    rng = np.random.default_rng(0)
    lengths = rng.integers(1, 120, size=500)
    batches = token_batches(lengths, max_rows=64, max_tokens=1024)
    flat = np.concatenate(batches)
    assert sorted(flat.tolist()) == list(range(500))
    assert np.all(np.diff(lengths[flat]) <= 0)  # longest first
    for idx in batches:
        assert len(idx) <= 64 and len(idx) * lengths[idx].max() <= 1024
    # each batch is as full as the caps allow: one more row would break one of them
    for idx in batches[:-1]:
        assert len(idx) == 64 or (len(idx) + 1) * lengths[idx].max() > 1024


def test_an_item_longer_than_the_budget_is_a_batch_of_its_own():
    assert [b.tolist() for b in token_batches([5, 300, 5], max_rows=64, max_tokens=100)] == [[1], [0, 2]]
    assert token_batches([], 64, 100) == []


@pytest.mark.parametrize("kind", ["autocode", "transformers"])
@pytest.mark.parametrize("pairs", [False, True])
def test_collated_rows_equal_the_tokenizers_own_padding(kind, pairs):
    folder = tiny_bert()
    tokenizer = bert.FastTokenizer(folder) if kind == "autocode" else hf(folder)[0]
    items = list(zip(TEXTS[:5], TEXTS[1:6])) if pairs else TEXTS
    unpadded = tokenize(tokenizer, items, 24, padding=False)
    idx = [4, 0, 2]
    batch = collate(unpadded, idx, tokenizer.pad_token_id)
    direct = tokenize(tokenizer, [items[i] for i in idx], 24)
    assert set(batch) == set(direct)
    for key in direct:
        assert torch.equal(batch[key], direct[key]), key
    assert not batch["attention_mask"].all()  # padding was exercised
    unpaddable = collate(unpadded, idx, None)  # a tokenizer without a padding token
    hidden = batch["attention_mask"] == 0
    assert (unpaddable["input_ids"][hidden] == 0).all()
    assert torch.equal(unpaddable["input_ids"][~hidden], batch["input_ids"][~hidden])


def test_embeddings_do_not_depend_on_the_token_budget(monkeypatch):
    folder = tiny_bert()
    tokenizer, model = bert.FastTokenizer(folder), bert.BertEncoder.load(folder)
    texts = TEXTS + [f"ward {i} " * (i % 7 + 1) for i in range(40)]
    monkeypatch.setitem(encoder.TOKENS_PER_BATCH, "cpu", 10_000)
    wide = embed(tokenizer, model, texts, 32)
    monkeypatch.setitem(encoder.TOKENS_PER_BATCH, "cpu", 40)
    sizes = [len(idx) for idx, _ in inference_batches(tokenizer, texts, 32, torch.device("cpu"))]
    narrow = embed(tokenizer, model, texts, 32)
    assert len(sizes) > 5 and max(sizes) < len(texts)  # the small budget did split the texts
    np.testing.assert_allclose(narrow, wide, atol=1e-5)


def test_left_padding_puts_the_same_tokens_at_the_end():
    tokenizer = bert.FastTokenizer(tiny_bert())
    unpadded = tokenize(tokenizer, TEXTS, 24, padding=False)
    idx = [0, 3, 5]
    right, left = collate(unpadded, idx, tokenizer.pad_token_id), collate(unpadded, idx, tokenizer.pad_token_id, left=True)
    for r in range(len(idx)):
        n = int(right["attention_mask"][r].sum())
        assert torch.equal(left["input_ids"][r, -n:], right["input_ids"][r, :n])
        assert left["attention_mask"][r, -n:].all() and not left["attention_mask"][r, :-n].any()
