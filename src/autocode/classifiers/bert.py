"""A BERT encoder for inference without importing transformers.

Importing transformers' BERT classes costs about 2.3 s on 2 cores (they pull in torch._dynamo,
torch.distributed and the generation code), more than a 26-interview run spends on anything
but the forward pass itself. For coding with a saved model, autocode therefore runs BERT-family
encoders (``model_type: bert``, absolute positions: MiniLM, the default, is one) with this
module: the same layers as transformers' ``BertModel`` under the same parameter names, read
from the model folder's ``config.json`` and ``model.safetensors``, and the folder's fast
tokenizer (``tokenizer.json``) through the ``tokenizers`` library, which transformers' fast
tokenizers wrap. Probabilities equal those of the transformers path to float rounding (tested).
Any other architecture, and all fine-tuning, goes through transformers.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from types import SimpleNamespace
from typing import Sequence

import torch
from torch import nn
from torch.nn import functional as F

WEIGHTS = "model.safetensors"
TOKENIZER = "tokenizer.json"
_ACTIVATIONS = {"gelu": F.gelu, "relu": F.relu, "gelu_new": lambda x: F.gelu(x, approximate="tanh")}


def supported(folder: str | Path) -> bool:
    """Whether ``folder`` holds a BERT this module runs as transformers would."""
    folder = Path(folder)
    try:
        config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return supported_config(config) and (folder / WEIGHTS).is_file() and (folder / TOKENIZER).is_file()


def supported_config(config: dict) -> bool:
    heads = config.get("num_attention_heads") or 1
    return (config.get("model_type") == "bert" and config.get("hidden_size", 1) % heads == 0
            and config.get("position_embedding_type", "absolute") == "absolute"
            and not config.get("is_decoder") and config.get("hidden_act", "gelu") in _ACTIVATIONS)


def from_transformers(model) -> "BertEncoder | None":
    """A copy of a transformers ``BertModel`` (as fine-tuned) on this module, or None when its
    configuration is one this module does not run."""
    config = model.config.to_dict()
    if not supported_config(config):
        return None
    return BertEncoder.from_state(config, model.state_dict()).to(next(model.parameters()).device)


class _Layer(nn.Module):
    def __init__(self, c: SimpleNamespace):
        super().__init__()
        h, heads = c.hidden_size, c.num_attention_heads
        self.heads, self.act = heads, _ACTIVATIONS[getattr(c, "hidden_act", "gelu")]
        self.attention = nn.Module()
        self.attention.self = nn.Module()
        for name in ("query", "key", "value"):
            setattr(self.attention.self, name, nn.Linear(h, h))
        self.attention.output = nn.Module()
        self.attention.output.dense = nn.Linear(h, h)
        self.attention.output.LayerNorm = nn.LayerNorm(h, eps=c.layer_norm_eps)
        self.intermediate = nn.Module()
        self.intermediate.dense = nn.Linear(h, c.intermediate_size)
        self.output = nn.Module()
        self.output.dense = nn.Linear(c.intermediate_size, h)
        self.output.LayerNorm = nn.LayerNorm(h, eps=c.layer_norm_eps)

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        b, n, h = x.shape
        a = self.attention

        def split(layer: nn.Linear) -> torch.Tensor:
            return layer(x).view(b, n, self.heads, h // self.heads).transpose(1, 2)

        ctx = F.scaled_dot_product_attention(split(a.self.query), split(a.self.key), split(a.self.value), attn_mask=mask)
        x = a.output.LayerNorm(a.output.dense(ctx.transpose(1, 2).reshape(b, n, h)) + x)
        return self.output.LayerNorm(self.output.dense(self.act(self.intermediate.dense(x))) + x)


class BertEncoder(nn.Module):
    """``forward(input_ids, attention_mask, token_type_ids)`` -> an object with
    ``last_hidden_state``, as transformers' ``BertModel`` returns (no pooler: autocode mean-pools)."""

    def __init__(self, config: dict):
        super().__init__()
        c = self.config = SimpleNamespace(**{"layer_norm_eps": 1e-12, "type_vocab_size": 2, **config})
        self.embeddings = nn.Module()
        self.embeddings.word_embeddings = nn.Embedding(c.vocab_size, c.hidden_size)
        self.embeddings.position_embeddings = nn.Embedding(c.max_position_embeddings, c.hidden_size)
        self.embeddings.token_type_embeddings = nn.Embedding(c.type_vocab_size, c.hidden_size)
        self.embeddings.LayerNorm = nn.LayerNorm(c.hidden_size, eps=c.layer_norm_eps)
        self.encoder = nn.Module()
        self.encoder.layer = nn.ModuleList(_Layer(c) for _ in range(c.num_hidden_layers))

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor | None = None,
                token_type_ids: torch.Tensor | None = None) -> SimpleNamespace:
        e = self.embeddings
        positions = torch.arange(input_ids.shape[1], device=input_ids.device)
        types = torch.zeros_like(input_ids) if token_type_ids is None else token_type_ids
        x = e.LayerNorm(e.word_embeddings(input_ids) + e.position_embeddings(positions)[None] + e.token_type_embeddings(types))
        mask = None
        if attention_mask is not None:  # additive: 0 where attended, the dtype's minimum on padding
            mask = (1.0 - attention_mask[:, None, None, :].to(x.dtype)) * torch.finfo(x.dtype).min
        for layer in self.encoder.layer:
            x = layer(x, mask)
        return SimpleNamespace(last_hidden_state=x)

    @classmethod
    def from_state(cls, config: dict, state: dict) -> "BertEncoder":
        model = cls(config)
        state = {k.removeprefix("bert."): v for k, v in state.items()}
        state = {k: v for k, v in state.items() if not k.startswith("pooler.") and not k.endswith("position_ids")}
        model.load_state_dict(state, strict=True)
        return model.eval()

    @classmethod
    def load(cls, folder: str | Path) -> "BertEncoder":
        from safetensors.torch import load_file

        folder = Path(folder)
        config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
        model = cls.from_state(config, load_file(str(folder / WEIGHTS)))
        model.source = folder
        return model

    def save_pretrained(self, directory: str | Path, **_) -> None:
        """The weights are those loaded (inference never changes them): copy the source files.
        (A fine-tuned model is saved from its transformers encoder.)"""
        _copy(self.source, directory, ("config.json", WEIGHTS))


class FastTokenizer:
    """The folder's tokenizer.json, called as autocode calls a transformers tokenizer: a list of
    texts (or two lists, for text and context), truncated and padded to the longest."""

    def __init__(self, folder: str | Path):
        from tokenizers import Tokenizer

        self.source = Path(folder)
        self.tokenizer = Tokenizer.from_file(str(self.source / TOKENIZER))
        config_path = self.source / "tokenizer_config.json"
        config = json.loads(config_path.read_text(encoding="utf-8")) if config_path.is_file() else {}
        pad = config.get("pad_token", "[PAD]")
        pad = pad.get("content", "[PAD]") if isinstance(pad, dict) else pad
        self.pad_id = self.tokenizer.token_to_id(pad)
        if self.pad_id is None:
            raise ValueError(f"the tokenizer has no padding token {pad!r}")
        self.pad_token, self.pad_token_id = pad, self.pad_id

    def __call__(self, first: Sequence[str], second: Sequence[str] | None = None, truncation=True,
                 max_length: int = 512, padding=True, return_tensors="pt") -> "Encoding | dict":
        """Tensors padded to the longest, or (``padding=False``) a dict of unpadded lists."""
        strategy = "only_second" if truncation == "only_second" else "longest_first"
        self.tokenizer.enable_truncation(max_length, strategy=strategy)
        if padding:
            self.tokenizer.enable_padding(pad_id=self.pad_id, pad_token=self.pad_token)
        else:
            self.tokenizer.no_padding()
        inputs = list(first) if second is None else list(zip(first, second))
        encoded = self.tokenizer.encode_batch(inputs)
        fields = {name: [getattr(e, attr) for e in encoded] for name, attr in
                  (("input_ids", "ids"), ("token_type_ids", "type_ids"), ("attention_mask", "attention_mask"))}
        if not padding:
            return fields
        return Encoding({name: torch.tensor(rows, dtype=torch.long) for name, rows in fields.items()})

    def save_pretrained(self, directory: str | Path) -> None:
        _copy(self.source, directory, (TOKENIZER, "tokenizer_config.json", "special_tokens_map.json", "vocab.txt"))


def _copy(source: Path, directory: str | Path, names: Sequence[str]) -> None:
    for name in names:
        if (source / name).is_file():
            shutil.copyfile(source / name, Path(directory) / name)


class Encoding(dict):
    """A dict of tensors with ``.to(device)``, like transformers' BatchEncoding."""

    def to(self, device) -> "Encoding":
        return Encoding({k: v.to(device) for k, v in self.items()})

