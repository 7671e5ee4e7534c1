"""A tiny randomly initialised BERT, built on the fly for fast offline transformer tests."""

from __future__ import annotations

import tempfile
from functools import lru_cache
from pathlib import Path

WORDS = """the we then it was a and on of to in is for with no our beds ward trolley trolleys savings budget
cost talked listened coffee sat down together patients best what about had left waited cut target contract
tender outsourcing went out furious doctors remembering always full every year more cutting plan made worse
talking through sitting clinical director finance operations background moved here from north pressures
helps decides consultant commute long job tell me disagreements ran winter again how do you work them
""".split()


@lru_cache(maxsize=1)
def tiny_bert() -> str:
    import torch
    from transformers import BertConfig, BertModel, BertTokenizerFast

    folder = Path(tempfile.mkdtemp(prefix="tiny-bert-"))
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] + sorted(set(WORDS)) + list(".,?'")
    tokenizer = BertTokenizerFast(vocab={word: i for i, word in enumerate(vocab)}, do_lower_case=True)
    config = BertConfig(vocab_size=len(vocab), hidden_size=32, num_hidden_layers=1, num_attention_heads=2,
                        intermediate_size=64, max_position_embeddings=128)
    torch.manual_seed(0)
    BertModel(config).save_pretrained(folder, safe_serialization=True)
    tokenizer.save_pretrained(folder)
    return str(folder)
