"""``import_file``: every supported file type becomes a study folder that load_study reads."""

from __future__ import annotations

import importlib.util
import inspect
import json
import shutil
from pathlib import Path

import pytest
import yaml

from autocode.errors import AutocodeError
from autocode.io import study as study_module
from autocode.io.importer import import_file
from autocode.io.study import load_study

INTEROP = Path(__file__).parent / "fixtures" / "interop"
_spec = importlib.util.spec_from_file_location("make_fixtures", INTEROP / "make_fixtures.py")
mf = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(mf)

study_reads_unlabelled = pytest.mark.skipif(
    "unlabelled" not in inspect.getsource(study_module.read_transcript_folder)
    and "unlabelled" not in inspect.getsource(study_module.load_study),
    reason="io/study.py does not yet pass reader.unlabelled to read_transcript (lead's wiring)",
)


@pytest.mark.parametrize("name", ["zoom.vtt", "teams.vtt", "interview.srt"])
def test_captions_become_a_loadable_study(name, tmp_path):
    result = import_file(INTEROP / name, tmp_path / "study")
    study = load_study(result.out)
    (transcript,) = study.transcripts
    assert transcript.id == Path(name).stem and result.transcripts == [transcript.id]
    assert study.participants == {transcript.id: {}}
    assert any(t.is_interviewer for t in transcript.turns) and not all(t.is_interviewer for t in transcript.turns)
    assert all(t.timestamp for t in transcript.turns)
    assert result.codes == 0 and result.codings == {} and not result.unlabelled


def test_the_interviewer_is_guessed_and_can_be_named(tmp_path):
    result = import_file(INTEROP / "zoom.vtt", tmp_path / "a")
    assert result.interviewers == ["Dr Helen Okafor"] and "interviewer" in result.warnings[0]
    settings = yaml.safe_load((tmp_path / "a" / "study.yaml").read_text())
    assert settings["config"]["reader"]["interviewer_labels"][-1] == "Dr Helen Okafor"
    named = import_file(INTEROP / "zoom.vtt", tmp_path / "b", interviewer=["Sam Whitfield"])
    assert named.interviewers == ["Sam Whitfield"] and named.warnings == []
    turns = load_study(tmp_path / "b").transcripts[0].turns
    assert [t.speaker for t in turns if t.is_interviewer] == ["Sam Whitfield"] * 3


def test_word_files_import(tmp_path):
    for build in (mf.build_docx_prefix, mf.build_docx_bold):
        path = build(tmp_path / f"{build.__name__}.docx")
        result = import_file(path, tmp_path / build.__name__)
        study = load_study(result.out)
        assert len(study.transcripts[0].turns) == 4 and result.kind == "docx"


def test_a_folder_of_mixed_files_is_one_study(tmp_path):
    folder = tmp_path / "batch"
    folder.mkdir()
    for name in ["zoom.vtt", "teams.vtt", "interview.srt"]:
        shutil.copy(INTEROP / name, folder / name)
    mf.build_docx_prefix(folder / "ward manager 14.docx")
    (folder / "P20.txt").write_text("# participant: P20\n\nInterviewer: Hi?\n\nP20: Hello.\n", encoding="utf-8")
    (folder / ".DS_Store").write_bytes(b"\0\1")
    (folder / "notes.pdf").write_bytes(b"%PDF")
    result = import_file(folder, tmp_path / "study")
    study = load_study(result.out)
    assert sorted(t.id for t in study.transcripts) == ["P20", "interview", "teams", "ward_manager_14", "zoom"]
    assert sorted(study.participants) == ["P20", "interview", "teams", "ward_manager_14", "zoom"]


def test_refi_project_becomes_a_study_with_codings(tmp_path):
    project = mf.build_qdpx("atlasti", tmp_path / "a.qdpx")
    result = import_file(project, tmp_path / "study")
    study = load_study(result.out)
    assert study.codings["Anna"] and study.codebook.ids == ["tensions", "tensions.competing_demands",
                                                           "tensions.clinical_autonomy"]
    record = json.loads((tmp_path / "study" / "import.json").read_text())
    assert record["kind"] == "qdpx" and record["position_profile"] == "atlasti"
    assert record["origin"] == "ATLAS.ti 23.2.1 (Windows)" and len(record["code_guids"]) == 3


@study_reads_unlabelled
def test_unlabelled_refi_sources_load_as_participant_paragraphs(tmp_path):
    project = mf.build_qdpx("nvivo", tmp_path / "n.qdpx")
    study = load_study(import_file(project, tmp_path / "study").out)
    (transcript,) = study.transcripts
    assert transcript.participant == "NL01" and len(transcript.turns) == 3
    assert not any(t.is_interviewer for t in transcript.turns)
    assert len(study.codings["Priya"]) == 2


def test_codebook_file_becomes_codebook_yaml(tmp_path, mini_codebook):
    from autocode.io.refi import export_qdc

    qdc = export_qdc(mini_codebook, tmp_path / "book.qdc")
    result = import_file(qdc, tmp_path / "study")
    assert sorted(p.name for p in (tmp_path / "study").iterdir()) == ["codebook.yaml", "import.json"]
    assert result.codes == len(mini_codebook) and result.transcripts == []


def test_existing_output_is_refused_unless_forced(tmp_path):
    out = tmp_path / "study"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    with pytest.raises(AutocodeError, match="--force"):
        import_file(INTEROP / "zoom.vtt", out)
    assert (out / "keep.txt").exists()
    import_file(INTEROP / "zoom.vtt", out, force=True)
    assert not (out / "keep.txt").exists() and (out / "transcripts" / "zoom.txt").exists()


def test_a_failed_import_leaves_no_folder(tmp_path):
    bad = tmp_path / "bad.vtt"
    bad.write_text("not captions")
    with pytest.raises(AutocodeError, match="bad.vtt"):
        import_file(bad, tmp_path / "study")
    assert not (tmp_path / "study").exists()


@pytest.mark.parametrize("name, message", [
    ("old.doc", r"save it as .docx first"),
    ("data.xlsx", r"supported: .qdpx, .qdc"),
    ("noext", r"files without a suffix"),
])
def test_unsupported_files_are_refused(tmp_path, name, message):
    path = tmp_path / name
    path.write_bytes(b"x")
    with pytest.raises(AutocodeError, match=message):
        import_file(path, tmp_path / "out")


def test_missing_file_and_empty_folder(tmp_path):
    with pytest.raises(AutocodeError, match="file not found"):
        import_file(tmp_path / "nothing.vtt", tmp_path / "out")
    (tmp_path / "empty").mkdir()
    with pytest.raises(AutocodeError, match="holds no files to import"):
        import_file(tmp_path / "empty", tmp_path / "out")


def test_the_input_is_never_overwritten(tmp_path):
    folder = tmp_path / "batch"
    folder.mkdir()
    shutil.copy(INTEROP / "zoom.vtt", folder / "zoom.vtt")
    with pytest.raises(AutocodeError, match="overwrite the input"):
        import_file(folder, folder, force=True)
    assert (folder / "zoom.vtt").exists()


def test_result_summary_lists_what_was_ignored(tmp_path):
    project = mf.build_qdpx("maxqda", tmp_path / "m.qdpx")
    summary = import_file(project, tmp_path / "study").summary()
    assert "2 transcripts, 4 codes, codings (Tom: 3)" in summary
    assert "ignored 1 selections with no coding" in summary


def test_oversized_text_files_are_refused(tmp_path):
    from autocode.io.safe import Limits

    path = tmp_path / "long.srt"
    path.write_text("1\n00:00:01,000 --> 00:00:02,000\nP01: words words words\n" * 20, encoding="utf-8")
    with pytest.raises(AutocodeError, match="over the 0 MiB limit"):
        import_file(path, tmp_path / "out", limits=Limits(max_member_bytes=100))
