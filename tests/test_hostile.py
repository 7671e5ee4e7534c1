"""Every reader and importer survives hostile input: one line on stderr, exit 1, no traceback,
no partial output, inputs untouched (CLI), and nothing but AutocodeError (library, fuzzed).

Three parts: the corpus of nasty files in tests/fixtures/hostile (made by its make_hostile.py)
fed to ``autocode import``; broken study folders, codings and model folders fed to ``run``,
``grade`` and ``agree``; and hypothesis property tests of each reader on random input.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import zipfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from autocode.cli import app
from autocode.errors import AutocodeError
from tests.conftest import FIXTURES, MINI

HOSTILE = FIXTURES / "hostile"
runner = CliRunner()
FUZZ = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def snapshot(folder: Path) -> dict:
    return {p.relative_to(folder): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def assert_refused(args, out: Path, *fragments):
    """exit 1; exactly one line, on stderr, starting 'Error:'; nothing on stdout; no output."""
    result = runner.invoke(app, [str(a) for a in args])
    assert result.exit_code == 1, (result.exit_code, result.output, result.exception)
    assert result.stdout == "", result.stdout
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.stderr
    assert "Traceback" not in result.output
    for fragment in fragments:
        assert fragment in lines[0], lines[0]
    assert not out.exists(), f"partial output left at {out}"
    assert not list(out.parent.glob(f".{out.name}.*")), "temporary output left behind"


# -- the corpus, through ``autocode import`` ---------------------------------------------------
CASES = {
    "random.qdpx": "not a readable zip", "random.qdc": "not well-formed XML", "random.docx": "not a readable zip",
    "random.vtt": "looks binary", "random.srt": "looks binary", "random.txt": "looks binary",
    "empty.qdpx": "not a readable zip", "empty.qdc": "not well-formed XML", "empty.docx": "not a readable zip",
    "empty.vtt": "empty", "empty.srt": "empty", "empty.txt": "empty", "blank.txt": "empty",
    "truncated.qdpx": "truncated or damaged", "truncated.qdc": "not well-formed XML",
    "truncated.docx": "truncated or damaged", "no-project.qdpx": "no project.qde", "not-xml.qdc": "not well-formed",
    "wrong-root.qdc": "root element",
    "laughs.qdc": "refuses for safety", "xxe.qdc": "refuses for safety", "laughs.qdpx": "refuses for safety",
    "xxe.qdpx": "refuses for safety", "xxe.docx": "refuses for safety",
    "deep.qdc": "nests elements", "deep.qdpx": "nests elements",
    "bomb.qdpx": "zip bomb", "bomb.docx": "zip bomb",
    "traversal.qdpx": "path traversal", "absolute.qdpx": "path traversal", "backslash.qdpx": "path traversal",
    "traversal.docx": "path traversal", "symlink.qdpx": "symbolic link",
    "utf16.txt": "looks binary", "utf16.vtt": "UTF-16", "mixed.txt": "neither UTF-8 nor cp1252",
    "no-header.vtt": "WEBVTT", "no-cues.srt": "no cues", "huge-line.vtt": "no cues",
    "project.nvp": "cannot import",
}


def test_the_corpus_is_complete_and_reproducible(tmp_path):
    import importlib.util

    spec = importlib.util.spec_from_file_location("make_hostile", HOSTILE / "make_hostile.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.main(tmp_path)
    made = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    assert set(made) == set(CASES)
    assert all((HOSTILE / name).read_bytes() == data for name, data in made.items())


@pytest.mark.parametrize("name", sorted(CASES))
def test_hostile_file_import_is_one_line_and_exit_1(name, tmp_path):
    src = tmp_path / name
    shutil.copyfile(HOSTILE / name, src)
    before = src.read_bytes()
    out = tmp_path / "study"
    assert_refused(["import", src, "--out", out], out, name, CASES[name])
    assert src.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == [name]  # nothing extracted anywhere
    assert not (tmp_path.parent / "evil.txt").exists()


# -- broken studies, through ``autocode run`` ----------------------------------------------------
def _append(path: Path, text: str) -> None:
    with open(path, "a", encoding="utf-8") as fh:
        fh.write(text)


def _coding(**row) -> str:
    base = {"transcript": "M01", "start": 0, "end": 5, "code": "tension.beds"}
    return json.dumps({**base, **row}) + "\n"


NOISE = bytes(range(256)) * 8
STUDY_CASES = {
    "random bytes transcript": (lambda s: (s / "transcripts" / "M03.txt").write_bytes(NOISE), ["M03.txt", "binary"]),
    "random bytes codings": (lambda s: (s / "codings" / "coder_a.jsonl").write_bytes(NOISE), ["coder_a.jsonl"]),
    "random bytes participants": (lambda s: (s / "participants.csv").write_bytes(NOISE), ["participants.csv"]),
    "random bytes study.yaml": (lambda s: (s / "study.yaml").write_bytes(NOISE), ["study.yaml"]),
    "random bytes codebook": (lambda s: (s / "codebook.yaml").write_bytes(NOISE), ["codebook.yaml"]),
    "random bytes speakers.csv": (lambda s: (s / "speakers.csv").write_bytes(NOISE), ["speakers.csv"]),
    "truncated transcript": (lambda s: (s / "transcripts" / "M01.txt").write_bytes(
        (MINI / "transcripts" / "M01.txt").read_bytes()[:60]), ["M01"]),
    "truncated codings": (lambda s: (s / "codings" / "coder_b.jsonl").write_bytes(
        (MINI / "codings" / "coder_b.jsonl").read_bytes()[:-25]), ["coder_b.jsonl", "not valid JSON"]),
    "truncated participants": (lambda s: (s / "participants.csv").write_text("participant_id,role\nM01,phys"),
                               ["participants.csv", "M02"]),
    "empty codings": (lambda s: (s / "codings" / "coder_a.jsonl").write_bytes(b""), ["coder_a.jsonl", "no codings"]),
    "empty participants": (lambda s: (s / "participants.csv").write_bytes(b""), ["participants.csv", "participant_id"]),
    "empty codebook": (lambda s: (s / "codebook.yaml").write_bytes(b""), ["codebook.yaml"]),
    "huge single line transcript": (lambda s: ((s / "transcripts" / "M05.txt").write_text(
        "Interviewer: Go on?\n\nM05: " + "we had no beds " * 80_000 + "\n"), shutil.rmtree(s / "codings")),
        ["M05.txt", "split it"]),
    "oversized transcript (sparse 40 MiB)": (lambda s: os.truncate(s / "transcripts" / "M02.txt", 40 * 2**20),
                                            ["M02.txt", "over the 32 MiB limit"]),
    "span past the end": (lambda s: _append(s / "codings" / "coder_a.jsonl", _coding(end=10**9)), ["outside"]),
    "negative span": (lambda s: _append(s / "codings" / "coder_a.jsonl", _coding(start=-3)), ["outside"]),
    "empty span": (lambda s: _append(s / "codings" / "coder_a.jsonl", _coding(start=4, end=4)), ["empty"]),
    "float offsets": (lambda s: _append(s / "codings" / "coder_a.jsonl", _coding(end=5.5)), ["whole numbers"]),
    "boolean offsets": (lambda s: _append(s / "codings" / "coder_a.jsonl", _coding(start=False)), ["whole numbers"]),
    "span in an unknown transcript": (lambda s: _append(s / "codings" / "coder_a.jsonl", _coding(transcript="M99")),
                                      ["M99"]),
    "code missing from the codebook": (lambda s: _append(s / "codings" / "coder_b.jsonl", _coding(code="beds.secret")),
                                       ["beds.secret", "not in the codebook"]),
    "null code": (lambda s: _append(s / "codings" / "coder_b.jsonl", _coding(code=None)), ["not in the codebook"]),
    "coding that is a list": (lambda s: _append(s / "codings" / "coder_b.jsonl", "[1, 2, 3]\n"), ["JSON object"]),
    "duplicate participant ids": (lambda s: _append(s / "participants.csv", "M02,manager,x\n"), ["twice"]),
    "duplicate transcript ids": (lambda s: shutil.copyfile(s / "transcripts" / "M01.txt", s / "transcripts" / "M01.md"),
                                 ["M01", "share the id"]),
    "mixed-encoding transcript": (lambda s: (s / "transcripts" / "M04.txt").write_bytes(
        (MINI / "transcripts" / "M04.txt").read_bytes() + "caf\u00e9 ".encode() + b"\x81\x9d\n"), ["M04.txt", "UTF-8"]),
    "mixed-encoding codings": (lambda s: (s / "codings" / "coder_a.jsonl").write_bytes(
        (MINI / "codings" / "coder_a.jsonl").read_bytes() + b'{"x": "caf\xe9"}\n'), ["coder_a.jsonl", "UTF-8"]),
    "mixed-encoding participants": (lambda s: _append_bytes(s / "participants.csv", b"M9,caf\xe9,x\n"),
                                    ["participants.csv", "UTF-8"]),
    "YAML alias bomb codebook": (lambda s: (s / "codebook.yaml").write_text(
        'a: &a ["x","x","x","x","x","x","x","x","x","x"]\n'
        + "".join(f"{c}: &{c} [{', '.join(['*' + p] * 10)}]\n" for p, c in zip("abcdefg", "bcdefgh"))
        + "name: x\ncodes: *h\n"), ["codebook.yaml"]),
    "YAML python tag": (lambda s: (s / "study.yaml").write_text("name: !!python/object/apply:os.system ['true']\n"),
                        ["study.yaml"]),
}


def _append_bytes(path: Path, data: bytes) -> None:
    with open(path, "ab") as fh:
        fh.write(data)


@pytest.mark.parametrize("case", sorted(STUDY_CASES))
def test_hostile_study_run_is_one_line_and_exit_1(case, mini, mini_model, tmp_path):
    breaker, fragments = STUDY_CASES[case]
    breaker(mini)
    before = snapshot(mini)
    model_before = snapshot(mini_model)
    out = tmp_path / "out"
    assert_refused(["run", mini, "--model", mini_model, "--out", out], out, *fragments)
    assert snapshot(mini) == before and snapshot(mini_model) == model_before


SEGMENT_CASES = {
    "not JSON on a later line": ('{"transcript":"M01","start":0,"end":10,"codes":[]}\n{bad\n', "not valid JSON"),
    "a list line": ('{"transcript":"M01","start":0,"end":10,"codes":[]}\n[1,2]\n', "JSON object"),
    "no offsets": ('{"transcript":"M01","codes":["tension"]}\n', "must be whole numbers"),
    "span outside the text": ('{"transcript":"M01","start":-5,"end":999999,"codes":["tension"]}\n', "lies outside"),
    "unknown code": ('{"transcript":"M01","start":0,"end":9,"codes":["nope"]}\n', "not in the codebook"),
    "codes not a list": ('{"transcript":"M01","start":0,"end":9,"codes":"tension"}\n', "list of code ids"),
    "unknown transcript": ('{"transcript":"M77","start":0,"end":9,"codes":[]}\n', "M77"),
    "not UTF-8": (b'{"transcript":"M01","codes":["caf\xe9"]}\n', "UTF-8"),
}


@pytest.mark.parametrize("case", sorted(SEGMENT_CASES))
def test_hostile_segments_file_for_grade_and_agree(case, tmp_path):
    data, fragment = SEGMENT_CASES[case]
    coding = tmp_path / "run" / "segments.jsonl"
    coding.parent.mkdir()
    coding.write_bytes(data if isinstance(data, bytes) else data.encode())
    out = tmp_path / "out"
    assert_refused(["grade", MINI, "--coding", coding, "--out", out], out, "segments.jsonl", fragment)
    assert_refused(["agree", MINI / "codings" / "coder_a.jsonl", coding, "--study", MINI, "--out", out], out,
                   "segments.jsonl", fragment)


# -- model folders: checked before use ---------------------------------------------------------
def _model_copy(mini_model: Path, tmp_path: Path) -> Path:
    folder = tmp_path / "model"
    shutil.copytree(mini_model, folder)
    return folder


def _edit_meta(folder: Path, **changes) -> None:
    meta = json.loads((folder / "model.json").read_text())
    meta.update(changes)
    (folder / "model.json").write_text(json.dumps(meta))


MODEL_CASES = {
    "missing weight file": (lambda m: (m / "tfidf_weights.npz").unlink(), ["tfidf_weights.npz", "missing"]),
    "unknown format version": (lambda m: _edit_meta(m, format_version=99), ["format version", "99"]),
    "no format version": (lambda m: _edit_meta(m, format_version=None), ["format version"]),
    "tampered weights": (lambda m: _append_bytes(m / "tfidf_weights.npz", b"\0"), ["checksum"]),
    "tampered vocabulary": (lambda m: _append_bytes(m / "tfidf.json", b" "), ["checksum"]),
    "model.json not JSON": (lambda m: (m / "model.json").write_bytes(NOISE), ["model.json", "not valid JSON"]),
    "model.json a list": (lambda m: (m / "model.json").write_text("[1]"), ["format version"]),
    "weight file outside the folder": (lambda m: _edit_meta(m, files={"../model.json": "0" * 64}), ["missing"]),
    "unknown model type": (lambda m: _edit_meta(m, type="pickle"), ["unknown model type"]),
}


@pytest.mark.parametrize("case", sorted(MODEL_CASES))
def test_damaged_model_folders_are_refused(case, mini_model, tmp_path):
    folder = _model_copy(mini_model, tmp_path)
    MODEL_CASES[case][0](folder)
    before = snapshot(folder)
    out = tmp_path / "out"
    assert_refused(["run", MINI, "--model", folder, "--out", out], out, *MODEL_CASES[case][1])
    assert snapshot(folder) == before


def test_a_pickled_model_is_never_loaded(mini_model, tmp_path, monkeypatch):
    """A model folder holding a .pkl that model.json names (with its true checksum) is refused,
    and pickle is never called."""
    import hashlib
    import pickle

    folder = _model_copy(mini_model, tmp_path)
    payload = pickle.dumps({"coef": [1.0]})
    (folder / "model.pkl").write_bytes(payload)
    meta = json.loads((folder / "model.json").read_text())
    meta["files"] = {"model.pkl": hashlib.sha256(payload).hexdigest()}
    (folder / "model.json").write_text(json.dumps(meta))

    def refuse(*args, **kwargs):
        raise AssertionError("pickle was used to load a model")

    for name in ("load", "loads", "Unpickler"):
        monkeypatch.setattr(pickle, name, refuse)
    out = tmp_path / "out"
    assert_refused(["run", MINI, "--model", folder, "--out", out], out, "model.pkl", "pickle")
    for kind in ("pickle", "sklearn"):
        meta["type"] = kind
        (folder / "model.json").write_text(json.dumps(meta))
        assert_refused(["run", MINI, "--model", folder, "--out", out], out)


# -- property tests: every reader on random input returns or raises AutocodeError only ------------
def _raises_only_autocode_error(call):
    try:
        call()
    except AutocodeError as exc:
        assert "\n" not in str(exc) and str(exc)


@FUZZ
@given(st.binary(max_size=3000))
def test_fuzz_transcript_decode_and_parse(data):
    from autocode.config import DEFAULT_INTERVIEWER_LABELS
    from autocode.io.transcripts import decode, parse_transcript

    def call():
        text, _ = decode(data)
        transcript = parse_transcript(text, "T", list(DEFAULT_INTERVIEWER_LABELS), unlabelled="participant")
        for turn in transcript.turns:
            assert 0 <= turn.start <= turn.end <= len(text)
    _raises_only_autocode_error(call)


LABELLED = st.lists(st.sampled_from(["Interviewer: ", "P01: ", "Q: ", "A: ", "[Anna]\n", "**R:** ", "# speaker: A = P1\n",
                                     "# participant: X\n", "\n\n", "\r\n", "[00:01:02] ", "Honestly: ", "\ufeff", "é", "😬"])
                    | st.text(max_size=20), max_size=30).map("".join)


@FUZZ
@given(LABELLED)
def test_fuzz_labelled_transcripts_and_segmentation(text):
    from autocode.config import DEFAULT_INTERVIEWER_LABELS, SegmentConfig
    from autocode.io.transcripts import decode, parse_transcript, resolve_speakers
    from autocode.segment import segment_transcript

    def call():
        clean, _ = decode(text.encode("utf-8"))
        transcript = parse_transcript(clean, "T", list(DEFAULT_INTERVIEWER_LABELS))
        resolve_speakers(transcript, None, True)
        for seg in segment_transcript(transcript, SegmentConfig()):
            assert clean[seg.start:seg.end] == seg.text
    _raises_only_autocode_error(call)


@FUZZ
@given(st.lists(st.one_of(st.binary(max_size=80), st.builds(lambda r: json.dumps(r).encode(), st.dictionaries(
    st.sampled_from(["transcript", "start", "end", "code", "text", "coder"]),
    st.one_of(st.integers(-5, 500), st.text(max_size=8), st.none(), st.booleans(), st.floats(), st.just("T"),
              st.just("a.b"))))), max_size=6))
def test_fuzz_codings_lines(lines):
    from autocode.io.codings import read_codings

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "c.jsonl"
        path.write_bytes(b"\n".join(lines))
        _raises_only_autocode_error(lambda: read_codings(path, {"T": "x" * 300}, ["a", "a.b"]))


@FUZZ
@given(st.binary(max_size=2000), st.sampled_from([".qdpx", ".qdc", ".docx", ".vtt", ".srt", ".txt", ".md"]))
def test_fuzz_every_importer_on_random_bytes(data, suffix):
    from autocode.io.importer import read_any

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"f{suffix}"
        path.write_bytes(data)
        _raises_only_autocode_error(lambda: read_any(path))


CAPTION = st.lists(st.sampled_from(["WEBVTT\n\n", "00:00:01.000 --> 00:00:02.500\n", "00:01,000 --> 00:02,000\n",
                                    "<v Anna>", "</v>", "Anna: ", "NOTE x\n", "\n\n", "1\n", "&amp;", "<b>"])
                   | st.text(max_size=15), max_size=25).map("".join)


@FUZZ
@given(CAPTION, st.sampled_from([".vtt", ".srt"]))
def test_fuzz_captions(text, suffix):
    from autocode.io.importer import read_any

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"c{suffix}"
        path.write_text(text, encoding="utf-8")
        _raises_only_autocode_error(lambda: read_any(path))


def _good_qdpx() -> bytes:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "p.qdpx"
        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
            z.writestr("project.qde",
                       '<?xml version="1.0"?><Project xmlns="urn:QDA-XML:project:1.0" name="p"><CodeBook><Codes>'
                       '<Code guid="11111111-2222-3333-4444-555555555555" name="Beds" isCodable="true"/></Codes>'
                       '</CodeBook><Sources><TextSource guid="aaaaaaaa-2222-3333-4444-555555555555" name="T1" '
                       'plainTextPath="internal://t1.txt"><PlainTextSelection guid="bbbbbbbb-2222-3333-4444-5555555'
                       '55555" startPosition="24" endPosition="46"><Coding guid="cccccccc-2222-3333-4444-555555555555">'
                       '<CodeRef targetGUID="11111111-2222-3333-4444-555555555555"/></Coding></PlainTextSelection>'
                       '</TextSource></Sources></Project>')
            z.writestr("sources/t1.txt", "Interviewer: Beds?\nP01: We had no beds at all.\n")
        return path.read_bytes()


GOOD_QDPX = _good_qdpx()


@FUZZ
@given(st.lists(st.tuples(st.integers(0, len(GOOD_QDPX) - 1), st.integers(0, 255)), min_size=1, max_size=8),
       st.integers(1, len(GOOD_QDPX)))
def test_fuzz_damaged_qdpx(flips, cut):
    from autocode.io.refi import read_qdpx

    data = bytearray(GOOD_QDPX[:cut])
    for pos, value in flips:
        if pos < len(data):
            data[pos] = value
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "p.qdpx"
        path.write_bytes(bytes(data))
        _raises_only_autocode_error(lambda: read_qdpx(path))


@FUZZ
@given(st.text(max_size=400))
def test_fuzz_xml_parser(text):
    from autocode.io.safe import parse_xml

    _raises_only_autocode_error(lambda: parse_xml(text.encode("utf-8"), Path("x.xml"), "the file"))


@FUZZ
@given(st.text(max_size=300))
def test_fuzz_participants_speakers_codebook_and_settings(text):
    from autocode.codebook import load_codebook
    from autocode.io.study import read_participants, read_settings, read_speakers

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        for name in ("participants.csv", "speakers.csv", "codebook.yaml", "study.yaml"):
            (root / name).write_text(text, encoding="utf-8")
        for call in (lambda: read_participants(root / "participants.csv"), lambda: read_speakers(root / "speakers.csv"),
                     lambda: load_codebook(root / "codebook.yaml"), lambda: read_settings(root)):
            _raises_only_autocode_error(call)


def test_archive_limits_hold_against_lying_and_huge_members(tmp_path):
    """Huge members and many members are refused by the limits, not by running out of memory."""
    from autocode.io.refi import read_qdpx
    from autocode.io.safe import Limits

    big = tmp_path / "big.qdpx"
    with zipfile.ZipFile(big, "w", zipfile.ZIP_STORED) as z:
        z.writestr("project.qde", "<Project/>")
        z.writestr("sources/big.txt", b"x" * 50_000)
    with pytest.raises(AutocodeError, match="over the limit"):
        read_qdpx(big, Limits(max_member_bytes=10_000))
    with pytest.raises(AutocodeError, match="over the limit of 1"):
        read_qdpx(big, Limits(max_members=1))
    with pytest.raises(AutocodeError, match="over"):
        read_qdpx(big, Limits(max_total_bytes=20_000))
    with pytest.raises(AutocodeError, match="limit"):
        read_qdpx(big, Limits(max_file_bytes=1_000))
