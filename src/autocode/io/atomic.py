"""Write outputs so that a crash or Ctrl-C never leaves a half-written file or folder.

Files are written to a temporary name beside the target and renamed into place. A whole output
folder is built under a temporary name and swapped in only when complete; an existing folder
is replaced only with ``force`` and never when it holds the inputs.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from autocode.errors import AutocodeError


def write_text(path: str | Path, text: str) -> None:
    """Atomically write ``text`` (UTF-8, ``\\n`` newlines) to ``path``."""
    write_bytes(path, text.encode("utf-8"))


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_bytes(path: str | Path, data: bytes) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.chmod(tmp, 0o666 & ~_umask())
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def check_output_dir(out: Path, force: bool, protected: list[Path] = ()) -> None:
    """Refuse an output folder that exists (without ``force``) or that holds an input."""
    out = Path(out).resolve()
    for inp in protected:
        inp = Path(inp).resolve()
        if out == inp or out in inp.parents:
            raise AutocodeError(
                f"output folder would overwrite the input {inp}; choose an --out folder outside it", out
            )
    if out.exists() and not out.is_dir():
        raise AutocodeError("output path exists and is a file; choose a folder name for --out", out)
    if out.exists() and any(out.iterdir()) and not force:
        raise AutocodeError("output folder already exists and is not empty; pass --force to replace it", out)


@contextmanager
def output_dir(out: str | Path, force: bool = False, protected: list[Path] = ()) -> Iterator[Path]:
    """Yield a temporary folder to fill; on success it replaces ``out`` in one step."""
    out = Path(out)
    check_output_dir(out, force, protected)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".partial", dir=out.parent))
    os.chmod(tmp, 0o777 & ~_umask())
    try:
        yield tmp
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    old = None
    if out.exists():
        old = out.parent / f".{out.name}.old-{os.getpid()}"
        os.replace(out, old)
    os.replace(tmp, out)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def json_safe(value):
    """Replace NaN and infinities (not valid JSON) with None, recursively."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    return value


def write_json(path: str | Path, value) -> None:
    """Atomically write ``value`` as indented, strictly valid JSON."""
    write_text(path, json.dumps(json_safe(value), indent=2, ensure_ascii=False, allow_nan=False) + "\n")
