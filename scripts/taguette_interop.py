"""Check autocode against a real Taguette server, both ways (issue #6).

Taguette (https://www.taguette.org, on PyPI) is a free QDA tool. This script starts a real
Taguette server on 127.0.0.1 (single-user mode, a throw-away SQLite database in a temporary
folder, a free port, no browser), drives it over HTTP as its web page does, and checks:

1. Taguette -> autocode. A project with nine tags (codes of configs/codebooks/nhs_leadership.yaml,
   with their definitions as descriptions), one document and highlights. Its codebook is
   exported from Taguette as REFI-QDA (``codebook.qdc``) and as CSV (``codebook.csv``), and
   each is read with ``autocode import``: every tag must arrive as a code; from the CSV with
   its description as the definition (Taguette 1.5.2 writes no descriptions into its .qdc and
   has no REFI-QDA project (.qdpx) export, so no documents or codings can travel).
2. autocode -> Taguette. Taguette's "Import codebook" page reads CSV only (a tag/name/path
   column and a description column): it is offered the .qdc of ``autocode codebook export``
   (Taguette refuses it) and then, as written, the CSV of ``autocode codebook export --out
   X.csv``, through Taguette's own import form. Every code must then be a Taguette tag (its
   label path) with its definition as the description. That project's codebook is exported
   again as CSV and as .qdc and both are read back with ``autocode import``: from the CSV the
   hierarchy, labels and definitions must come back; from the .qdc the names.
3. Encoding. A small codebook with non-ASCII names goes the same way, with and without the
   byte order mark autocode writes (Taguette guesses a CSV's encoding).

The server is always stopped at the end. Exit status 0 when every check passes, 1 otherwise.

Run it (Taguette in its own virtual environment, never in autocode's)::

    python3 -m venv /tmp/taguette-venv && /tmp/taguette-venv/bin/pip install taguette==1.5.2
    .venv/bin/python scripts/taguette_interop.py --taguette /tmp/taguette-venv/bin/taguette

``--save tests/fixtures/taguette`` copies the files Taguette exported (the test fixtures).
Note: at start-up Taguette itself tries to fetch news from msg.taguette.org; offline, it logs
an error and goes on. autocode makes no network access.
"""

from __future__ import annotations

import argparse
import csv
import html
import http.cookiejar
import io
import json
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from typing import Self

import yaml

ROOT = Path(__file__).resolve().parents[1]
CODEBOOK = ROOT / "configs" / "codebooks" / "nhs_leadership.yaml"
CODES = [
    "tension.administrative.service_delivery", "tension.administrative.service_improvement",
    "tension.partnering.dual_roles", "tension.partnering.joint_decisions",
    "tension.talent_management.staffing", "driver.time_pressures", "driver.financial_context",
    "strategy.breaking_down_silos.trust", "strategy.institutionalizing_partnership.away_days",
]
"""The codes made into Taguette tags (the first example of each is a paragraph of the document)."""
DEFAULT_TAG = "interesting"
"""Taguette adds this tag to every new project."""
NO_DEFINITION = "(no definition)"
SAVED = {"codebook.qdc": "codebook.qdc", "codebook.csv": "codebook.csv",
         "roundtrip.qdc": "nhs_leadership_roundtrip.qdc", "roundtrip.csv": "nhs_leadership_roundtrip.csv"}
"""Exports kept by --save: name here -> fixture name."""


# -- the server -----------------------------------------------------------------------------
def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class TaguetteServer:
    """A Taguette process on 127.0.0.1 with its own database; a context manager."""

    def __init__(self, executable: str, workdir: Path):
        self.executable, self.workdir = executable, workdir
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log = workdir / "taguette.log"
        self.proc: subprocess.Popen | None = None

    def __enter__(self) -> Self:
        cmd = [self.executable, "--no-browser", "--bind", "127.0.0.1", "--port", str(self.port),
               "--database", str(self.workdir / "taguette.sqlite3")]
        with open(self.log, "wb") as out:
            self.proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, cwd=self.workdir,
                                         stdin=subprocess.DEVNULL)
        return self

    def __exit__(self, *exc) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=10)

    def wait_token(self, timeout: float = 90) -> str:
        """The single-user login token Taguette prints once it listens."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"Taguette exited with status {self.proc.returncode}:\n{self.log_tail()}")
            found = re.search(r"\?token=([0-9a-f]+)", self.log.read_text(errors="replace"))
            if found:
                return found.group(1)
            time.sleep(0.3)
        raise RuntimeError(f"Taguette did not start within {timeout:.0f} s:\n{self.log_tail()}")

    def log_tail(self, lines: int = 30) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])

    def version(self) -> str:
        out = subprocess.run([self.executable, "--version"], check=False, capture_output=True, text=True, timeout=60)
        return (out.stdout or out.stderr).strip()


# -- HTTP, as Taguette's web page does it ---------------------------------------------------
class Client:
    """Cookies (login and XSRF) kept between requests; errors returned, not raised."""

    def __init__(self, base: str):
        self.base = base
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar))

    def request(self, path: str, data: bytes | None = None, ctype: str | None = None) -> tuple[int, bytes, str]:
        headers = {"X-XSRFToken": self.xsrf()} if data is not None else {}
        if ctype:
            headers["Content-Type"] = ctype
        req = urllib.request.Request(self.base + path, data=data, headers=headers)
        try:
            with self.opener.open(req, timeout=60) as resp:
                return resp.status, resp.read(), resp.geturl()
        except urllib.error.HTTPError as err:
            return err.code, err.read(), err.geturl()

    def xsrf(self) -> str:
        return next((c.value for c in self.jar if c.name == "_xsrf"), "")

    def get(self, path: str) -> bytes:
        status, body, _ = self.request(path)
        if status != 200:
            raise RuntimeError(f"GET {path}: HTTP {status}: {body[:300]!r}")
        return body

    def post_json(self, path: str, obj: dict) -> dict:
        status, body, _ = self.request(path, json.dumps(obj).encode(), "application/json")
        if status != 200:
            raise RuntimeError(f"POST {path}: HTTP {status}: {body[:300]!r}")
        return json.loads(body)

    def post_form(self, path: str, fields: list[tuple[str, str]]) -> tuple[int, bytes, str]:
        data = urllib.parse.urlencode(fields + [("_xsrf", self.xsrf())]).encode()
        return self.request(path, data, "application/x-www-form-urlencoded")

    def post_files(self, path: str, fields: dict[str, str], name: str, filename: str, data: bytes,
                   ctype: str) -> tuple[int, bytes, str]:
        body, boundary = multipart({**fields, "_xsrf": self.xsrf()}, name, filename, data, ctype)
        return self.request(path, body, f"multipart/form-data; boundary={boundary}")


def multipart(fields: dict[str, str], name: str, filename: str, data: bytes, ctype: str) -> tuple[bytes, str]:
    boundary = uuid.uuid4().hex
    out = io.BytesIO()
    for key, value in fields.items():
        out.write(f'--{boundary}\r\nContent-Disposition: form-data; name="{key}"\r\n\r\n{value}\r\n'.encode())
    out.write(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; filename="{filename}"\r\n'
              f"Content-Type: {ctype}\r\n\r\n".encode())
    out.write(data + f"\r\n--{boundary}--\r\n".encode())
    return out.getvalue(), boundary


class FormReader(HTMLParser):
    """What a browser would submit from the form whose action holds ``action``, and any
    error alert on the page."""

    def __init__(self, action: str):
        super().__init__()
        self.action, self.inside, self.fields, self.errors, self._alert = action, False, [], [], None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form":
            self.inside = self.action in (a.get("action") or "")
        elif tag == "input" and self.inside and a.get("name") and "disabled" not in a:
            self._input(a)
        elif tag == "div" and "alert-danger" in (a.get("class") or ""):
            self._alert = []

    def _input(self, a: dict) -> None:
        kind = (a.get("type") or "text").lower()
        if kind == "checkbox" and "checked" in a:
            self.fields.append((a["name"], a.get("value") or "on"))
        elif kind == "text":  # HTML strips line breaks from a text input's value
            self.fields.append((a["name"], re.sub(r"[\r\n]", "", a.get("value") or "")))
        elif kind == "hidden" and a["name"] != "_xsrf":
            self.fields.append((a["name"], a.get("value") or ""))

    def handle_data(self, data):
        if self._alert is not None:
            self._alert.append(data)

    def handle_endtag(self, tag):
        if tag == "form":
            self.inside = False
        elif tag == "div" and self._alert is not None:
            self.errors.append(" ".join("".join(self._alert).split()))
            self._alert = None


class TextOf(HTMLParser):
    """The text of an HTML fragment, as Taguette counts offsets (tags left out)."""

    def __init__(self):
        super().__init__()
        self.parts: list[str] = []

    def handle_data(self, data):
        self.parts.append(data)

    @classmethod
    def of(cls, markup: str) -> str:
        parser = cls()
        parser.feed(markup)
        parser.close()
        return "".join(parser.parts)


# -- Taguette operations --------------------------------------------------------------------
def login(client: Client, token: str) -> None:
    client.get(f"/?token={token}")
    if not any(c.name == "user" for c in client.jar):
        raise RuntimeError("Taguette did not log in with its single-user token")


def new_project(client: Client, name: str, description: str) -> int:
    client.get("/project/new")  # sets the XSRF cookie
    status, body, url = client.post_form("/project/new", [("name", name), ("description", description)])
    found = re.search(r"/project/(\d+)$", url)
    if status != 200 or not found:
        raise RuntimeError(f"project not created: HTTP {status} at {url}: {body[:300]!r}")
    return int(found.group(1))


def add_tags(client: Client, pid: int, tags: list[tuple[str, str]]) -> dict[str, int]:
    return {path: client.post_json(f"/api/project/{pid}/tag/new", {"path": path, "description": desc})["id"]
            for path, desc in tags}


def add_document(client: Client, pid: int, name: str, paragraphs: list[str]) -> int:
    page = "<html><body>" + "".join(f"<p>{html.escape(p)}</p>" for p in paragraphs) + "</body></html>"
    status, body, _ = client.post_files(f"/api/project/{pid}/document/new", {"name": name, "description": ""},
                                        "file", f"{name}.html", page.encode(), "text/html")
    if status != 200:
        raise RuntimeError(f"document not added: HTTP {status}: {body[:300]!r}")
    return json.loads(body)["created"]


def byte_span(text: str, part: str) -> tuple[int, int]:
    """Where ``part`` is in ``text``, in UTF-8 bytes (Taguette's highlight offsets)."""
    start = len(text[: text.index(part)].encode())
    return start, start + len(part.encode())


def add_highlights(client: Client, pid: int, doc: int, wanted: list[tuple[str, list[int]]]) -> None:
    contents = json.loads(client.get(f"/api/project/{pid}/document/{doc}/contents"))["contents"]
    text = TextOf.of("".join(c["contents"] for c in contents))
    for paragraph, tag_ids in wanted:
        start, end = byte_span(text, paragraph)
        client.post_json(f"/api/project/{pid}/document/{doc}/highlight/new",
                         {"start_offset": start, "end_offset": end, "tags": tag_ids})


def highlights(client: Client, pid: int) -> list[dict]:
    return json.loads(client.get(f"/api/project/{pid}/highlights/"))["highlights"]


def codebook_csv_rows(data: bytes) -> list[dict]:
    return list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"))))


def import_codebook(client: Client, pid: int, filename: str, data: bytes, ctype: str) -> tuple[int, list[str]]:
    """Taguette's "Import codebook" page, as a browser uses it: upload, then confirm the tags
    it lists. Returns the upload's HTTP status and the page's error messages."""
    page = f"/project/{pid}/import_codebook"
    client.get(page)
    status, body, _ = client.post_files(page, {}, "file", filename, data, ctype)
    form = FormReader("import_codebook")
    form.feed(body.decode("utf-8", errors="replace"))
    if status != 200 or form.errors:
        return status, form.errors
    status, body, url = client.post_form(page, form.fields)
    if status != 200 or not url.rstrip("/").endswith(f"/project/{pid}"):
        return status, [f"confirmation not accepted (ended at {url}): {body[:300]!r}"]
    return status, []


# -- autocode -------------------------------------------------------------------------------
def autocode(executable: str, *args: str) -> str:
    out = subprocess.run([executable, *args], check=False, capture_output=True, text=True, timeout=300)
    if out.returncode != 0:
        raise RuntimeError(f"autocode {' '.join(args)} failed ({out.returncode}):\n{out.stdout}{out.stderr}")
    return out.stdout.strip()


def flat_codes(book: dict) -> list[dict]:
    out, stack = [], list(reversed(book.get("codes", [])))
    while stack:
        code = stack.pop()
        out.append(code)
        stack += reversed(code.get("children", []))
    return out


def imported(executable: str, source: Path, out: Path) -> tuple[str, dict]:
    summary = autocode(executable, "import", str(source), "--out", str(out))
    return summary, yaml.safe_load((out / "codebook.yaml").read_text(encoding="utf-8"))


def qdc_codes(data: bytes) -> list[tuple[str, str]]:
    """(name, description) of every code in a .qdc, parents before children."""
    root = ET.fromstring(data)
    return [(el.get("name") or "", "".join(d.text or "" for d in el if d.tag.endswith("}Description")))
            for el in root.iter() if el.tag.split("}")[-1] == "Code"]


def tree(book: dict) -> set[tuple[str, str, str]]:
    """(label, parent's label, definition) of every code: the shape of a codebook, ids left out."""
    out, stack = set(), [(c, "") for c in book.get("codes", [])]
    while stack:
        code, parent = stack.pop()
        out.add((code["label"], parent, code["definition"]))
        stack += [(c, code["label"]) for c in code.get("children", [])]
    return out


# -- the checks -----------------------------------------------------------------------------
@dataclass
class Report:
    lines: list[str] = field(default_factory=list)
    failed: int = 0

    def check(self, ok: bool, what: str, detail: str = "") -> bool:
        self.failed += not ok
        self.lines.append(f"[{'ok' if ok else 'FAIL'}] {what}" + (f": {detail}" if detail else ""))
        return ok

    def note(self, what: str) -> None:
        self.lines.append(f"       {what}")


def load_codes() -> list[dict]:
    book = yaml.safe_load(CODEBOOK.read_text(encoding="utf-8"))
    by_id = {c["id"]: c for c in flat_codes(book)}
    return [by_id[i] for i in CODES]


def taguette_to_autocode(client: Client, ac: str, work: Path, exports: dict, report: Report) -> None:
    codes = load_codes()
    pid = new_project(client, "autocode interop", "Codes of the NHS leadership codebook")
    ids = add_tags(client, pid, [(c["label"], c["definition"]) for c in codes])
    paragraphs = [c["examples"][0] for c in codes]
    doc = add_document(client, pid, "interview_01", paragraphs)
    wanted = [(p, [ids[c["label"]]]) for p, c in zip(paragraphs, codes)]
    wanted[0][1].append(ids[codes[1]["label"]])  # one highlight with two tags
    add_highlights(client, pid, doc, wanted)
    marks = highlights(client, pid)
    report.check(len(marks) == len(paragraphs) and all(TextOf.of(m["content"]).strip() == p for m, p in
                 zip(marks, paragraphs)), "Taguette holds the document's highlights",
                 f"{len(marks)} highlights, {sum(len(m['tags']) for m in marks)} tag applications")
    for name in ("codebook.qdc", "codebook.csv"):
        exports[name] = client.get(f"/project/{pid}/export/{name}")
    sqlite = client.get(f"/project/{pid}/export/project.sqlite3")
    report.note(f"Taguette's project export is a SQLite database ({len(sqlite)} bytes, "
                f"{'SQLite' if sqlite.startswith(b'SQLite format 3') else 'unknown'} format), not REFI-QDA")
    tags = [DEFAULT_TAG] + [c["label"] for c in codes]
    rows = codebook_csv_rows(exports["codebook.csv"])
    report.check([r["tag"] for r in rows] == tags and all(r["description"] for r in rows),
                 "Taguette's codebook.csv holds every tag with its description", f"{len(rows)} tags")
    import_taguette_qdc(ac, work, exports, tags, report)
    import_taguette_csv(ac, work, exports, rows, report)
    report.check(not (work / "from_taguette" / "transcripts").exists(),
                 "documents and codings: none (Taguette has no REFI-QDA project export)",
                 f"Taguette held 1 document and {len(marks)} highlights")


def import_export(ac: str, work: Path, exports: dict, name: str, study: str, report: Report) -> tuple[dict, list]:
    """Save one of Taguette's exports, import it with autocode into ``work/study``; the codebook
    and its codes, flat."""
    path = work / name
    path.write_bytes(exports[name])
    summary, book = imported(ac, path, work / study)
    report.note(summary.splitlines()[0])
    return book, flat_codes(book)


def import_taguette_qdc(ac: str, work: Path, exports: dict, tags: list[str], report: Report) -> None:
    book, got = import_export(ac, work, exports, "codebook.qdc", "from_taguette", report)
    report.check([c["label"] for c in got] == tags and all("children" not in c for c in book["codes"]),
                 "autocode imports every code of Taguette's .qdc, flat", f"{len(got)} codes")
    report.check(all(c["definition"] == NO_DEFINITION for c in got),
                 "descriptions: Taguette's .qdc carries none, so each code reads '(no definition)'")


def import_taguette_csv(ac: str, work: Path, exports: dict, rows: list[dict], report: Report) -> None:
    book, got = import_export(ac, work, exports, "codebook.csv", "from_taguette_csv", report)
    report.check([(c["label"], c["definition"]) for c in got] == [(r["tag"], r["description"]) for r in rows]
                 and all("children" not in c for c in book["codes"]),
                 "autocode imports Taguette's codebook.csv: every tag, its description as the definition",
                 f"{len(got)} codes, flat, ids from the names ({got[1]['id']})")


def autocode_to_taguette(client: Client, ac: str, work: Path, exports: dict, report: Report) -> None:
    pid = new_project(client, "autocode codebook", "autocode's codebook, imported")
    qdc = work / "nhs_leadership.qdc"
    autocode(ac, "codebook", "export", str(CODEBOOK), "--out", str(qdc))
    status, errors = import_codebook(client, pid, qdc.name, qdc.read_bytes(), "application/xml")
    report.note(f"Taguette's codebook import given autocode's .qdc: HTTP {status}"
                + (f", '{'; '.join(errors)}'" if errors else ", accepted"))
    report.check(status == 400, "Taguette refuses a .qdc codebook (its import reads CSV only)")
    offered = work / "nhs_leadership.csv"
    autocode(ac, "codebook", "export", str(CODEBOOK), "--out", str(offered))
    rows = codebook_csv_rows(offered.read_bytes())
    status, errors = import_codebook(client, pid, offered.name, offered.read_bytes(), "text/csv")
    report.check(status == 200 and not errors, "Taguette imports the CSV of 'autocode codebook export --out X.csv' "
                 "as written, through its import form", "; ".join(errors) or f"{len(rows)} codes offered")
    for name in ("csv", "qdc"):
        exports[f"roundtrip.{name}"] = client.get(f"/project/{pid}/export/codebook.{name}")
    held = {r["tag"]: r["description"] for r in codebook_csv_rows(exports["roundtrip.csv"])}
    wrong = [r["tag"] for r in rows if held.get(r["tag"]) != r["description"]]
    report.check(not wrong and len(held) == len(rows) + 1,
                 "every autocode code is a Taguette tag (its label path) with its definition as description",
                 f"{len(held)} tags ({len(rows)} codes + '{DEFAULT_TAG}')" + (f"; wrong: {wrong}" if wrong else ""))
    round_trip(ac, work, exports, report)


def round_trip(ac: str, work: Path, exports: dict, report: Report) -> None:
    original = yaml.safe_load(CODEBOOK.read_text(encoding="utf-8"))
    held = codebook_csv_rows(exports["roundtrip.csv"])
    for name in ("csv", "qdc"):
        (work / f"roundtrip.{name}").write_bytes(exports[f"roundtrip.{name}"])
    _, book = imported(ac, work / "roundtrip.csv", work / "roundtrip_csv")
    want = tree(original) | {(DEFAULT_TAG, "", held[0]["description"])}
    ids = {c["label"]: c["id"] for c in flat_codes(book)}
    report.check(tree(book) == want, "autocode -> Taguette (CSV) -> autocode keeps the hierarchy, labels and "
                 "definitions", f"{len(ids)} codes; ids made from the labels ({ids['Away days']}); include, "
                 "exclude and examples stay behind (Taguette keeps a description only)")
    _, book = imported(ac, work / "roundtrip.qdc", work / "roundtrip_qdc")
    labels = [c["label"] for c in flat_codes(book)]
    report.check(sorted(labels) == sorted(r["tag"] for r in held) and all("children" not in c for c in book["codes"]),
                 "autocode -> Taguette -> .qdc -> autocode keeps every tag name",
                 f"{len(labels)} codes, flat, '(no definition)' (Taguette's .qdc has no descriptions)")


ACCENTS = {"name": "accents", "codes": [
    {"id": "trust", "label": "Trust", "definition": "Reliance built over time, in the leaders’ own words.",
     "children": [{"id": "trust.coffee", "label": "Coffee talk", "definition": "Informal chats over coffee."}]}]}
"""A codebook whose only non-ASCII character is a curly apostrophe (as Word types it)."""


def encoding_check(client: Client, ac: str, work: Path, report: Report) -> None:
    """Taguette guesses a CSV's encoding; autocode's byte order mark makes it read UTF-8."""
    book, out = work / "accents.yaml", work / "accents.csv"
    book.write_text(yaml.safe_dump(ACCENTS, allow_unicode=True), encoding="utf-8")
    autocode(ac, "codebook", "export", str(book), "--out", str(out))
    data = out.read_bytes()
    want = {r["tag"]: r["description"] for r in codebook_csv_rows(data)}
    held = {}
    for bom, payload in ((True, data), (False, data.removeprefix(b"\xef\xbb\xbf"))):
        pid = new_project(client, f"accents, BOM {bom}", "")
        status, errors = import_codebook(client, pid, out.name, payload, "text/csv")
        if status != 200 or errors:
            raise RuntimeError(f"Taguette refused the CSV (BOM {bom}): HTTP {status} {'; '.join(errors)}")
        rows = codebook_csv_rows(client.get(f"/project/{pid}/export/codebook.csv"))
        held[bom] = {r["tag"]: r["description"] for r in rows if r["tag"] != DEFAULT_TAG}
    report.check(data.startswith(b"\xef\xbb\xbf") and held[True] == want,
                 "a non-ASCII character arrives intact (autocode's CSV starts with a UTF-8 BOM)",
                 f"{len(held[True])} tags, {held[True]['Trust']!r}")
    report.note(f"the same CSV without the BOM: Taguette read {held[False].get('Trust')!r}"
                + (" (its encoding guess failed)" if held[False] != want else " (read right)"))


def default_autocode() -> str:
    here = Path(sys.executable).with_name("autocode")
    return str(here) if here.exists() else (shutil.which("autocode") or "autocode")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--taguette", default=shutil.which("taguette") or "taguette",
                        help="the taguette executable (installed in its own virtual environment)")
    parser.add_argument("--autocode", default=default_autocode(), help="the autocode executable")
    parser.add_argument("--save", type=Path, help="copy Taguette's exports into this folder")
    args = parser.parse_args(argv)
    report, exports = Report(), {}
    with tempfile.TemporaryDirectory(prefix="taguette_interop_") as tmp:
        work = Path(tmp)
        server = TaguetteServer(args.taguette, work)
        report.note(f"{server.version()} on {server.base}")
        try:
            with server:
                client = Client(server.base)
                login(client, server.wait_token())
                taguette_to_autocode(client, args.autocode, work, exports, report)
                autocode_to_taguette(client, args.autocode, work, exports, report)
                encoding_check(client, args.autocode, work, report)
        except (RuntimeError, OSError, ValueError, KeyError) as exc:
            report.check(False, "the run stopped", f"{type(exc).__name__}: {exc}")
            if server.log.exists():
                report.note("Taguette's log ends:\n" + server.log_tail())
    if args.save:
        args.save.mkdir(parents=True, exist_ok=True)
        for name, target in SAVED.items():
            if name in exports:
                (args.save / target).write_bytes(exports[name])
    print("\n".join(report.lines))
    print(f"{'FAILED: ' + str(report.failed) + ' check(s)' if report.failed else 'all checks passed'}")
    return 1 if report.failed else 0


if __name__ == "__main__":
    sys.exit(main())
