"""WebVTT (Zoom, Teams), SRT and Word transcripts to speaker-labelled text."""

from __future__ import annotations

import importlib.util
import zipfile
from pathlib import Path

import pytest

from autocode.config import DEFAULT_INTERVIEWER_LABELS
from autocode.errors import AutocodeError
from autocode.io.media import convert, label
from autocode.io.transcripts import parse_transcript

INTEROP = Path(__file__).parent / "fixtures" / "interop"
_spec = importlib.util.spec_from_file_location("make_fixtures", INTEROP / "make_fixtures.py")
mf = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(mf)


def read_back(text: str, extra_labels=(), unlabelled="error"):
    return parse_transcript(text, "T", DEFAULT_INTERVIEWER_LABELS + list(extra_labels), unlabelled=unlabelled)


def turns(text: str, extra_labels=(), unlabelled="error"):
    t = read_back(text, extra_labels, unlabelled)
    return [(turn.speaker, turn.timestamp, t.turn_text(turn)) for turn in t.turns]


def test_zoom_vtt_merges_cues_into_turns_and_keeps_timestamps():
    converted = convert(INTEROP / "zoom.vtt")
    assert converted.speakers == ["Dr Helen Okafor", "Sam Whitfield"] and converted.warnings == []
    got = turns(converted.text, ["Dr Helen Okafor"])
    assert [s for s, _, _ in got] == ["Dr Helen Okafor", "Sam Whitfield"] * 3
    assert got[0] == ("Dr Helen Okafor", "00:00:02", "Thanks for making the time today. Can you start by telling me "
                      "a bit about your current role in the trust?")
    assert got[1][1] == "00:00:10" and got[1][2].startswith("Sure. I'm the clinical director")
    assert "the surgical wards & the day unit. Honestly: it's about half" in got[1][2]  # entity; not a speaker
    assert "last Tuesday > that's" in got[3][2]
    assert "\n1\n" not in converted.text and "-->" not in converted.text  # cue numbers and timings gone


def test_teams_vtt_voice_tags_entities_and_names():
    converted = convert(INTEROP / "teams.vtt")
    assert converted.speakers == ["Helen Okafor", "Zoe Martinez"]
    got = turns(converted.text)
    assert [(s, ts) for s, ts, _ in got] == [("Helen Okafor", "00:00:01"), ("Zoe Martinez", "00:00:09"),
                                            ("Helen Okafor", "00:00:19"), ("Zoe Martinez", "00:00:22")]
    assert got[0][2] == ("Good morning, and thank you for joining. Could you describe how decisions about "
                         "staffing get made on your unit?")
    assert got[1][2] == ("Mostly in the morning huddle. The ward manager & I look at acuity, then we ring round "
                         "for bank staff if we're short.")
    assert got[3][2] == "Officially the matron. In practice it\u2019s whoever is on the floor at 7am."
    assert "Transcript generated" not in converted.text and "</v>" not in converted.text


def test_teams_vtt_without_closing_tags_and_with_styling(tmp_path):
    path = tmp_path / "legacy.vtt"
    path.write_text("WEBVTT\n\nSTYLE\n::cue { color: white }\n\n"
                    "00:01.000 --> 00:03.500 align:start position:10%\n<v.loud Ana Ruiz>We <b>never</b> had<00:02.000> enough\n\n"
                    "00:03.600 --> 00:05.000\n<v Ana Ruiz>porters &lt;at night&gt;.\n\n"
                    "00:06.000 --> 00:08.000\n<v Interviewer>Why not?\n\n"
                    "00:09.000 --> 00:10.000\n<v Interviewer>Go on.\n\n"
                    "00:10.500 --> 00:12.000\n<v Ana Ruiz>Budget.\n", encoding="utf-8")
    got = turns(convert(path).text)
    assert got == [("Ana Ruiz", "00:00:01", "We never had enough porters <at night>."),
                   ("Interviewer", "00:00:06", "Why not? Go on."), ("Ana Ruiz", "00:00:10", "Budget.")]


def test_srt_with_tags_and_crlf(tmp_path):
    converted = convert(INTEROP / "interview.srt")
    assert turns(converted.text) == [
        ("INTERVIEWER", "00:00:00", "What does a good day look like for you as a service lead?"),
        ("P07", "00:00:04", "When the clinic runs on time and nobody has been moved to another site. "
                            "That doesn't happen often."),
        ("INTERVIEWER", "00:00:13", "And a bad day?"),
        ("P07", "00:00:16", "A bad day is when I spend it on rotas instead of patients."),
    ]
    crlf = tmp_path / "crlf.srt"
    crlf.write_bytes(b"\xef\xbb\xbf" + (INTEROP / "interview.srt").read_bytes().replace(b"\n", b"\r\n"))
    assert convert(crlf).text == converted.text


def test_captions_without_speakers_become_paragraphs_at_pauses(tmp_path):
    path = tmp_path / "nospeaker.srt"
    path.write_text("1\n00:00:01,000 --> 00:00:03,000\nWe lost two registrars in a month.\n\n"
                    "2\n00:00:03,200 --> 00:00:05,000\nNobody replaced them.\n\n"
                    "3\n00:00:09,000 --> 00:00:11,000\nSo the consultants covered nights.\n", encoding="utf-8")
    text = convert(path).text
    assert text == ("[00:00:01] We lost two registrars in a month. Nobody replaced them.\n\n"
                    "[00:00:09] So the consultants covered nights.\n")
    with pytest.raises(AutocodeError):
        read_back(text)
    assert turns(text, unlabelled="participant") == [
        ("T", "00:00:01", "We lost two registrars in a month. Nobody replaced them."),
        ("T", "00:00:09", "So the consultants covered nights.")]


def test_single_turn_speaker_is_reported(tmp_path):
    path = tmp_path / "one.vtt"
    path.write_text("WEBVTT\n\n00:00:01.000 --> 00:00:02.000\nMo Patel: Hello, is this on?\n\n"
                    "00:00:03.000 --> 00:00:04.000\nP03: Yes.\n\n00:00:05.000 --> 00:00:06.000\nMo Patel: Good.\n"
                    "\n00:00:07.000 --> 00:00:08.000\nDana Cole: Sorry I am late.\n", encoding="utf-8")
    converted = convert(path)
    assert "Dana Cole: Sorry I am late." in converted.text  # 'Dana Cole' occurs once: not a confirmed label
    assert converted.speakers == ["Mo Patel", "P03"]
    tagged = tmp_path / "tagged.vtt"
    tagged.write_text("WEBVTT\n\n00:00:01.000 --> 00:00:02.000\n<v Mo Patel>Hello?\n\n"
                      "00:00:03.000 --> 00:00:04.000\n<v Dana Cole>Hi, sorry I am late.\n", encoding="utf-8")
    warnings = convert(tagged).warnings
    assert len(warnings) == 2 and "'Dana Cole' has a single turn" in warnings[1]


def test_label_alphabet():
    assert label("Okafor, Helen (NHS Lothian)") == "Helen Okafor"
    assert label("Zoë Martínez-Ávila") == "Zoe Martinez-Avila"
    assert label("O'Brien [host]") == "O'Brien"
    assert label("42") == "Speaker 42" and label("😀") == "Speaker"
    assert label("one two three four five six seven") == "one two three four five"


@pytest.mark.parametrize("name, content, message", [
    ("bad.vtt", "00:00:01.000 --> 00:00:02.000\nhi\n", "first line must be 'WEBVTT'"),
    ("empty.vtt", "", "file is empty"),
    ("nocues.vtt", "WEBVTT\n\nNOTE nothing here\n", "no cues with text"),
    ("nocues.srt", "just some words\n", "no cues with text"),
])
def test_caption_errors_name_the_file(tmp_path, name, content, message):
    path = tmp_path / name
    path.write_text(content, encoding="utf-8")
    with pytest.raises(AutocodeError, match=message) as err:
        convert(path)
    assert name in str(err.value)


def test_binary_caption_is_refused(tmp_path):
    path = tmp_path / "x.vtt"
    path.write_bytes("WEBVTT".encode("utf-16"))
    with pytest.raises(AutocodeError, match="binary"):
        convert(path)


# -- Word -----------------------------------------------------------------------------------
def test_docx_prefix_speakers_timestamps_and_continuation(tmp_path):
    converted = convert(mf.build_docx_prefix(tmp_path / "prefix.docx"))
    assert converted.text.startswith("Interview 14 - ward manager\n\n[00:00:05] Interviewer: How long")
    got = turns(converted.text)
    assert got == [
        ("Interviewer", "00:00:05", "How long have you managed the ward?"),
        ("P14", "00:00:09", "Six years in March. Before that I was a charge nurse here.\n"
                            "It is the same ward, which helps and hurts."),
        ("Interviewer", "00:01:02", "What is the biggest pressure right now?"),
        ("P14", "00:01:06", "Agency spend: we are told to cut it and to keep the ward safe."),
    ]


def test_docx_bold_speakers_and_name_on_its_own_line(tmp_path):
    converted = convert(mf.build_docx_bold(tmp_path / "bold.docx"))
    got = turns(converted.text, ["Dr Amir Haddad"])
    assert [s for s, _, _ in got] == ["Dr Amir Haddad", "Fiona Mackay", "Dr Amir Haddad", "Fiona Mackay"]
    assert got[1][2] == "Happy to. I have about forty minutes."
    assert got[3][2] == ("Nobody else would. That is the honest answer.\n"
                         "And it turned out I liked the strategy side more than I expected.")


def test_docx_table_and_otter_style_name_lines(tmp_path):
    import docx

    document = docx.Document()
    table = document.add_table(rows=0, cols=2)
    for who, said in [("Interviewer", "What changed?"), ("R", "The rota."), ("Interviewer", "Why?"), ("R", "Money.")]:
        cells = table.add_row().cells
        cells[0].text, cells[1].text = who, said
    document.save(tmp_path / "table.docx")
    assert [(s, t) for s, _, t in turns(convert(tmp_path / "table.docx").text)] == [
        ("Interviewer", "What changed?"), ("R", "The rota."), ("Interviewer", "Why?"), ("R", "Money.")]
    document = docx.Document()
    for line in ["Jo Bell  0:03", "So where do we start?", "Sam Reid  0:07", "With the money, always.",
                 "Jo Bell  1:12", "Fair enough?", "Sam Reid  1:15", "Yes."]:
        document.add_paragraph(line)
    document.save(tmp_path / "otter.docx")
    assert turns(convert(tmp_path / "otter.docx").text) == [
        ("Jo Bell", "00:00:03", "So where do we start?"), ("Sam Reid", "00:00:07", "With the money, always."),
        ("Jo Bell", "00:01:12", "Fair enough?"), ("Sam Reid", "00:01:15", "Yes.")]


def test_docx_with_a_dtd_is_refused(tmp_path):
    good = mf.build_docx_prefix(tmp_path / "good.docx")
    evil = tmp_path / "evil.docx"
    with zipfile.ZipFile(good) as zin, zipfile.ZipFile(evil, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            data = zin.read(info)
            if info.filename == "word/document.xml":
                data = data.replace(b"?>", b'?><!DOCTYPE w [<!ENTITY x SYSTEM "file:///etc/passwd">]>', 1)
            zout.writestr(info, data)
    with pytest.raises(AutocodeError, match="refuses for safety"):
        convert(evil)


def test_broken_docx_files_are_clear_errors(tmp_path):
    fake = tmp_path / "fake.docx"
    fake.write_text("this is not a Word file")
    with pytest.raises(AutocodeError, match="not a readable zip"):
        convert(fake)
    nodoc = tmp_path / "nodoc.docx"
    with zipfile.ZipFile(nodoc, "w") as z:
        z.writestr("hello.txt", "hi")
    with pytest.raises(AutocodeError, match="not a readable Word document"):
        convert(nodoc)
    sneaky = tmp_path / "sneaky.docx"
    with zipfile.ZipFile(sneaky, "w") as z:
        z.writestr("../../outside.xml", "<x/>")
    with pytest.raises(AutocodeError, match="path traversal"):
        convert(sneaky)
    empty = tmp_path / "empty.docx"
    import docx

    docx.Document().save(empty)
    with pytest.raises(AutocodeError, match="holds no text"):
        convert(empty)


def test_unsupported_suffix(tmp_path):
    path = tmp_path / "notes.pdf"
    path.write_text("x")
    with pytest.raises(AutocodeError, match="unsupported file type .pdf"):
        convert(path)
