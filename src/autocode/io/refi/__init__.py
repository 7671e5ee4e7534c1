"""REFI-QDA interchange: import .qdpx projects and .qdc codebooks, export both.

REFI-QDA (www.qdasoftware.org) is the exchange format of ATLAS.ti, NVivo, MAXQDA, QualCoder
and others. A .qdpx is a zip holding ``project.qde`` (XML: users, codebook, cases, sources,
selections and codings) and the sources' plain text; a .qdc is a codebook alone. Positions,
line endings and the known quirks of each tool are described in docs/interop.md.

Public API::

    import_qdpx(path, out_dir, force=False) -> ImportResult       # a study folder
    import_qdc(path, out_dir, force=False) -> ImportResult         # codebook.yaml only
    read_qdpx(path) -> StudyDraft / read_qdc(path) -> StudyDraft   # in memory
    export_qdpx(study, out_path, machine=(), confidences=None, *, profile="generic", force=False)
    export_qdc(codebook, out_path, *, force=False)
    machine_coding(segments, P, Y, codebook, model_name) -> (spans, confidences)  # for export_qdpx
"""

from __future__ import annotations

from pathlib import Path

from autocode.io.draft import ImportResult, write_study
from autocode.io.refi.positions import PROFILES, Convention, PositionMap, profile_for_origin
from autocode.io.refi.reader import read_qdc, read_qdpx
from autocode.io.refi.writer import (
    ExportResult, export_qdc, export_qdpx, machine_coding, machine_user, sidecar_path,
)


def import_qdpx(path: str | Path, out_dir: str | Path, force: bool = False) -> ImportResult:
    """Turn a REFI-QDA project into a study folder at ``out_dir``."""
    return write_study(read_qdpx(path), out_dir, force)


def import_qdc(path: str | Path, out_dir: str | Path, force: bool = False) -> ImportResult:
    """Turn a REFI-QDA codebook into ``out_dir/codebook.yaml`` (a study folder to fill)."""
    return write_study(read_qdc(path), out_dir, force)


__all__ = [
    "PROFILES", "Convention", "ExportResult", "ImportResult", "PositionMap", "export_qdc", "export_qdpx",
    "import_qdc", "import_qdpx", "machine_coding", "machine_user", "profile_for_origin", "read_qdc", "read_qdpx", "sidecar_path",
]
