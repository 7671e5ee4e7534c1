"""autocode.lazy.hidden: optional imports of our dependencies fail inside the block only."""

from __future__ import annotations

import subprocess
import sys


def run(code: str) -> str:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()


def test_a_hidden_module_cannot_be_imported_inside_the_block_and_can_after():
    code = """
from autocode.lazy import hidden
with hidden("json"):
    pass
import sys
with hidden("csv"):
    try:
        import csv
        inside = "imported"
    except ImportError:
        inside = "refused"
import csv
print(inside, csv.__name__, sys.modules.get("csv") is not None)
"""
    assert run(code) == "refused csv True"


def test_a_module_already_loaded_is_left_alone():
    code = """
import csv
from autocode.lazy import hidden
with hidden("csv"):
    import csv as again
print(again is csv)
"""
    assert run(code) == "True"


def test_thinc_goes_without_torch_and_torch_still_works_after():
    code = """
from autocode.segment import Segment, _nlp
nlp = _nlp(None)
import sys, thinc.compat
before = "torch" in sys.modules
import torch
print(before, thinc.compat.has_torch, torch.ones(2).sum().item(), [s.text for s in nlp("One. Two.").sents])
"""
    assert run(code) == "False False 2.0 ['One.', 'Two.']"
