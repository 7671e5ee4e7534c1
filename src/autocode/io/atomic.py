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


def check_output_file(out: Path, force: bool) -> None:
    """Refuse an output file that exists (without ``force``) or is a folder."""
    if out.exists() and (out.is_dir() or not force):
        raise AutocodeError("output file already exists; pass --force to replace it", out)


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
    _swap(tmp, out)


def _swap(tmp: Path, out: Path) -> None:
    old = None
    if out.exists():
        old = out.parent / f".{out.name}.old-{os.getpid()}"
        os.replace(out, old)
    os.replace(tmp, out)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def work_dir_of(out: str | Path) -> Path:
    """The fixed work folder of a resumable output (see :func:`resumable_dir`)."""
    out = Path(out)
    return out.parent / f".{out.name}.work.partial"


@contextmanager
def resumable_dir(out: str | Path, force: bool = False, resume: bool = False, keep: str = "coded",
                  protected: list[Path] = ()) -> Iterator[Path]:
    """Like :func:`output_dir`, but the work folder has a fixed name and its ``keep`` subfolder
    (complete files only) survives a failure or an interruption, so that a later run with
    ``resume`` can use it; everything else in it is removed. Without ``resume`` a work folder left
    by an earlier run is cleared first. A lock file keeps two runs out of one folder."""
    out = Path(out)
    check_output_dir(out, force or resume, protected)
    out.parent.mkdir(parents=True, exist_ok=True)
    work = work_dir_of(out)
    with _locked(out):
        if work.exists():
            _keep_only(work, keep) if resume else shutil.rmtree(work)
        work.mkdir(mode=0o777 & ~_umask(), exist_ok=True)
        try:
            yield work
        except BaseException:
            _keep_only(work, keep)
            raise
        _swap(work, out)


def _keep_only(work: Path, keep: str) -> None:
    """Remove all of ``work`` but its ``keep`` folder's complete files (and ``work`` if then empty)."""
    for path in work.iterdir():
        if path.name != keep or not path.is_dir():
            shutil.rmtree(path) if path.is_dir() and not path.is_symlink() else path.unlink()
    for path in (work / keep).glob(".*.tmp"):
        path.unlink()
    if (work / keep).is_dir() and not any((work / keep).iterdir()):
        (work / keep).rmdir()
    if not any(work.iterdir()):
        work.rmdir()


@contextmanager
def _locked(out: Path) -> Iterator[None]:
    """Hold ``.OUT.lock`` (holding the process id) while writing ``out``; a lock left by a
    process that no longer runs is taken over."""
    lock = out.parent / f".{out.name}.lock"
    for _ in range(2):
        try:
            fd = os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
            break
        except FileExistsError:
            owner = _owner(lock)
            if owner is not None and _alive(owner):
                raise AutocodeError(f"another autocode process (pid {owner}) is writing this output folder; wait "
                                    f"for it to finish, or delete {lock.name} if no such process runs", out) from None
            lock.unlink(missing_ok=True)
    else:
        raise AutocodeError(f"cannot take the lock {lock.name}; delete it if no autocode process runs", out)
    with os.fdopen(fd, "w") as fh:
        fh.write(str(os.getpid()))
    try:
        yield
    finally:
        lock.unlink(missing_ok=True)


def _owner(lock: Path) -> int | None:
    try:
        return int(lock.read_text().strip())
    except (OSError, ValueError):
        return None


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


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
