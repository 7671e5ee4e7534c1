"""Split participant turns into coding units with spaCy.

Only participant turns are segmented and coded; each segment keeps the interviewer's last
question as context. A segment never crosses a turn (so never two speakers) and never a blank
line inside a turn. A segment's participant is its turn's (``Transcript.participant_of``): in a
focus group each speaker's turns belong to that speaker's participant. Units: ``sentence``, ``turn``, or ``window`` (N consecutive sentences).
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass
from functools import lru_cache
from typing import Iterable, Iterator

from autocode.config import SegmentConfig
from autocode.errors import AutocodeError
from autocode.io.transcripts import Transcript
from autocode.lazy import hidden

_PARAGRAPH = re.compile(r"\n[ \t]*\n")


@dataclass(frozen=True, slots=True)  # slots: a big batch holds a great many of these
class Segment:
    id: str
    transcript: str
    participant: str
    speaker: str
    turn: int
    start: int
    end: int
    text: str
    context: str = ""


def _import_spacy(model: str | None):
    """spaCy without torch for the blank pipeline (a named one might run on torch)."""
    if model is not None or "spacy" in sys.modules:
        import spacy

        return spacy
    with hidden("torch"):
        import spacy
    return spacy


@lru_cache(maxsize=4)
def _nlp(model: str | None):
    spacy = _import_spacy(model)
    if model is None:
        nlp = spacy.blank("en")
        nlp.add_pipe("sentencizer")
        return nlp
    try:
        return spacy.load(model, exclude=["ner", "lemmatizer", "textcat"])
    except OSError:
        raise AutocodeError(
            f"spaCy pipeline {model!r} is not installed; install it or set segment.spacy_model to null"
        ) from None


def _paragraphs(text: str, offset: int) -> Iterator[tuple[int, str]]:
    pos = 0
    for match in _PARAGRAPH.finditer(text):
        yield offset + pos, text[pos : match.start()]
        pos = match.end()
    yield offset + pos, text[pos:]


def _sentence_spans(nlp, pieces: list[tuple[int, str]]) -> list[list[tuple[int, int]]]:
    """Character spans of the sentences of each (offset, text) piece, trimmed of white space."""
    out = []
    for (offset, text), doc in zip(pieces, nlp.pipe(t for _, t in pieces)):
        spans = []
        for sent in doc.sents:
            start, end = sent.start_char, sent.end_char
            while start < end and text[start].isspace():
                start += 1
            while end > start and text[end - 1].isspace():
                end -= 1
            if end > start:
                spans.append((offset + start, offset + end))
        out.append(spans)
    return out


def segment_transcript(transcript: Transcript, config: SegmentConfig) -> list[Segment]:
    """Segments of one transcript's participant turns, in text order."""
    nlp = _nlp(config.spacy_model)
    segments: list[Segment] = []
    context = ""
    for turn in transcript.turns:
        body = transcript.turn_text(turn)
        if turn.is_interviewer:
            context = body
            continue
        participant = transcript.participant_of(turn)
        if config.unit == "turn":
            units = [[(turn.start, turn.end)]]
        else:
            pieces = [(o, t) for o, t in _paragraphs(body, turn.start) if t.strip()]
            longest = max((len(t) for _, t in pieces), default=0)
            if longest > nlp.max_length:
                raise AutocodeError(f"a paragraph of {longest} characters is over the sentence splitter's limit of "
                                    f"{nlp.max_length}; split it with blank lines", transcript.path or transcript.id)
            sentences = [s for para in _sentence_spans(nlp, pieces) for s in para]
            size = 1 if config.unit == "sentence" else config.window
            units = [sentences[i : i + size] for i in range(0, len(sentences), size)]
        for unit in units:
            start, end = unit[0][0], unit[-1][1]
            segments.append(
                Segment(f"{transcript.id}:{start}-{end}", transcript.id, participant, turn.speaker,
                        turn.index, start, end, transcript.text[start:end], context)
            )
    return segments


def segment_all(transcripts: Iterable[Transcript], config: SegmentConfig) -> list[Segment]:
    return [s for t in transcripts for s in segment_transcript(t, config)]
