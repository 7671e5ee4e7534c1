"""Focus groups and multi-speaker transcripts: every speaker is a participant.

The fixture study (tests/fixtures/focus) has three interviews (F01, F02, F03) and two focus
groups: G01 maps its speakers with ``# speaker:`` header lines, G02 with speakers.csv and is
held out. F01 speaks in an interview and in G01 (as "Ann"), F02 in an interview and in G02
(as "Fay"): seven participants in five transcripts.
"""

from __future__ import annotations

import json
import shutil
import zipfile
from collections import defaultdict
from pathlib import Path

import pytest

from autocode.config import DEFAULT_INTERVIEWER_LABELS, Config, ReaderConfig
from autocode.errors import AutocodeError
from autocode.evaluation import group_folds
from autocode.grading import grade
from autocode.io.study import load_study
from autocode.io.transcripts import parse_transcript, resolve_speakers
from autocode.labels import project_spans
from autocode.pipeline import grade_study
from autocode.segment import segment_all

FOCUS = Path(__file__).parent / "fixtures" / "focus"
CORPUS = Path(__file__).resolve().parents[1] / "training_data"
LABELS = DEFAULT_INTERVIEWER_LABELS


@pytest.fixture()
def focus(tmp_path) -> Path:
    dest = tmp_path / "focus"
    shutil.copytree(FOCUS, dest)
    return dest


@pytest.fixture(scope="module")
def study():
    return load_study(FOCUS)


def by_id(study, tid):
    return next(t for t in study.transcripts if t.id == tid)


def parse(text, tid="T", labels=LABELS):
    return parse_transcript(text, tid, list(labels))


# -- mapping speakers to participants ---------------------------------------------------------
def test_each_speaker_maps_to_a_participant(study):
    assert by_id(study, "F01").participants == ["F01"]
    assert by_id(study, "F02").participants == ["F02"]  # no header: the file name, as before
    g01, g02 = by_id(study, "G01"), by_id(study, "G02")
    assert g01.participants == ["F01", "F04", "F05"]  # from '# speaker:' header lines
    assert g02.participants == ["F06", "F07", "F02"]  # from speakers.csv
    owner = {turn.speaker: g02.participant_of(turn) for turn in g02.turns if not turn.is_interviewer}
    assert owner == {"Dev": "F06", "Eve": "F07", "Fay": "F02"}
    assert sorted(study.participants) == ["F01", "F02", "F03", "F04", "F05", "F06", "F07"]


def test_settings_are_declared_or_inferred(study):
    assert [by_id(study, t).setting for t in ("F01", "F02", "G01", "G02")] == \
        ["interview", "interview", "focus group", "focus group"]  # G01 declares it, G02 is inferred
    assert study.participants["F01"]["setting"] == "focus group; interview"
    assert study.participants["F04"]["setting"] == "focus group"
    assert study.participants["F03"]["setting"] == "interview"
    assert study.participants["F03"]["role"] == "physician"  # participants.csv columns kept
    t = parse("# setting: Paired_Interview\n\nInterviewer: Hi\n\nP01: Hello\n")
    assert t.setting == "paired interview"


def test_a_mapped_speaker_may_speak_once_and_facilitators_are_never_coded(study):
    g01 = by_id(study, "G01")
    assert [t.speaker for t in g01.turns].count("Cat") == 1  # one turn, still a speaker
    g02 = by_id(study, "G02")
    scribe = [t for t in g02.turns if t.speaker == "Scribe"]
    assert scribe and all(t.is_interviewer for t in scribe)  # '# facilitator: Scribe'
    segments = segment_all(study.transcripts, study.config.segment)
    assert not {s.speaker for s in segments} & {"Facilitator", "Moderator", "Scribe", "Interviewer", "Q"}


def test_segments_never_span_two_speakers(study):
    segments = segment_all(study.transcripts, study.config.segment)
    for seg in segments:
        t = by_id(study, seg.transcript)
        turn = t.turns[seg.turn]
        assert turn.start <= seg.start < seg.end <= turn.end and seg.speaker == turn.speaker
        assert seg.participant == t.participant_of(turn)
    g01 = [(s.speaker, s.participant) for s in segments if s.transcript == "G01"]
    assert set(g01) == {("Ann", "F01"), ("Bob", "F04"), ("Cat", "F05")}


def test_a_speaker_listed_in_speakers_csv_may_speak_once(focus):
    (focus / "transcripts" / "G03.txt").write_text("Moderator: Go on.\n\nGus: Once only.\n\nHal: First.\n\n"
                                                   "Moderator: More?\n\nHal: Second.\n")
    with open(focus / "speakers.csv", "a") as fh:
        fh.write("G03,Gus,F03\nG03,Hal,F05\n")
    g03 = by_id(load_study(focus), "G03")
    assert [t.speaker for t in g03.turns] == ["Moderator", "Gus", "Hal", "Moderator", "Hal"]
    assert g03.participants == ["F03", "F05"]


def test_unmapped_speakers_are_an_error_naming_transcript_and_labels(focus):
    (focus / "speakers.csv").write_text("transcript,speaker,participant\nG02,Dev,F06\n")
    with pytest.raises(AutocodeError, match="G02") as err:
        load_study(focus)
    message = str(err.value)
    assert "'Eve'" in message and "'Fay'" in message and "'Dev'" not in message and "\n" not in message
    assert "speakers.csv" in message and "speakers_are_participants" in message


def test_several_speakers_without_any_mapping_is_an_error():
    t = parse("Moderator: Hi all\n\nAnn: Hello\n\nBob: Hi\n\nAnn: Yes\n\nBob: No\n", "FG9")
    with pytest.raises(AutocodeError, match=r"transcript 'FG9' has 2 participant speakers .*'Ann', 'Bob'"):
        resolve_speakers(t)


def test_todays_rules_for_an_interview_are_unchanged():
    one = parse("Interviewer: Hi\n\nDr Ann Lee: Hello\n\nInterviewer: Ok\n\nDr Ann Lee: Yes\n", "int07")
    resolve_speakers(one)
    assert one.participants == ["int07"]  # one participant label: the file name
    header = parse("# participant: P09\n\nInterviewer: Hi\n\nP09: Hello\n\nDr Rao: me too\n\nDr Rao: yes\n")
    resolve_speakers(header)
    assert header.participants == ["P09"]  # '# participant:' declares a one-participant interview
    unresolved = parse("Moderator: Hi\n\nAnn: a\n\nBob: b\n\nAnn: c\n\nBob: d\n")
    assert unresolved.participants == ["T"]  # parse alone: today's single participant


def test_speakers_are_participants_flag():
    t = parse("Moderator: Hi\n\nAnn Lee: a\n\nSpeaker 2: b\n\nAnn Lee: c\n\nSpeaker 2: d\n", "FG3")
    resolve_speakers(t, speakers_are_participants=True)
    assert t.participants == ["Ann Lee", "FG3/Speaker 2"]  # names as written; role labels per transcript
    single = parse("Q: Hi\n\nA: Hello\n\nQ: Ok\n\nA: Yes\n", "int4")
    resolve_speakers(single, speakers_are_participants=True)
    assert single.participants == ["int4"]


def test_the_flag_in_study_settings(focus):
    (focus / "speakers.csv").unlink()
    with pytest.raises(AutocodeError, match="G02"):
        load_study(focus)
    people = "participant_id,role\n" + "".join(f"{p},x\n" for p in ["F01", "F02", "F03", "F04", "F05", "Dev", "Eve", "Fay"])
    (focus / "participants.csv").write_text(people)
    (focus / "study.yaml").write_text("codebook: codebook.yaml\nconfig:\n  reader: {speakers_are_participants: true}\n")
    study = load_study(focus)
    assert by_id(study, "G02").participants == ["Dev", "Eve", "Fay"]
    assert by_id(study, "G01").participants == ["F01", "F04", "F05"]  # headers still win
    assert ReaderConfig().speakers_are_participants is False


@pytest.mark.parametrize(
    "speakers, fragments",
    [
        ("transcript,speaker,participant\nG02,Dev,F06\nG02,Eve,F07\nG02,Fay,F02\nG09,Ann,F01\n",
         ["speakers.csv", "G09", "do not exist"]),
        ("transcript,speaker,participant\nG02,Dev,F06\nG02,Eve,F07\nG02,Fay,F02\nG02,Gus,F05\n",
         ["'Gus'", "never speaks", "G02"]),
        ("transcript,speaker,participant\nG02,Dev,F06\nG02,Eve,F07\nG02,Fay,F02\nG02,dev,F05\n",
         ["speakers.csv", "line 5", "mapped again"]),
        ("transcript,speaker\nG02,Dev\n", ["speakers.csv", "participant"]),
        ("transcript,speaker,participant\nG02,Dev,\n", ["speakers.csv", "line 2", "empty participant"]),
        ("transcript,speaker,participant\nG02,Dev,F06\nG02,Eve,F07\nG02,Fay,F02\nG02,Moderator,F05\n",
         ["'Moderator'", "interviewer", "never coded"]),
        ("transcript,speaker,participant\nG02,Dev,F06\nG02,Eve,F07\nG02,Fay,F99\n",
         ["participants.csv", "G02", "'Fay'", "F99"]),
        ("transcript,speaker,participant\nG02,Dev,F06\nG02,Eve,F07\nG02,Fay,F02\nG01,Ann,F03\n",
         ["G01.txt", "'Ann'", "F01", "F03", "keep one"]),
    ],
)
def test_bad_speaker_mappings(focus, speakers, fragments):
    (focus / "speakers.csv").write_text(speakers)
    with pytest.raises(AutocodeError) as err:
        load_study(focus)
    for fragment in fragments:
        assert fragment in str(err.value), (fragment, str(err.value))


def test_bad_speaker_header():
    with pytest.raises(AutocodeError, match="LABEL = PARTICIPANT_ID"):
        parse("# speaker: Ann P01\n\nModerator: Hi\n\nAnn: Hello\n")
    with pytest.raises(AutocodeError, match="twice"):
        parse("# speaker: Ann = P01\n# speaker: ann = P02\n\nModerator: Hi\n\nAnn: Hello\n")


def test_labels_match_case_and_space_insensitively():
    t = parse("# speaker: dr  ann lee = P31\n# speaker: Bob = P32\n\nModerator: Hi\n\nDr Ann Lee: a\n\nBob: b\n")
    resolve_speakers(t)
    assert t.participants == ["P31", "P32"]


# -- grading ----------------------------------------------------------------------------------
def coded(study):
    segments = segment_all(study.transcripts, study.config.segment)
    Y = project_spans(segments, study.codings["coder_a"], study.codebook, study.config.projection)
    return segments, Y


def test_spread_counts_people_not_transcripts(study):
    rows = {r.code: r for r in grade_study(FOCUS, FOCUS / "codings" / "coder_a.jsonl", by=[]) if r.group == "all"}
    assert rows["tension"].participants == 7  # not 5 transcripts, not 9 transcript-participant pairs
    beds = rows["tension.beds"]  # F01 (interview and G01), F03, F07 ("Eve" in G02)
    assert (beds.spread, beds.occurrences) == (3, 4) and beds.depth == pytest.approx(4 / 3)
    patients = rows["strategy.patients"]  # F02 (interview), F04 ("Bob"), F01 ("Ann"), F07 ("Eve")
    assert (patients.spread, patients.occurrences) == (4, 4)
    talking = rows["strategy.talking"]  # F01 twice (interview, G01), F03, F06 ("Dev")
    assert (talking.spread, talking.occurrences, talking.depth) == (3, 4, pytest.approx(4 / 3))


def test_breakdown_by_setting_counts_each_participant_where_they_spoke(study):
    segments, Y = coded(study)
    rows = {(r.group, r.code): r for r in grade(segments, Y, study.codebook, participants=study.participants,
                                                 by=["setting"])}
    assert rows[("setting=interview", "tension")].participants == 3  # F01, F02, F03
    assert rows[("setting=focus group", "tension")].participants == 6  # F01, F02 and four others
    beds_i, beds_f = rows[("setting=interview", "tension.beds")], rows[("setting=focus group", "tension.beds")]
    assert (beds_i.spread, beds_i.occurrences) == (2, 2)  # F01, F03
    assert (beds_f.spread, beds_f.occurrences) == (2, 2)  # F01 (as Ann), F07: F01 counts in both settings
    contracts_f = rows[("setting=focus group", "tension.money.contracts")]
    assert (contracts_f.spread, contracts_f.occurrences) == (1, 1)  # F06 only: F02's was in the interview
    assert rows[("all", "tension.beds")].occurrences == beds_i.occurrences + beds_f.occurrences


def test_breakdown_by_participant_attribute(study):
    segments, Y = coded(study)
    rows = {(r.group, r.code): r for r in grade(segments, Y, study.codebook, participants=study.participants,
                                                 by=["role"])}
    assert rows[("role=physician", "tension")].participants == 4  # F01, F03, F05, F07
    assert rows[("role=non-physician", "tension")].participants == 3
    assert rows[("role=physician", "tension.beds")].spread == 3


def test_grade_command_by_setting(study):
    rows = grade_study(FOCUS, FOCUS / "codings" / "coder_a.jsonl", by=["setting", "role"])
    groups = {r.group: r.participants for r in rows if r.code == "tension"}
    assert groups == {"all": 7, "setting=focus group": 6, "setting=interview": 3,
                      "role=non-physician": 3, "role=physician": 4}


def test_a_participants_csv_setting_column_is_an_ordinary_attribute(focus):
    text = (focus / "participants.csv").read_text().splitlines()
    rows = [text[0] + ",setting"] + [line + (",group" if line[:3] in ("F04", "F05") else ",one") for line in text[1:]]
    (focus / "participants.csv").write_text("\n".join(rows) + "\n")
    study = load_study(focus)
    assert study.participants.transcript_attributes == {}
    groups = {r.group: r.participants for r in grade_study(focus, focus / "codings" / "coder_a.jsonl", by=["setting"])
              if r.code == "tension"}
    assert groups == {"all": 7, "setting=group": 2, "setting=one": 5}


def test_an_interview_study_is_unchanged(mini):
    study = load_study(mini)
    assert "setting" not in study.participants["M01"] and study.participants.transcript_attributes == {}
    assert all(t.setting == "interview" and t.participants == [t.participant] for t in study.transcripts)


# -- evaluation keeps transcripts together ----------------------------------------------------
def test_folds_keep_each_focus_group_whole(study):
    segments = segment_all(study.transcripts, study.config.segment)
    groups = [s.transcript for s in segments]
    for n_folds in (2, 3, 5):
        folds = group_folds(groups, n_folds)
        fold_of = defaultdict(set)
        for g, k in zip(groups, folds):
            fold_of[g].add(int(k))
        assert all(len(k) == 1 for k in fold_of.values()), fold_of
        g01 = {(s.participant, int(k)) for s, k in zip(segments, folds) if s.transcript == "G01"}
        assert len({k for _, k in g01}) == 1 and len({p for p, _ in g01}) == 3


def test_corpus_folds_keep_each_focus_group_whole():
    study = load_study(CORPUS, with_codings=False)
    segments = segment_all(study.transcripts, study.config.segment)
    groups = [s.transcript for s in segments]
    folds = group_folds(groups, 5)
    for tid in ("FG01", "FG02"):
        assert len({int(k) for g, k in zip(groups, folds) if g == tid}) == 1
    assert "FG01" not in study.settings.heldout and "FG02" not in study.settings.heldout


def test_transformer_validation_split_keeps_groups_whole():
    pytest.importorskip("torch")
    from autocode.classifiers.transformer import grouped_split

    groups = ["G01"] * 7 + ["G02"] * 9 + ["F01"] * 3 + ["F02"] * 3 + ["F03"] * 3
    train, val = grouped_split(len(groups), groups, 0.3, seed=1)
    for g in set(groups):
        rows = [i for i, x in enumerate(groups) if x == g]
        assert train[rows].all() or val[rows].all()
    assert not (train & val).any() and (train | val).all()


def test_training_leaves_a_heldout_focus_group_out_entirely(tmp_path):
    from autocode.training import train

    captured = {}
    import autocode.training as training

    real = training.cross_validate

    def spy(make, items, Y, groups, book, folds, seed, progress):
        captured["groups"] = list(groups)
        result = real(make, items, Y, groups, book, folds, seed, progress)
        captured["folds"] = result.folds
        return result

    training.cross_validate = spy
    try:
        result = train(FOCUS, tmp_path / "model", "tfidf", folds=2)
    finally:
        training.cross_validate = real
    meta = json.loads((tmp_path / "model" / "model.json").read_text())
    assert sorted(meta["training"]["transcripts"]) == ["F01", "F02", "F03", "G01"]
    assert meta["training"]["heldout_excluded"] == ["G02"]
    assert "G02" not in captured["groups"]  # no held-out focus-group segment in training or its folds
    folds = {g: {int(k) for x, k in zip(captured["groups"], captured["folds"]) if x == g} for g in captured["groups"]}
    assert all(len(v) == 1 for v in folds.values())
    assert result.metrics["heldout"]  # evaluated on the held-out focus group


# -- importers ---------------------------------------------------------------------------------
def cue(n, start, speaker, text):
    """A Teams caption cue: the speaker in a voice tag."""
    return f"{n}\n00:00:{start:02d}.000 --> 00:00:{start + 3:02d}.000\n<v {speaker}>{text}</v>\n"


def test_vtt_focus_group_import_maps_speakers_from_names(tmp_path):
    from autocode.io.importer import import_file

    cues = [("Dr Jo Park", "Welcome all. What gets in the way of working together?"),
            ("Sam Reed", "Beds, mostly. We never have enough."),
            ("Speaker 3", "Money as well, the savings plan."),
            ("Dr Jo Park", "And what helps?"),
            ("Sam Reed", "Sitting down together and talking."),
            ("Lee Moss", "I agree with that."),
            ("Speaker 3", "Patients first, always."),
            ("Dr Jo Park", "Anything else?")]
    path = tmp_path / "fg_teams.vtt"
    path.write_text("WEBVTT\n\n" + "\n".join(cue(i + 1, 4 * i, s, t) for i, (s, t) in enumerate(cues)))
    result = import_file(path, tmp_path / "study")
    assert result.interviewers == ["Dr Jo Park"]
    assert not any("single turn" in w for w in result.warnings)  # Lee Moss is listed, so read as a speaker
    assert any("3 participant speakers" in w for w in result.warnings)
    rows = (tmp_path / "study" / "speakers.csv").read_text().splitlines()
    assert rows == ["transcript,speaker,participant", "fg_teams,Sam Reed,Sam_Reed",
                    "fg_teams,Speaker 3,fg_teams_Speaker_3", "fg_teams,Lee Moss,Lee_Moss"]
    study = load_study(tmp_path / "study")
    (t,) = study.transcripts
    assert t.participants == ["Sam_Reed", "fg_teams_Speaker_3", "Lee_Moss"] and t.setting == "focus group"
    assert [turn.speaker for turn in t.turns].count("Lee Moss") == 1
    assert sorted(study.participants) == ["Lee_Moss", "Sam_Reed", "fg_teams_Speaker_3"]  # no row for the file


def test_docx_focus_group_import(tmp_path):
    docx = pytest.importorskip("docx")
    from autocode.io.importer import import_file

    document = docx.Document()
    for speaker, text in [("Facilitator", "Shall we begin?"), ("Amir Haddad", "The rota is the problem."),
                          ("Bea Lund", "And the beds."), ("Facilitator", "What helps?"),
                          ("Amir Haddad", "Talking it through."), ("Bea Lund", "Patients first.")]:
        document.add_paragraph(f"{speaker}: {text}")
    document.save(tmp_path / "group.docx")
    import_file(tmp_path / "group.docx", tmp_path / "study")
    study = load_study(tmp_path / "study")
    assert study.transcripts[0].participants == ["Amir_Haddad", "Bea_Lund"]


def test_an_interview_import_writes_no_speakers_file(tmp_path):
    from autocode.io.importer import import_file

    import_file(Path(__file__).parent / "fixtures" / "interop" / "zoom.vtt", tmp_path / "study")
    assert not (tmp_path / "study" / "speakers.csv").exists()


NS = "urn:QDA-XML:project:1.0"


def qdpx(path: Path, text: str, cases: list[tuple[str, str, str]]) -> Path:
    """A REFI-QDA project with one text source and cases (name, role, speaker variable) listing it."""
    variables = ('<Variables><Variable guid="v-role" name="role" typeOfVariable="Text"/>'
                 '<Variable guid="v-speaker" name="speaker" typeOfVariable="Text"/></Variables>')
    case_xml = "".join(
        f'<Case guid="c-{i}" name="{name}"><VariableValue><VariableRef targetGUID="v-role"/><TextValue>{role}'
        f'</TextValue></VariableValue><VariableValue><VariableRef targetGUID="v-speaker"/><TextValue>{speaker}'
        '</TextValue></VariableValue><SourceRef targetGUID="s-1"/></Case>'
        for i, (name, role, speaker) in enumerate(cases))
    qde = (f'<?xml version="1.0" encoding="utf-8"?>\n<Project xmlns="{NS}" name="fg" origin="QualCoder 3.5">'
           f'{variables}<Cases>{case_xml}</Cases><Sources><TextSource guid="s-1" name="Focus group 1">'
           f'<PlainTextContent>{text}</PlainTextContent></TextSource></Sources></Project>')
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("project.qde", qde)
    return path


def test_refi_focus_group_maps_speakers_from_cases(tmp_path):
    from autocode.io.refi import import_qdpx

    text = ("Facilitator: Who starts?\n\nAnn: Beds.\n\nBen: Money.\n\nCy: Rotas.\n\n"
            "Facilitator: And then?\n\nAnn: We talked.\n\nBen: Patients first.\n\nCy: Agreed.\n")
    # a case named after the speaker; a case whose variable names the speaker; no case for Cy
    project = qdpx(tmp_path / "fg.qdpx", text, [("Ann", "physician", ""), ("P-17", "manager", "Ben")])
    result = import_qdpx(project, tmp_path / "study")
    rows = (tmp_path / "study" / "speakers.csv").read_text().splitlines()
    assert rows == ["transcript,speaker,participant", "Focus_group_1,Ann,Ann", "Focus_group_1,Ben,P-17",
                    "Focus_group_1,Cy,Cy"]
    study = load_study(result.out)
    (t,) = study.transcripts
    assert t.text == text  # no header added, so no coding moves
    assert t.participants == ["Ann", "P-17", "Cy"]
    assert study.participants["P-17"]["role"] == "manager" and study.participants["Ann"]["role"] == "physician"
    assert "Focus_group_1" not in study.participants


def test_refi_interview_in_one_case_is_unchanged(tmp_path):
    from autocode.io.refi import import_qdpx

    text = "Interviewer: Hello?\n\nR: Hi.\n\nInterviewer: Beds?\n\nR: Never enough.\n"
    project = qdpx(tmp_path / "one.qdpx", text, [("NL07", "matron", "")])
    result = import_qdpx(project, tmp_path / "study")
    assert not (tmp_path / "study" / "speakers.csv").exists()
    study = load_study(result.out)
    assert study.transcripts[0].text.startswith("# participant: NL07\n\n")
    assert study.transcripts[0].participants == ["NL07"]


def test_config_reader_section_accepts_the_flag():
    config = Config.model_validate({"reader": {"speakers_are_participants": True}})
    assert config.reader.speakers_are_participants is True


def test_an_exported_focus_group_imports_back(tmp_path, study):
    from autocode.io.refi import export_qdpx, import_qdpx

    project = export_qdpx(study, tmp_path / "focus.qdpx", [], []).path
    back = load_study(import_qdpx(project, tmp_path / "back").out)
    assert by_id(back, "G01").participants == ["F01", "F04", "F05"]  # its '# speaker:' lines travel with it
    assert {p for t in back.transcripts for p in t.participants} >= {"F01", "F02", "F03", "F04", "F05"}
