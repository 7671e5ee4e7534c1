"""REFI-QDA import and export: real samples, each tool's quirks, positions, round trips, schema."""

from __future__ import annotations

import csv
import importlib.util
import io
import json
import zipfile
from pathlib import Path

import pytest
import yaml

from autocode.codebook import load_codebook
from autocode.errors import AutocodeError
from autocode.io.codings import Span
from autocode.io.refi import (
    Convention, PositionMap, export_qdc, export_qdpx, import_qdc, import_qdpx, machine_user,
    profile_for_origin, read_qdpx,
)
from autocode.io.study import load_study

FIXTURES = Path(__file__).parent / "fixtures"
SHARED = Path(__file__).resolve().parents[2] / "shared" / "refi-qda"
SAMPLES = SHARED / "samples"
needs_shared = pytest.mark.skipif(not SAMPLES.is_dir(), reason=f"REFI-QDA reference folder {SHARED} is absent")

_spec = importlib.util.spec_from_file_location("make_fixtures", FIXTURES / "interop" / "make_fixtures.py")
mf = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(mf)


def labelled_codings(out: Path) -> dict[str, list[tuple[str, str]]]:
    """Per coder, sorted (code label, quoted text) of an imported study."""
    labels = {c.id: c.label for c in load_codebook(out / "codebook.yaml").codes}
    got = {}
    for path in sorted((out / "codings").glob("*.jsonl")):
        rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
        got[path.stem] = sorted((labels[r["code"]], r["text"]) for r in rows)
    return got


def rewrite_member(src: Path, dest: Path, name: str, edit) -> Path:
    """Copy a zip, passing member ``name`` through ``edit(bytes) -> bytes``."""
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dest, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            data = zin.read(info)
            zout.writestr(info.filename, edit(data) if info.filename == name else data)
    return dest


# -- positions ------------------------------------------------------------------------------
def test_profile_from_origin():
    assert profile_for_origin("ATLAS.ti 23.2.1 (Windows)") == "atlasti"
    assert profile_for_origin("MAXQDA 2022 (Release 22.7.0)") == "maxqda"
    assert profile_for_origin("NVivo for Mac 15.0.0") == "nvivo"
    assert profile_for_origin("QualCoder 3.5") == "qualcoder"
    assert profile_for_origin("qc 1.3.2") == profile_for_origin(None) == "generic"
    assert profile_for_origin("autocode 0.1.0 for MAXQDA") == "maxqda"


@pytest.mark.parametrize("convention, start, end", [
    (Convention(utf16=False, crlf=2), 9, 14),   # code points, CRLF as two
    (Convention(utf16=False, crlf=1), 7, 11),   # CRLF as one: the same as autocode
    (Convention(utf16=True, crlf=2), 9, 15),    # the emoji is two UTF-16 units
    (Convention(utf16=True, crlf=1), 7, 12),
])
def test_position_map_converts_each_convention(convention, start, end):
    raw = "ab\r\ncd\r\nX\U0001F600yz\r\n"  # normalised: "ab\ncd\nX😀yz\n"
    pmap = PositionMap(raw, convention)
    assert pmap.text == "ab\ncd\nX\U0001F600yz\n"
    assert pmap.to_text(start, end) == (7, 11)
    assert pmap.text[7:11] == "\U0001F600yz\n"
    assert pmap.to_tool(7, 11) == (start, end)


def test_position_map_bom_and_partial_characters():
    counted = PositionMap("\ufeffhello", Convention(bom=True))
    assert counted.text == "hello" and counted.to_text(1, 3) == (0, 2) and counted.to_tool(0, 2) == (1, 3)
    plain = PositionMap("\ufeffhello", Convention(bom=False))
    assert plain.to_text(0, 2) == (0, 2)
    emoji = PositionMap("a\U0001F600b", Convention(utf16=True))
    assert emoji.to_text(2, 3) == (1, 2)      # inside the surrogate pair: the whole emoji
    crlf = PositionMap("a\r\nb", Convention(crlf=2))
    assert crlf.to_text(2, 4) == (1, 3)       # from between CR and LF: the whole line ending
    assert crlf.to_text(0, 99) is None and crlf.to_text(3, 3) is None and crlf.to_text(-1, 2) is None


# -- the real samples in shared/ ------------------------------------------------------------
@needs_shared
def test_real_qc_sample_imports_with_its_counts(tmp_path):
    result = import_qdpx(SAMPLES / "qc-demo.qdpx", tmp_path / "qc")
    assert result.codes == 262
    assert result.codings == {"cp": 205}
    assert sorted(result.transcripts) == ["admin-1", "board_2017"]
    assert result.ignored == {}
    study = load_study(tmp_path / "qc")
    assert len(study.codebook) == 262 and len(study.codebook.at_depth(0)) == 3
    assert "rq1_definition.competencies.programming" in study.codebook.ids  # nested codes keep their hierarchy
    assert "rq1_definition.framings.cs_as_programming.programming" in study.codebook.ids
    spans = study.codings["cp"]
    assert len(spans) == 205 and len({(s.transcript, s.start) for s in spans}) == 158
    texts = study.texts()
    for span in spans:  # qc selects whole lines ("line:N"): every span starts and ends at a line break
        assert span.start == 0 or texts[span.transcript][span.start - 1] == "\n"
        assert texts[span.transcript][span.end - 1] == "\n"
    assert study.settings.config.reader.interviewer_labels[-1] == "Max Bigman"


@needs_shared
def test_real_nvivo_sample_imports_its_codebook(tmp_path):
    result = import_qdpx(SAMPLES / "nvivo15-mac.qdpx", tmp_path / "nv")
    assert result.codes == 262 and result.codings == {} and result.transcripts == []
    assert result.ignored == {"empty text sources": 2}
    book = load_codebook(tmp_path / "nv" / "codebook.yaml")
    qc = read_qdpx(SAMPLES / "qc-demo.qdpx")
    assert book.ids == load_codebook_from(qc.codebook).ids  # the same codebook, exported by another tool
    assert sorted(json.loads((tmp_path / "nv" / "import.json").read_text())["code_guids"]) == sorted(qc.guid_map)


def load_codebook_from(spec: dict):
    from autocode.codebook import Codebook

    return Codebook.from_spec(spec)


# -- each tool's quirks ---------------------------------------------------------------------
@pytest.mark.parametrize("tool", sorted(mf.TOOLS))
def test_tool_fixture_imports_every_coding_at_the_right_text(tool, tmp_path):
    project = mf.build_qdpx(tool, tmp_path / f"{tool}.qdpx")
    result = import_qdpx(project, tmp_path / "out")
    assert labelled_codings(tmp_path / "out") == mf.expected(tool)
    assert not any("positions read as" in w for w in result.warnings)  # the tool's own profile fitted


def test_atlasti_crlf_as_one_and_emoji_as_two(tmp_path):
    project = mf.build_qdpx("atlasti", tmp_path / "a.qdpx")
    result = import_qdpx(project, tmp_path / "out")
    study = load_study(tmp_path / "out")
    text = study.texts()["Interview_03"]
    assert "\r" not in text and "\U0001F62C" in text and result.participants == 1
    assert [t.is_interviewer for t in study.transcripts[0].turns] == [True, False, True, False]


def test_nvivo_case_codings_bom_and_variables(tmp_path):
    project = mf.build_qdpx("nvivo", tmp_path / "n.qdpx")
    result = import_qdpx(project, tmp_path / "out")
    assert result.ignored == {"codings of cases (case membership, read as participants)": 1}
    assert result.unlabelled  # NVivo documents have no speaker labels
    settings = yaml.safe_load((tmp_path / "out" / "study.yaml").read_text())
    assert settings["config"]["reader"]["unlabelled"] == "participant"
    people = list(csv.DictReader(io.StringIO((tmp_path / "out" / "participants.csv").read_text())))
    assert people == [{"participant_id": "NL01", "role": "matron", "band": "8"}]
    text = (tmp_path / "out" / "transcripts" / "Nurse_leader_1.txt").read_text(encoding="utf-8")
    assert text.startswith("# participant: NL01\n\nI started") and "\ufeff" not in text


def test_maxqda_comments_duplicates_and_source_variables(tmp_path):
    project = mf.build_qdpx("maxqda", tmp_path / "m.qdpx")
    result = import_qdpx(project, tmp_path / "out")
    assert result.ignored == {"selections with no coding (comments or memos)": 1}
    assert result.transcripts == ["Interview", "Interview-2"]
    study = load_study(tmp_path / "out")
    assert study.participants == {"Interview": {"role": "consultant"}, "Interview-2": {"role": ""}}
    assert result.guid_map and not any("{" in key for key in result.guid_map)  # braces dropped from GUIDs


def test_qualcoder_categories_two_coders_and_code_descriptions(tmp_path):
    project = mf.build_qdpx("qualcoder", tmp_path / "q.qdpx")
    result = import_qdpx(project, tmp_path / "out")
    assert result.codings == {"colin": 2, "maria": 1}
    book = load_codebook(tmp_path / "out" / "codebook.yaml")
    assert book.ids == ["leadership", "leadership.safety", "leadership.personal_cost"]
    assert book.by_id["leadership.safety"].definition == "Putting safety before targets."
    assert book.by_id["leadership"].definition == "(no definition)"


def test_selection_names_correct_an_unknown_tools_positions(tmp_path):
    project = mf.build_qdpx("atlasti", tmp_path / "a.qdpx")
    renamed = rewrite_member(project, tmp_path / "b.qdpx", "project.qde",
                             lambda d: d.replace(b"ATLAS.ti 23.2.1 (Windows)", b"SomeTool 1.0"))
    result = import_qdpx(renamed, tmp_path / "out")
    assert any("positions read as UTF-16 code units, CRLF as 1" in w for w in result.warnings)
    assert labelled_codings(tmp_path / "out") == mf.expected("atlasti")


def test_bom_counted_as_a_position_is_detected(tmp_path):
    text = "I: Why?\r\nR: Because the rota never works.\r\n"
    start = text.index("the rota") + 1  # this tool counts the BOM as position 0
    qde = f"""<Project xmlns="urn:QDA-XML:project:1.0" name="p" origin="OtherTool">
<CodeBook><Codes><Code guid="11111111-2222-3333-4444-555555555555" name="Rota" isCodable="true"/></Codes></CodeBook>
<Sources><TextSource guid="aaaaaaaa-2222-3333-4444-555555555555" name="T1" plainTextPath="internal://t1.txt">
<PlainTextSelection guid="bbbbbbbb-2222-3333-4444-555555555555" name="the rota never works" startPosition="{start}"
 endPosition="{start + 20}"><Coding guid="cccccccc-2222-3333-4444-555555555555">
<CodeRef targetGUID="11111111-2222-3333-4444-555555555555"/></Coding></PlainTextSelection></TextSource></Sources></Project>"""
    path = tmp_path / "bom.qdpx"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("project.qde", qde)
        z.writestr("Sources/t1.txt", b"\xef\xbb\xbf" + text.encode())
    import_qdpx(path, tmp_path / "out")
    assert labelled_codings(tmp_path / "out") == {"unattributed": [("Rota", "the rota never works")]}


# -- hostile and broken projects -------------------------------------------------------------
def small_project(tmp_path: Path, selections: str, extra: dict | None = None, name="p.qdpx") -> Path:
    qde = f"""<?xml version="1.0"?><Project xmlns="urn:QDA-XML:project:1.0" name="p">
<CodeBook><Codes><Code guid="{{11111111-2222-3333-4444-555555555555}}" name="Beds" isCodable="true"/></Codes></CodeBook>
<Sources><TextSource guid="aaaaaaaa-2222-3333-4444-555555555555" name="T1" plainTextPath="internal://t1.txt">
{selections}</TextSource></Sources></Project>"""
    path = tmp_path / name
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("project.qde", qde)
        z.writestr("sources/t1.txt", "Interviewer: Beds?\nP01: We had no beds at all.\n")
        for member, data in (extra or {}).items():
            z.writestr(member, data)
    return path


def selection(start: int, end: int, code: str = "11111111-2222-3333-4444-555555555555") -> str:
    return (f'<PlainTextSelection guid="bbbbbbbb-2222-3333-4444-{start:012d}" startPosition="{start}" '
            f'endPosition="{end}"><Coding guid="cccccccc-2222-3333-4444-{start:012d}">'
            f'<CodeRef targetGUID="{code}"/></Coding></PlainTextSelection>')


def test_out_of_range_and_unknown_code_selections_are_counted_not_fatal(tmp_path):
    path = small_project(tmp_path, selection(24, 46) + selection(40, 999) + selection(-5, 3) + selection(30, 30)
                         + selection(26, 30, "99999999-2222-3333-4444-555555555555"))
    result = import_qdpx(path, tmp_path / "out")
    assert result.codings == {"unattributed": 1}
    assert result.ignored == {"codings with positions outside their source": 3, "codings of unknown codes": 1}
    assert labelled_codings(tmp_path / "out") == {"unattributed": [("Beds", "We had no beds at all.")]}


@pytest.mark.parametrize("member", ["../evil.txt", "/etc/evil.txt", "sources/../../evil.txt", "C:/evil.txt"])
def test_path_traversal_members_are_refused(tmp_path, member):
    path = small_project(tmp_path, "", {member: "x"})
    with pytest.raises(AutocodeError, match="path traversal") as err:
        import_qdpx(path, tmp_path / "out")
    assert str(path) in str(err.value)
    assert not (tmp_path / "out").exists() and not (tmp_path.parent / "evil.txt").exists()


def test_zip_bomb_is_refused_by_ratio_and_by_size(tmp_path):
    path = small_project(tmp_path, "", {"sources/bomb.txt": b"\0" * (3 * 1024 * 1024)})
    with pytest.raises(AutocodeError, match="zip bomb"):
        import_qdpx(path, tmp_path / "out")
    from autocode.io.safe import Limits

    with pytest.raises(AutocodeError, match="over the limit|zip bomb"):
        read_qdpx(small_project(tmp_path, "", name="q.qdpx"), Limits(max_member_bytes=100))


@pytest.mark.parametrize("doctype", [
    '<!DOCTYPE Project [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>',
    '<!DOCTYPE Project [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]>',
])
def test_xml_entities_and_dtds_are_refused(tmp_path, doctype):
    path = tmp_path / "x.qdpx"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("project.qde", f'<?xml version="1.0"?>{doctype}<Project xmlns="urn:QDA-XML:project:1.0" name="&b;"/>')
    with pytest.raises(AutocodeError, match="refuses for safety"):
        import_qdpx(path, tmp_path / "out")


def test_truncated_missing_and_malformed_projects_are_clear_errors(tmp_path):
    good = small_project(tmp_path, selection(24, 46))
    truncated = tmp_path / "cut.qdpx"
    truncated.write_bytes(good.read_bytes()[:200])
    with pytest.raises(AutocodeError, match="truncated or damaged"):
        import_qdpx(truncated, tmp_path / "o1")
    empty = tmp_path / "empty.qdpx"
    with zipfile.ZipFile(empty, "w") as z:
        z.writestr("sources/t1.txt", "text")
    with pytest.raises(AutocodeError, match="no project.qde"):
        import_qdpx(empty, tmp_path / "o2")
    broken = tmp_path / "broken.qdpx"
    with zipfile.ZipFile(broken, "w") as z:
        z.writestr("project.qde", "<Project name='x'><Sources>")
    with pytest.raises(AutocodeError, match="not well-formed XML"):
        import_qdpx(broken, tmp_path / "o3")
    text = tmp_path / "plain.qdpx"
    text.write_text("not a zip")
    with pytest.raises(AutocodeError, match=r"plain.qdpx: not a readable zip"):
        import_qdpx(text, tmp_path / "o4")


def test_missing_source_text_is_skipped_with_a_warning(tmp_path):
    qde = """<Project xmlns="urn:QDA-XML:project:1.0" name="p"><CodeBook><Codes>
<Code guid="11111111-2222-3333-4444-555555555555" name="Beds" isCodable="true"/></Codes></CodeBook>
<Sources><TextSource guid="aaaaaaaa-2222-3333-4444-555555555555" name="T1" plainTextPath="absolute:///home/x/t1.txt"/>
<TextSource guid="aaaaaaaa-2222-3333-4444-555555555556" name="T2"><PlainTextContent>P01: Inline text.
P01: Again.</PlainTextContent></TextSource><AudioSource guid="aaaaaaaa-2222-3333-4444-555555555557"/></Sources></Project>"""
    path = tmp_path / "p.qdpx"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("project.qde", qde)
    result = import_qdpx(path, tmp_path / "out")
    assert result.transcripts == ["T2"]
    assert result.ignored == {"text sources whose plain text is not in the archive": 1,
                              "AudioSource sources (only text sources are imported)": 1}
    assert any("not in the archive" in w for w in result.warnings)


# -- export ---------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def schema():
    xmlschema = pytest.importorskip("xmlschema")
    if not SHARED.is_dir():
        pytest.skip(f"REFI-QDA reference folder {SHARED} is absent")
    return xmlschema.XMLSchema(str(SHARED / "Project-mrt2019.xsd"))


@pytest.fixture(scope="module")
def codebook_schema():
    """The codebook schema: the project schema's CodeBookType as root, in the codebook namespace."""
    xmlschema = pytest.importorskip("xmlschema")
    if not SHARED.is_dir():
        pytest.skip(f"REFI-QDA reference folder {SHARED} is absent")
    text = (SHARED / "Project-mrt2019.xsd").read_text(encoding="utf-8").replace(
        "urn:QDA-XML:project:1.0", "urn:QDA-XML:codebook:1.0")
    text = text.replace('<xsd:element name="Project" type="ProjectType">',
                        '<xsd:element name="CodeBook" type="CodeBookType"/><xsd:element name="Project" type="ProjectType">')
    return xmlschema.XMLSchema(text)


def machine_spans(study) -> tuple[list[Span], list[float]]:
    user = machine_user("tfidf-default")
    text = study.texts()["M01"]
    start = text.index("We had no beds")
    return ([Span("M01", start, start + 30, "tension.beds", user),
             Span("M01", start, start + 30, "tension", user)], [0.91, 0.97])


def test_export_validates_and_round_trips(mini, tmp_path, schema):
    study = load_study(mini)
    machine, confidences = machine_spans(study)
    result = export_qdpx(study, tmp_path / "run.qdpx", machine, confidences)
    qde = zipfile.ZipFile(result.path).read("project.qde")
    schema.validate(qde.decode("utf-8"))
    assert result.codings == {"coder_a": 18, "coder_b": 14, "autocode tfidf-default": 2}
    assert result.selections == 32 + 1  # the two machine codings share one selection
    back = load_study(import_qdpx(result.path, tmp_path / "back").out)
    assert back.texts() == study.texts()
    assert back.codebook.to_dict()["codes"] == study.codebook.to_dict()["codes"]
    assert back.participants == study.participants
    assert {c: sorted(s) for c, s in back.codings.items() if c != "autocode_tfidf-default"} == \
        {c: sorted(s) for c, s in study.codings.items()}
    assert sorted((s.transcript, s.start, s.end, s.code) for s in back.codings["autocode_tfidf-default"]) == \
        sorted((s.transcript, s.start, s.end, s.code) for s in machine)


def test_sidecar_holds_the_confidences_keyed_by_guid(mini, tmp_path):
    study = load_study(mini)
    machine, confidences = machine_spans(study)
    result = export_qdpx(study, tmp_path / "run.qdpx", machine, confidences)
    assert result.sidecar == tmp_path / "run.confidence.csv"
    rows = list(csv.DictReader(result.sidecar.open(encoding="utf-8")))
    assert [(r["code"], r["confidence"], r["coder"]) for r in rows] == [
        ("tension.beds", "0.91", "autocode tfidf-default"), ("tension", "0.97", "autocode tfidf-default")]
    qde = zipfile.ZipFile(result.path).read("project.qde").decode()
    assert all(r["coding_guid"] in qde and r["selection_guid"] in qde for r in rows)
    assert rows[0]["text"] == study.texts()["M01"][int(rows[0]["start"]) : int(rows[0]["end"])]


def test_export_is_deterministic_and_refuses_to_overwrite(mini, tmp_path):
    study = load_study(mini)
    first = export_qdpx(study, tmp_path / "a.qdpx").path.read_bytes()
    assert export_qdpx(study, tmp_path / "b.qdpx").path.read_bytes() == first
    with pytest.raises(AutocodeError, match="already exists"):
        export_qdpx(study, tmp_path / "a.qdpx")
    export_qdpx(study, tmp_path / "a.qdpx", force=True)
    machine, _ = machine_spans(study)
    with pytest.raises(AutocodeError, match="one per span"):
        export_qdpx(study, tmp_path / "c.qdpx", machine, [0.5])
    with pytest.raises(AutocodeError, match="not in the study's codebook"):
        export_qdpx(study, tmp_path / "d.qdpx", [Span("M01", 0, 5, "nope", "m")])
    with pytest.raises(AutocodeError, match="unknown export profile"):
        export_qdpx(study, tmp_path / "e.qdpx", profile="word")


def emoji_study(tmp_path: Path):
    root = tmp_path / "emoji"
    (root / "transcripts").mkdir(parents=True)
    (root / "codings").mkdir()
    text = "Interviewer: How was winter? \U0001F976\n\nP01: Grim \U0001F62C. Beds\nwere gone by nine.\n"
    (root / "transcripts" / "P01.txt").write_text(text, encoding="utf-8")
    start = text.index("Beds")
    line = {"transcript": "P01", "start": start, "end": start + 18, "code": "tension.beds"}
    (root / "codings" / "ana.jsonl").write_text(json.dumps(line) + "\n")
    (root / "codebook.yaml").write_text((FIXTURES / "mini" / "codebook.yaml").read_text())
    return load_study(root)


@pytest.mark.parametrize("profile", ["generic", "qualcoder", "atlasti", "maxqda", "nvivo"])
def test_every_export_profile_round_trips_emoji_and_line_breaks(profile, tmp_path, schema):
    study = emoji_study(tmp_path)
    result = export_qdpx(study, tmp_path / f"{profile}.qdpx", profile=profile)
    archive = zipfile.ZipFile(result.path)
    schema.validate(archive.read("project.qde").decode())
    source = next(n for n in archive.namelist() if n.startswith("Sources/"))
    assert (b"\r\n" in archive.read(source)) == (profile == "maxqda")
    back = load_study(import_qdpx(result.path, tmp_path / "back").out)
    assert back.texts() == study.texts() and back.codings == study.codings


def test_qdc_export_validates_and_imports_to_the_same_codebook(mini_codebook, tmp_path, codebook_schema):
    path = export_qdc(mini_codebook, tmp_path / "book.qdc")
    codebook_schema.validate(path.read_text(encoding="utf-8"))
    result = import_qdc(path, tmp_path / "study")
    assert result.codes == len(mini_codebook)
    back = load_codebook(tmp_path / "study" / "codebook.yaml")
    assert back.to_dict()["codes"] == mini_codebook.to_dict()["codes"]
    assert set(result.guid_map.values()) == set(mini_codebook.ids)
    with pytest.raises(AutocodeError, match="already exists"):
        export_qdc(mini_codebook, path)


def test_qdc_of_another_tool_with_braced_guids_and_duplicate_names(tmp_path):
    path = tmp_path / "other.qdc"
    path.write_text("""<?xml version="1.0" encoding="utf-8"?>
<CodeBook xmlns="urn:QDA-XML:codebook:1.0" origin="MAXQDA 2022"><Codes>
<Code guid="{0A0A0A0A-1111-2222-3333-444444444444}" name="Émotions &amp; feelings" isCodable="true">
  <Description>How people feel.

Include: named feelings

Example: I was gutted</Description>
  <Code guid="{0B0B0B0B-1111-2222-3333-444444444444}" name="Fear" isCodable="true"/>
  <Code guid="{0C0C0C0C-1111-2222-3333-444444444444}" name="fear" isCodable="true"/>
</Code></Codes></CodeBook>""", encoding="utf-8")
    result = import_qdc(path, tmp_path / "s")
    book = load_codebook(tmp_path / "s" / "codebook.yaml")
    assert book.ids == ["emotions_feelings", "emotions_feelings.fear", "emotions_feelings.fear-2"]
    top = book.by_id["emotions_feelings"]
    assert (top.label, top.definition, top.include, top.examples) == (
        "Émotions & feelings", "How people feel.", "named feelings", ("I was gutted",))
    assert result.guid_map["0b0b0b0b-1111-2222-3333-444444444444"] == "emotions_feelings.fear"


def test_qdc_errors(tmp_path):
    bad = tmp_path / "bad.qdc"
    bad.write_text("<Something/>")
    with pytest.raises(AutocodeError, match="expected a REFI-QDA codebook"):
        import_qdc(bad, tmp_path / "o")
    empty = tmp_path / "empty.qdc"
    empty.write_text('<CodeBook xmlns="urn:QDA-XML:codebook:1.0"><Codes/></CodeBook>')
    with pytest.raises(AutocodeError, match="holds no codes"):
        import_qdc(empty, tmp_path / "o")


def test_machine_coding_from_a_run_exports_the_most_specific_codes(mini, tmp_path, schema):
    import numpy as np

    from autocode.config import SegmentConfig
    from autocode.io.refi import machine_coding
    from autocode.segment import segment_all

    study = load_study(mini)
    segments = segment_all(study.transcripts[:1], SegmentConfig(unit="sentence"))
    book = study.codebook
    P = np.full((len(segments), len(book)), 0.1)
    P[0, book.index["tension.beds"]], P[0, book.index["tension"]] = 0.8, 0.8
    Y = book.closure(P > 0.5)
    spans, confidences = machine_coding(segments, P, Y, book, "tfidf-default")
    assert [(s.code, s.coder, s.start, s.end) for s in spans] == [
        ("tension.beds", "autocode tfidf-default", segments[0].start, segments[0].end)]
    assert confidences == [0.8]
    assert [s.code for s in machine_coding(segments, P, Y, book, "m", most_specific=False)[0]] == ["tension", "tension.beds"]
    result = export_qdpx(study, tmp_path / "run.qdpx", spans, confidences)
    schema.validate(zipfile.ZipFile(result.path).read("project.qde").decode())
