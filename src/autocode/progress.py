"""Progress bars on stderr for long work; the library is silent unless given one."""

from __future__ import annotations

from typing import Iterable, TypeVar

T = TypeVar("T")


def silent(iterable: Iterable[T], **_) -> Iterable[T]:
    return iterable


def bar(iterable: Iterable[T], description: str = "", total: int | None = None) -> Iterable[T]:
    from rich.console import Console
    from rich.progress import track

    return track(iterable, description=description, total=total, transient=True, console=Console(stderr=True))
