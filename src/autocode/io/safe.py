"""Open untrusted zip archives and XML safely.

Files from other tools (.qdpx projects, .docx transcripts) are zip archives holding XML. Every
archive is checked before anything is read from it: member names (no absolute paths, drive
letters or ``..``), the number of members, each member's size and compression ratio and the
total size (against zip bombs). Members are read with a hard cap on the bytes actually
decompressed, so a lying size header cannot get past the limits. XML is parsed with defusedxml
with DTDs refused outright, so entity expansion ("billion laughs") and external entities (XXE)
cannot happen. Every failure is an :class:`AutocodeError` naming the file and the fix.
"""

from __future__ import annotations

import io
import stat
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from xml.etree.ElementTree import Element, ParseError

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring

from autocode.errors import AutocodeError

MiB = 1024 * 1024


@dataclass(frozen=True)
class Limits:
    """Bounds on what an archive may hold; the defaults suit interview projects."""

    max_members: int = 10_000
    max_member_bytes: int = 256 * MiB
    max_total_bytes: int = 1024 * MiB
    max_ratio: float = 200.0
    ratio_floor_bytes: int = 1 * MiB
    """The compression ratio is only checked for members larger than this."""
    max_file_bytes: int = 2048 * MiB
    """The largest archive or text file accepted at all."""


DEFAULT_LIMITS = Limits()


def check_file_size(path: Path, limits: Limits = DEFAULT_LIMITS, text: bool = False) -> int:
    """The size of ``path``, refusing a missing or oversized file (``text``: a file read whole,
    held to the member limit rather than the archive limit)."""
    cap = limits.max_member_bytes if text else limits.max_file_bytes
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise AutocodeError(f"cannot read file ({exc.strerror}); check that it exists", path) from None
    if size > cap:
        raise AutocodeError(f"file is {size // MiB} MiB, over the {cap // MiB} MiB limit; split it", path)
    return size


def member_name_problem(name: str) -> str | None:
    """Why a zip member name is unsafe to use, or None when it is fine."""
    if "\x00" in name:
        return "holds a NUL character"
    unified = name.replace("\\", "/")
    if unified.startswith("/") or (len(unified) > 1 and unified[1] == ":"):
        return "is an absolute path"
    if ".." in PurePosixPath(unified).parts:
        return "climbs out of the archive with '..'"
    return None


class SafeZip:
    """A zip archive whose members were all checked; read members with :meth:`read`."""

    def __init__(self, path: str | Path, what: str, limits: Limits = DEFAULT_LIMITS):
        self.path = Path(path)
        self.what = what
        self.limits = limits
        check_file_size(self.path, limits)
        try:
            self._zip = zipfile.ZipFile(self.path)
            infos = self._zip.infolist()
        except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, OSError, ValueError):
            raise AutocodeError(
                f"not a readable zip archive (truncated or damaged); expected {what}. "
                "Export the file again from its program",
                self.path,
            ) from None
        self.members = self._check(infos)

    def _check(self, infos: list[zipfile.ZipInfo]) -> dict[str, zipfile.ZipInfo]:
        limits = self.limits
        if len(infos) > limits.max_members:
            self._refuse(f"holds {len(infos)} files, over the limit of {limits.max_members}")
        total = 0
        members = {}
        for info in infos:
            problem = member_name_problem(info.filename)
            if problem:
                self._refuse(f"member {info.filename!r} {problem} (path traversal)")
            if stat.S_ISLNK(info.external_attr >> 16):
                self._refuse(f"member {info.filename!r} is a symbolic link")
            self._check_size(info)
            total += info.file_size
            if total > limits.max_total_bytes:
                self._refuse(f"unpacks to over {limits.max_total_bytes // MiB} MiB (a zip bomb?)")
            if not info.is_dir():
                members[info.filename.replace("\\", "/")] = info
        return members

    def _check_size(self, info: zipfile.ZipInfo) -> None:
        limits = self.limits
        if info.file_size > limits.max_member_bytes:
            self._refuse(f"member {info.filename!r} unpacks to {info.file_size // MiB} MiB, over the limit")
        ratio = info.file_size / max(info.compress_size, 1)
        if info.file_size > limits.ratio_floor_bytes and ratio > limits.max_ratio:
            self._refuse(f"member {info.filename!r} is compressed {ratio:.0f}:1, which looks like a zip bomb")

    def _refuse(self, why: str) -> None:
        raise AutocodeError(
            f"unsafe archive: {why}; expected {self.what}. Do not open files of unknown origin", self.path
        )

    def find(self, name: str) -> str | None:
        """The stored member name matching ``name`` exactly, else case-insensitively."""
        if name in self.members:
            return name
        lowered = name.lower()
        for stored in self.members:
            if stored.lower() == lowered:
                return stored
        return None

    def read(self, name: str) -> bytes:
        """Read one member, never decompressing more than its checked size allows."""
        info = self.members[name]
        cap = min(info.file_size, self.limits.max_member_bytes)
        try:
            with self._zip.open(info) as fh:
                data = fh.read(cap + 1)
        except (zipfile.BadZipFile, EOFError, OSError, zlib.error, NotImplementedError, RuntimeError):
            raise AutocodeError(
                f"member {name!r} cannot be unpacked (damaged, encrypted or truncated); "
                "export the file again from its program",
                self.path,
            ) from None
        if len(data) > cap:
            self._refuse(f"member {name!r} unpacks to more than its stated size")
        return data

    def close(self) -> None:
        self._zip.close()

    def __enter__(self) -> "SafeZip":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


MAX_XML_DEPTH = 200
"""The deepest element nesting accepted in untrusted XML (readers walk code trees recursively)."""


def _too_deep(root: Element, limit: int) -> bool:
    stack = [(root, 1)]
    while stack:
        el, depth = stack.pop()
        if depth > limit:
            return True
        stack.extend((c, depth + 1) for c in el)
    return False


def parse_xml(data: bytes, path: Path, what: str) -> Element:
    """Parse untrusted XML; DTDs, entities and external references are refused, and so is
    nesting deeper than :data:`MAX_XML_DEPTH`."""
    try:
        root = fromstring(data, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except DefusedXmlException:
        raise AutocodeError(
            f"{what} declares a DTD or entities, which autocode refuses for safety "
            "(XML entity expansion or external entities); export the file again from its program",
            path,
        ) from None
    except (ParseError, ValueError) as exc:
        raise AutocodeError(f"{what} is not well-formed XML ({exc}); export the file again", path) from None
    except RecursionError:
        root = None
    if root is None or _too_deep(root, MAX_XML_DEPTH):
        raise AutocodeError(f"{what} nests elements more than {MAX_XML_DEPTH} deep, which autocode refuses for "
                            "safety; export the file again from its program", path)
    return root


def local(tag: str) -> str:
    """An XML tag without its ``{namespace}``."""
    return tag.rsplit("}", 1)[-1]


def zip_bytes(files: dict[str, bytes]) -> bytes:
    """A deflated zip archive (in memory) holding ``files`` in the given order."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in files.items():
            info = zipfile.ZipInfo(name, date_time=(2020, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            archive.writestr(info, data)
    return buffer.getvalue()
