import pytest

from autocode.config import DEFAULT_INTERVIEWER_LABELS as LABELS
from autocode.errors import AutocodeError
from autocode.io.transcripts import decode, parse_transcript, read_transcript


def turns(text, labels=LABELS):
    t = parse_transcript(text, "X", labels)
    return t, [(u.speaker, u.is_interviewer, t.turn_text(u), u.timestamp) for u in t.turns]


@pytest.mark.parametrize(
    "text, speakers",
    [
        ("Interviewer: Hello?\n\nP01: Fine.\n", ["Interviewer", "P01"]),
        ("Q: How?\nA: Well.\n", ["Q", "A"]),
        ("**Interviewer:** Hi\n\n**P13:** Hello\n", ["Interviewer", "P13"]),
        ("[Interviewer]\nHi there\n\n[Participant]\nHello\n", ["Interviewer", "Participant"]),
        ("I: Hi\n\nR: Hello\n", ["I", "R"]),
        ("INTERVIEWER: hi\n\nDr Fiona Mackay: hello\n\nINTERVIEWER: ok\n\nDr Fiona Mackay: yes\n",
         ["INTERVIEWER", "Dr Fiona Mackay", "INTERVIEWER", "Dr Fiona Mackay"]),
    ],
)
def test_label_conventions(text, speakers):
    _, got = turns(text)
    assert [g[0] for g in got] == speakers
    assert got[0][1] is True and got[1][1] is False


def test_turn_spans_exclude_labels_and_keep_multiline_text():
    text = "Interviewer: Hello there?\n\nP01: It's fine.\nSecond line.\n\nMore paragraph.\n\nInterviewer: OK.\n"
    t, got = turns(text)
    assert got[1][2] == "It's fine.\nSecond line.\n\nMore paragraph."
    for u in t.turns:
        assert t.text[u.start : u.end] == t.turn_text(u)
        assert not t.turn_text(u).startswith(u.speaker)


def test_timestamps_are_stripped_and_kept_as_metadata():
    _, got = turns("[00:01:02] Interviewer: Hi\n[00:01:10] Respondent: Hello\n")
    assert got[1] == ("Respondent", False, "Hello", "00:01:10")


def test_a_word_and_colon_inside_a_turn_is_not_a_speaker():
    _, got = turns("Interviewer: So?\n\nP01: Fine.\nHonestly: it was hard.\n\nInterviewer: ok\n\nP01: yes\n")
    assert got[1][2] == "Fine.\nHonestly: it was hard."


def test_header_gives_participant_id_else_file_name():
    t, _ = turns("# participant: P07\n# date: 2015-11-19\n\nInterviewer: Hi\n\nP07: Hello\n")
    assert t.participant == "P07" and t.header["date"] == "2015-11-19"
    t, _ = turns("Interviewer: Hi\n\nA: Hello\n")
    assert t.participant == "X"


def test_configurable_interviewer_labels():
    _, got = turns("Chair: Welcome\n\nSam: Thanks\n\nChair: Next\n\nSam: Sure\n", labels=["chair"])
    assert [g[1] for g in got] == [True, False, True, False]


def test_newlines_and_bom_are_normalised():
    text, notes = decode("\ufeffInterviewer: a\r\nP01: b\rc".encode("utf-8"))
    assert text == "Interviewer: a\nP01: b\nc" and notes == []


def test_cp1252_is_read_with_a_warning(tmp_path):
    path = tmp_path / "P01.txt"
    path.write_bytes("Interviewer: caf\u00e9?\n\nP01: na\u00efve \u2013 yes\n".encode("cp1252"))
    with pytest.warns(UserWarning, match="cp1252"):
        t = read_transcript(path, LABELS)
    assert "na\u00efve \u2013 yes" in t.text


@pytest.mark.parametrize(
    "content, message",
    [
        (b"", "empty"),
        (b"   \n\n", "empty"),
        (b"\x00\x01\x02PK\x03\x04binary", "binary"),
        (b"Just some notes without any speaker.\nAnother line.", "no speaker turns"),
        (b"Interviewer: one\n\nInterviewer: two\n", "only interviewer"),
    ],
)
def test_bad_transcripts_get_clear_errors(tmp_path, content, message):
    path = tmp_path / "bad.txt"
    path.write_bytes(content)
    with pytest.raises(AutocodeError, match=message) as err:
        read_transcript(path, LABELS)
    assert "bad.txt" in str(err.value) and "\n" not in str(err.value)


def test_unsupported_file_type(tmp_path):
    path = tmp_path / "notes.pdf"
    path.write_bytes(b"%PDF-1.4")
    with pytest.raises(AutocodeError, match="unsupported transcript type .pdf"):
        read_transcript(path, LABELS)
