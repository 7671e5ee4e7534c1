"""The agreement report (compatibility module): the code lives in the :mod:`autocode.agree`
package; this module keeps the names it has always offered.

:func:`agreement_report` compares two or more codings of a study at five levels (segment,
character, unitizing, participant, grade) and lists their disagreements for reconciliation;
:func:`read_reconciled` and :func:`write_reconciled` turn the reconciled listing into a coding
for ``autocode train``. Definitions: docs/agreement.md.
"""

from autocode.agree import (FILES, NO_CODE, SEGMENT_METRICS, AgreementReport, Coding, agreement_report, machine_coding,
                            most_specific, read_coding, read_reconciled, segments_to_spans, write_reconciled)
from autocode.agree.codings import Confidence

__all__ = ["FILES", "NO_CODE", "SEGMENT_METRICS", "AgreementReport", "Coding", "Confidence", "agreement_report",
           "machine_coding", "most_specific", "read_coding", "read_reconciled", "segments_to_spans", "write_reconciled"]
