"""Plain tables as CSV and Markdown. Rows are dicts; columns keep the given order."""

from __future__ import annotations

import csv
import io
import math
from typing import Callable, Iterable, Sequence


def fmt(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return "" if math.isnan(value) else f"{value:.3f}"
    return str(value)


def csv_writer(fh, columns: Sequence[str]) -> Callable[[dict], None]:
    """Write the header to an open text file; return a function that writes one row."""
    writer = csv.writer(fh, lineterminator="\n")
    writer.writerow(columns)
    return lambda row: writer.writerow([fmt(row.get(c)) for c in columns])


def write_csv(fh, rows: Iterable[dict], columns: Sequence[str]) -> None:
    """Write ``rows`` as CSV to an open text file, a row at a time."""
    write_row = csv_writer(fh, columns)
    for row in rows:
        write_row(row)


def to_csv(rows: Iterable[dict], columns: Sequence[str]) -> str:
    buf = io.StringIO()
    write_csv(buf, rows, columns)
    return buf.getvalue()


def to_markdown(rows: Iterable[dict], columns: Sequence[str], headers: Sequence[str] | None = None) -> str:
    headers = list(headers or columns)
    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    for row in rows:
        cells = [fmt(row.get(c)).replace("|", "\\|").replace("\n", " ") for c in columns]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"
