"""Settings for reading, segmenting, projecting human spans and grading.

Every setting has a documented default; a YAML file (``--config`` or ``autocode.yaml`` in a
study folder) may override any of them, section by section. Unknown keys are errors.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from autocode.errors import AutocodeError, pydantic_problem

DEFAULT_INTERVIEWER_LABELS = ["interviewer", "int", "i", "q", "researcher", "facilitator", "moderator"]


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ReaderConfig(_Section):
    interviewer_labels: list[str] = Field(default_factory=lambda: list(DEFAULT_INTERVIEWER_LABELS))
    """Speaker labels (case-insensitive) whose turns are context only, never coded: the
    interviewer, or a focus group's facilitators (a transcript can add its own with a
    ``# facilitator: NAME`` header line)."""
    speakers_are_participants: bool = False
    """A transcript with several participant speakers and no mapping for some of them
    (speakers.csv, ``# speaker:`` headers) is an error naming them; with true, every such
    label is a participant of its own: the label as written (so ``Anna Reid`` in two
    transcripts is one person), or ``TRANSCRIPT/label`` for a role or number label
    (``Respondent``, ``Speaker 2``, ``R3``) in a transcript with several speakers."""
    unlabelled: Literal["error", "participant"] = "error"
    """A transcript with no speaker labels at all: 'error' refuses it; 'participant' reads it
    as one participant turn per paragraph (set by ``autocode import`` for REFI-QDA sources
    that carry no labels)."""


class SegmentConfig(_Section):
    unit: Literal["sentence", "turn", "window"] = "window"
    """Coding unit: one sentence, one whole turn, or a window of ``window`` sentences in a turn.
    The default (windows of two sentences) reproduced the corpus's human coding best; see
    docs/segmentation.md."""
    window: int = Field(2, ge=1)
    spacy_model: str | None = None
    """A spaCy pipeline name or path; None uses a blank English pipeline with a sentencizer."""


class ProjectionConfig(_Section):
    """How a human span becomes a segment label.

    A segment takes code C when C's spans cover at least ``min_segment_share`` of the
    segment's characters, or when the segment holds at least ``min_span_share`` of one C span.
    """

    min_segment_share: float = Field(0.5, gt=0, le=1)
    min_span_share: float = Field(0.5, gt=0, le=1)


class GradingConfig(_Section):
    """The spread-and-depth rule. Shares are of all participants in the coding's scope."""

    strong: float = Field(0.6, gt=0, le=1)
    moderate: float = Field(0.4, gt=0, le=1)
    weaker: float = Field(0.2, gt=0, le=1)
    boundary: Literal["lower", "upper"] = "lower"
    """'lower': a share exactly on a threshold takes the higher grade (60% is Strong);
    'upper': it takes the lower grade (60% is Moderate)."""
    depth_min: float = 1.0
    depth_max: float = 2.0
    """Depths outside [depth_min, depth_max] are flagged next to the grade."""
    below_weaker: str = "Not graded"
    estimator: Literal["cc", "min_evidence", "pcc", "adjusted", "likelihood"] = "pcc"
    """How machine coding becomes participant-level presence (see autocode.quantify and
    docs/grade-fidelity.md); used when the model carries fitted estimators."""
    review_below: float = Field(0.8, ge=0, le=1)
    """Machine grades whose estimated chance of being right is below this are flagged for review."""

    @model_validator(mode="after")
    def _ordered(self) -> "GradingConfig":
        if not self.weaker < self.moderate < self.strong:
            raise ValueError("thresholds must satisfy weaker < moderate < strong")
        if self.depth_min > self.depth_max:
            raise ValueError("depth_min must not exceed depth_max")
        return self


class Config(_Section):
    reader: ReaderConfig = Field(default_factory=ReaderConfig)
    segment: SegmentConfig = Field(default_factory=SegmentConfig)
    projection: ProjectionConfig = Field(default_factory=ProjectionConfig)
    grading: GradingConfig = Field(default_factory=GradingConfig)


def load_config(path: str | Path | None) -> Config:
    """Read a YAML config file; ``None`` gives the defaults."""
    if path is None:
        return Config()
    path = Path(path)
    if not path.is_file():
        raise AutocodeError("config file not found; pass an existing YAML file", path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (yaml.YAMLError, UnicodeDecodeError):
        raise AutocodeError("config is not valid UTF-8 YAML; fix the syntax", path) from None
    try:
        return Config.model_validate(data)
    except ValidationError as exc:
        raise AutocodeError(f"invalid config: {pydantic_problem(exc)}", path) from None
