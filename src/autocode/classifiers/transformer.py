"""A fine-tuned Hugging Face encoder for multi-label segment coding.

Mean-pooled encoder output, dropout and one linear layer with a sigmoid per code, trained with
a class-weighted binary cross-entropy (label imbalance), AdamW and linear warm-up/decay. Early
stopping watches mean average precision on a validation split grouped by interview; the
validation predictions are kept (``validation_``) so that thresholds can be tuned on them.
Weights are saved as safetensors with the tokenizer and a JSON file of parameters.

Inference on CPU can run with the encoder's Linear layers dynamically quantised to int8
(``quantize="int8"``, opt-in): about 2x faster, but on the held-out split category-level macro-F1
is 0.03-0.04 lower with the default thresholds and fine-level up to 0.05 lower, and a segment's
probabilities then depend on the other segments batched with it (activation scales are per
batch), so coding a transcript alone or within a study can differ; see docs/quantization.md. Weights are always trained and saved in
float32; the setting is saved in transformer.json and applied when predicting: ``predict_proba``
runs an int8 copy of the network, made once (at load time for a loaded model), whenever the
setting is "int8" and the network is on the CPU, so a just-fitted model and the same model saved
and loaded give identical probabilities. The final validation probabilities (on which thresholds
are tuned) come from the same network; early stopping uses float32. On CUDA the network always
runs in full precision. Models saved before the setting existed load in full precision.
"""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Sequence

import numpy as np
import torch
from safetensors.torch import load_file, save_file

from autocode.classifiers.bert import BertEncoder, from_transformers
from autocode.classifiers.encoder import (PACKAGED, Item, inference_batches, length_batches, load_encoder,
                                         load_for_inference, mean_pool, pick_device, tokenize)
from autocode.errors import AutocodeError

PARAMS_FILE = "transformer.json"
HEAD_FILE = "head.safetensors"


SCALE = 20.0  # cosine-similarity logits are multiplied by this
QUANTIZE = (None, "int8")
_AS_SAVED = object()


def quantize_int8(net: torch.nn.Module) -> torch.nn.Module:
    """A copy of ``net`` whose encoder Linear layers are dynamically quantised to int8 (CPU only).

    Embeddings, LayerNorm and the head stay float32. Where this torch cannot quantise, the
    float32 network is returned with a warning.
    """
    import copy
    import warnings

    qnet = copy.deepcopy(net).eval()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # torch.ao.quantization's deprecation notices
            from torch.ao.quantization import quantize_dynamic

            quantize_dynamic(qnet.encoder, {torch.nn.Linear}, dtype=torch.qint8, inplace=True)
    except (ImportError, AttributeError, RuntimeError, NotImplementedError) as exc:
        warnings.warn(f"int8 quantisation is unavailable ({exc}); the transformer runs in float32", stacklevel=2)
        return net
    return qnet


class _Net(torch.nn.Module):
    """Encoder, mean pooling, L2 normalisation and a linear head: a cosine classifier, so
    that the head can start from the codebook's prototypes (as zero-shot coding uses them)."""

    def __init__(self, encoder, n_codes: int, dropout: float):
        super().__init__()
        self.encoder = encoder
        self.dropout = torch.nn.Dropout(dropout)
        self.head = torch.nn.Linear(encoder.config.hidden_size, n_codes)

    def forward(self, enc):
        pooled = mean_pool(self.encoder(**enc).last_hidden_state, enc["attention_mask"])
        return self.head(self.dropout(torch.nn.functional.normalize(pooled, dim=-1)))

    def start_from(self, prototypes: np.ndarray, shift: float) -> None:
        with torch.no_grad():
            self.head.weight.copy_(torch.tensor(prototypes * SCALE, dtype=self.head.weight.dtype))
            self.head.bias.fill_(-SCALE * shift)


def _seed(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def grouped_split(n: int, groups: Sequence[str] | None, fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Boolean train/validation masks; whole groups go to validation."""
    rng = np.random.default_rng(seed)
    if groups is None:
        val = rng.random(n) < fraction
    else:
        names = sorted(set(groups))
        if len(names) < 2:
            return np.ones(n, dtype=bool), np.zeros(n, dtype=bool)
        k = max(1, round(len(names) * fraction))
        chosen = set(rng.choice(names, size=k, replace=False))
        val = np.array([g in chosen for g in groups])
    return ~val, val


def _mean_ap(Y: np.ndarray, P: np.ndarray) -> float:
    from sklearn.metrics import average_precision_score

    scores = [average_precision_score(Y[:, j], P[:, j]) for j in range(Y.shape[1]) if 0 < Y[:, j].sum() < len(Y)]
    return float(np.mean(scores)) if scores else 0.0


class TransformerClassifier:
    def __init__(self, base: str | None = PACKAGED, max_length: int = 128, epochs: int = 5, batch_size: int = 16,
                 lr: float = 8e-5, head_lr: float = 2e-3, weight_decay: float = 0.01, warmup: float = 0.1,
                 dropout: float = 0.1, patience: int = 1, val_fraction: float = 0.2, context: bool = False,
                 pos_weight_max: float = 10.0, descriptions: list[list[str]] | None = None, shift: float = 0.3,
                 seed: int = 0, device: str | None = None, quantize: str | None = None):
        if quantize not in QUANTIZE:
            raise AutocodeError(f"unknown quantize setting {quantize!r}; use 'int8' or none")
        self.quantize = quantize
        self.base = base
        self.head_lr = head_lr
        self.descriptions = descriptions
        self.shift = shift
        self.max_length = max_length
        self.epochs = epochs
        self.batch_size = batch_size
        self.lr = lr
        self.weight_decay = weight_decay
        self.warmup = warmup
        self.dropout = dropout
        self.patience = patience
        self.val_fraction = val_fraction
        self.context = context
        self.pos_weight_max = pos_weight_max
        self.seed = seed
        self.device = device

    def params(self) -> dict:
        names = ["base", "max_length", "epochs", "batch_size", "lr", "head_lr", "weight_decay", "warmup", "dropout",
                 "patience", "val_fraction", "context", "pos_weight_max", "shift", "seed", "quantize"]
        return {k: getattr(self, k) for k in names}

    # -- training -------------------------------------------------------------------------
    def fit(self, texts: Sequence[Item], Y: np.ndarray, groups: Sequence[str] | None = None,
            progress=None) -> "TransformerClassifier":
        _seed(self.seed)
        self.infer_ = None
        Y = np.asarray(Y, dtype=np.float32)
        texts = list(texts)
        train, val = grouped_split(len(texts), groups, self.val_fraction, self.seed)
        self.tokenizer_, encoder = load_encoder(self.base, self.device)
        self.net_ = _Net(encoder, Y.shape[1], self.dropout).to(pick_device(self.device))
        if self.descriptions and len(self.descriptions) == Y.shape[1]:
            self.net_.start_from(self._prototypes(), self.shift)
        optimiser, schedule = self._optimiser(int(train.sum()))
        pos = Y[train].sum(0)
        weight = np.clip((train.sum() - pos) / np.maximum(pos, 1), 1.0, self.pos_weight_max)
        loss_fn = torch.nn.BCEWithLogitsLoss(pos_weight=torch.tensor(weight, device=self._dev()))
        best, best_state, waited = -1.0, None, 0
        self.history_ = []
        epochs = range(self.epochs)
        for epoch in (progress(epochs, description="fine-tuning") if progress else epochs):
            self._epoch(texts, Y, np.flatnonzero(train), optimiser, schedule, loss_fn, epoch)
            if not val.any():
                continue
            score = _mean_ap(Y[val], self._proba(self.net_, [texts[i] for i in np.flatnonzero(val)]))
            self.history_.append(round(score, 4))
            if score > best:
                best, waited = score, 0
                best_state = {k: v.detach().clone() for k, v in self.net_.state_dict().items()}
            else:
                waited += 1
                if waited > self.patience:
                    break
        if best_state is not None:
            self.net_.load_state_dict(best_state)
        self.infer_ = None
        self.validation_ = None
        if val.any():
            P = self.predict_proba([texts[i] for i in np.flatnonzero(val)])
            self.validation_ = {"P": P, "Y": Y[val].astype(bool), "rows": np.flatnonzero(val), "score": best,
                                "history": self.history_}
        return self

    def _prototypes(self) -> np.ndarray:
        """Normalised mean embedding of each code's descriptions, from the untuned encoder."""
        from autocode.classifiers.encoder import embed

        protos = []
        for texts in self.descriptions:
            mean = embed(self.tokenizer_, self.net_.encoder, texts, self.max_length).mean(axis=0)
            protos.append(mean / max(np.linalg.norm(mean), 1e-9))
        return np.array(protos)

    def _dev(self):
        return next(self.net_.parameters()).device

    def _optimiser(self, n_train: int):
        from transformers import get_linear_schedule_with_warmup

        named = list(self.net_.encoder.named_parameters())
        decay = [p for n, p in named if not n.endswith("bias") and "LayerNorm" not in n]
        rest = [p for n, p in named if n.endswith("bias") or "LayerNorm" in n]
        optimiser = torch.optim.AdamW([{"params": decay, "weight_decay": self.weight_decay},
                                       {"params": rest, "weight_decay": 0.0},
                                       {"params": list(self.net_.head.parameters()), "lr": self.head_lr,
                                        "weight_decay": 0.0}], lr=self.lr)
        steps = max(1, self.epochs * -(-n_train // self.batch_size))
        return optimiser, get_linear_schedule_with_warmup(optimiser, int(self.warmup * steps), steps)

    def _epoch(self, texts, Y, rows, optimiser, schedule, loss_fn, epoch) -> None:
        rng = np.random.default_rng(self.seed + epoch)
        # batches of similar length, visited in random order
        batches = length_batches([texts[i] for i in rows], self.batch_size)
        self.net_.train()
        for b in rng.permutation(len(batches)):
            idx = rows[batches[b]]
            enc = tokenize(self.tokenizer_, [texts[i] for i in idx], self.max_length).to(self._dev())
            loss = loss_fn(self.net_(enc), torch.tensor(Y[idx], device=self._dev()))
            loss.backward()
            torch.nn.utils.clip_grad_norm_(self.net_.parameters(), 1.0)
            optimiser.step()
            schedule.step()
            optimiser.zero_grad()

    # -- inference ------------------------------------------------------------------------
    def predict_proba(self, texts: Sequence[Item]) -> np.ndarray:
        if not hasattr(self, "net_"):
            raise AutocodeError("the transformer classifier is not trained; call fit() or load a model")
        return self._proba(self._inference_net(), list(texts))

    def _inference_net(self) -> torch.nn.Module:
        """The network that codes, made once after fitting or loading: ``net_`` with a BERT
        encoder on :mod:`autocode.classifiers.bert` (as a loaded model has it), quantised to int8
        when so set and on the CPU. Fitted and loaded models thus predict identically."""
        if getattr(self, "infer_", None) is None:
            net = self.net_
            if not isinstance(net.encoder, BertEncoder) and (fast := from_transformers(net.encoder)) is not None:
                net = _Net(fast, net.head.out_features, self.dropout).to(next(fast.parameters()).device)
                net.head.load_state_dict(self.net_.head.state_dict())
            if self.quantize == "int8" and self._dev().type == "cpu":
                net = quantize_int8(net)
            self.infer_ = net.eval()
        return self.infer_

    def _proba(self, net, texts: list) -> np.ndarray:
        out = np.zeros((len(texts), net.head.out_features))
        net.eval()
        with torch.inference_mode():
            for idx, enc in inference_batches(self.tokenizer_, texts, self.max_length, self._dev()):
                out[idx] = torch.sigmoid(net(enc)).float().cpu().numpy()
        return out

    # -- persistence ----------------------------------------------------------------------
    def save(self, directory: Path) -> list[str]:
        directory = Path(directory)
        before = {p.name for p in directory.iterdir()}
        self.net_.encoder.save_pretrained(directory, safe_serialization=True)
        self.tokenizer_.save_pretrained(directory)
        head = {k: v.detach().cpu().contiguous() for k, v in self.net_.head.state_dict().items()}
        save_file(head, str(directory / HEAD_FILE))
        (directory / PARAMS_FILE).write_text(json.dumps(self.params(), indent=2), encoding="utf-8")
        return sorted(p.name for p in directory.iterdir() if p.is_file() and p.name not in before)

    @classmethod
    def load(cls, directory: Path, quantize=_AS_SAVED) -> "TransformerClassifier":
        """Load a saved model; ``quantize`` (None or "int8") overrides the saved setting. Models
        saved before the setting existed run in full precision."""
        directory = Path(directory)
        try:
            params = json.loads((directory / PARAMS_FILE).read_text(encoding="utf-8"))
            params["quantize"] = params.get("quantize") if quantize is _AS_SAVED else quantize
            self = cls(**{**params, "base": str(directory)})
            self.base = params.get("base")
            self.tokenizer_, encoder = load_for_inference(str(directory), None)
            head = load_file(str(directory / HEAD_FILE))
        except (OSError, KeyError, ValueError, TypeError) as exc:
            raise AutocodeError(f"transformer weights cannot be read ({exc}); retrain the model", directory) from None
        self.net_ = _Net(encoder, head["weight"].shape[0], self.dropout).to(pick_device(None))
        self.net_.head.load_state_dict(head)
        self.net_.eval()
        self._inference_net()  # quantise now, so that loading carries the cost
        return self
