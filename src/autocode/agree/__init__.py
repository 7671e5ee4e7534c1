"""The agreement report: five levels of agreement between two or more codings of a study.

:func:`agreement_report` compares every coding with the first (the reference) over the
transcripts both coded, and, with three or more coders, pools them all where alpha is defined:

1. segment level: percent agreement, Cohen's kappa, Krippendorff's alpha, Gwet's AC1, and
   precision, recall and F1 with the reference as truth, on the study's segments;
2. character level, as NVivo and QualCoder compute it (optionally without uncoded text);
3. unitizing: Krippendorff's alpha-binary and cu-alpha (as ATLAS.ti reports them) and the
   segment-overlap match of MAXQDA and QDA Miner;
4. participant level: presence or absence of each code in each participant's interview, and
   how often it occurs;
5. grade level: spread, depth and grade per code for each coder, and whether grades match.

Every figure comes per code and as a mean per level of the hierarchy, with a bootstrap interval
over participants. The report also lists every segment where the coders differ (with the
machine's confidence where a machine coding is at hand) as ``disagreements.csv`` for a
reconciliation meeting; :func:`read_reconciled` reads the filled-in CSV back as a coding that
``autocode train`` can learn from (:func:`write_reconciled`). Definitions: docs/agreement.md.

Modules: :mod:`~autocode.agree.codings` (the codings compared), :mod:`~autocode.agree.context`
(what a comparison works from), :mod:`~autocode.agree.segment_level`,
:mod:`~autocode.agree.text_levels` and :mod:`~autocode.agree.participant_levels` (the five
levels), :mod:`~autocode.agree.pair` (a pair at all levels, and all coders pooled),
:mod:`~autocode.agree.reconcile` (disagreements and reconciliation) and
:mod:`~autocode.agree.report` (the report itself).
"""

from autocode.agree.codings import Coding, machine_coding, most_specific, read_coding, segments_to_spans
from autocode.agree.reconcile import NO_CODE, read_reconciled, write_reconciled
from autocode.agree.report import FILES, SEGMENT_METRICS, AgreementReport, agreement_report

__all__ = ["FILES", "NO_CODE", "SEGMENT_METRICS", "AgreementReport", "Coding", "agreement_report", "machine_coding",
           "most_specific", "read_coding", "read_reconciled", "segments_to_spans", "write_reconciled"]
