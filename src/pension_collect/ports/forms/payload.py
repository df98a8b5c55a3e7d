"""Paper tied to data: the digest of a confirmation form's printed data, the QR
payload carrying it, and the check of a scanned payload against stored data.

Payload, version 1 (ASCII, fields ``/``-separated and percent-encoded)::

    PC1/<unit_no>/<worker key>/<declaration ref>/<print until YYYYMM>/<digest>

- worker key: ``P<person_no>``, else ``H`` + 16 hex digits of a SHA-256 of the
  identity number (never a name or an identity number: scanners log payloads);
- declaration ref: empty when the forms were printed before a declaration
  existed; print until: empty when the pack has no cut-off;
- digest: 32 upper-case hex digits, the first 128 bits of the SHA-256 of the
  canonical JSON of the printed data (:func:`printed_digest`).

This module does not need reportlab; :func:`qr_matrix` needs segno.
"""

from __future__ import annotations

import hashlib
import operator
from collections.abc import Sequence
from enum import StrEnum
from typing import Any
from urllib.parse import quote, unquote

import attrs

from ..._canonical import canonical_json
from ...model import Dossier
from ...rules.pack import RulePack
from .registry import RenderUnavailable
from .view import (
    _ACCOUNT_FIELDS,
    _HISTORY_FIELDS,
    FormsInput,
    WorkerData,
    WorkerSheet,
    forms_input,
    worker_key,
)

__all__ = [
    "PAYLOAD_PREFIX",
    "QrPayload",
    "Verification",
    "VerifyStatus",
    "payload_for",
    "printed_digest",
    "qr_matrix",
    "verify_payload",
]

PAYLOAD_PREFIX = "PC1"
_DIGEST_HEX = 32


# Each printed line as the tuple of its fields in the canonical order (JSON
# writes a tuple as the list it was): one C call a line instead of a list
# display reading each attribute in Python.
_HISTORY_ROW = operator.attrgetter(*_HISTORY_FIELDS)
_ACCOUNT_ROW = operator.attrgetter(*_ACCOUNT_FIELDS)
_PERSON_ROW = operator.attrgetter(
    "person_no",
    "name",
    "id_number",
    "gender",
    "birth_date",
    "ethnicity",
    "hukou",
    "first_work",
)


def _canonical(unit_no: str, print_until: str | None, data: WorkerData) -> dict[str, Any]:
    history, account = data.history, data.account
    return {
        "v": 1,
        "unit_no": unit_no,
        "print_until": print_until,
        "person": _PERSON_ROW(data.person),
        "history": None if history is None else list(map(_HISTORY_ROW, history)),
        "account": None if account is None else list(map(_ACCOUNT_ROW, account)),
    }


def printed_digest(unit_no: str, print_until: str | None, data: WorkerData) -> str:
    """Digest of what a confirmation form prints for a worker (32 hex digits).

    Any printed value that changes changes the digest; the worker's rows after
    the cut-off do not enter it (they are not printed).
    """
    # A lone surrogate (only the Python API lets one through) is printed as 〓;
    # canonical_json writes it with "surrogatepass", which keeps the digest
    # defined (and unchanged for real text).
    data_bytes = canonical_json(_canonical(unit_no, print_until, data))
    return hashlib.sha256(data_bytes).hexdigest()[:_DIGEST_HEX].upper()


@attrs.frozen(kw_only=True)
class QrPayload:
    """The fields of a confirmation form's QR code."""

    unit_no: str
    worker: str
    """Worker key: ``P<person_no>`` or ``H<hash>``."""
    declaration_ref: str | None
    print_until: str | None
    """``"2011-12"`` or ``None``."""
    digest: str

    def encode(self) -> str:
        """The payload text (what the QR code holds)."""
        until = "" if self.print_until is None else self.print_until.replace("-", "")
        fields = (self.unit_no, self.worker, self.declaration_ref or "", until, self.digest)
        return "/".join((PAYLOAD_PREFIX, *(quote(f, safe="") for f in fields)))

    @classmethod
    def parse(cls, text: str) -> QrPayload:
        """Read a payload; :class:`ValueError` when it is not one of ours."""
        parts = text.strip().split("/")
        if len(parts) != 6 or parts[0] != PAYLOAD_PREFIX:
            raise ValueError("not a pension_collect confirmation-form payload (PC1/...)")
        unit_no, worker, ref, until, digest = (unquote(p) for p in parts[1:])
        if len(until) not in (0, 6) or (until and not until.isdigit()):
            raise ValueError("the payload's cut-off month is not YYYYMM")
        if len(digest) != _DIGEST_HEX or any(c not in "0123456789ABCDEF" for c in digest):
            raise ValueError("the payload's digest is not 32 hex digits")
        if not unit_no or not worker:
            raise ValueError("the payload lacks the employer or the worker")
        return cls(
            unit_no=unit_no,
            worker=worker,
            declaration_ref=ref or None,
            print_until=f"{until[:4]}-{until[4:]}" if until else None,
            digest=digest,
        )


def payload_for(forms: FormsInput, sheet: WorkerSheet) -> QrPayload:
    """The payload printed on each copy of ``sheet``'s confirmation form."""
    return QrPayload(
        unit_no=forms.employer.unit_no,
        worker=sheet.key,
        declaration_ref=forms.declaration_ref,
        print_until=forms.print_until,
        digest=printed_digest(forms.employer.unit_no, forms.print_until, sheet.collected),
    )


def qr_matrix(payload: str) -> Sequence[Sequence[int]]:
    """The QR code of ``payload`` as rows of 0/1 modules (no quiet zone).

    Error correction M, mask pattern 0 fixed: choosing the best mask costs
    about five times the encoding and buys nothing on a laser print.
    """
    try:
        import segno
    except ImportError:  # pragma: no cover - the pdf extra is missing
        raise RenderUnavailable("segno") from None
    code = segno.make_qr(payload, error="m", mask=0, boost_error=False)
    matrix: Sequence[Sequence[int]] = code.matrix
    return matrix


# -- checking a scanned payload --------------------------------------------------------


class VerifyStatus(StrEnum):
    """Outcome of checking a scanned payload against stored data."""

    AGREE = "agree"  # paper and stored data agree
    DIFFER = "differ"  # the printed data differ from the stored data
    UNKNOWN_WORKER = "unknown-worker"  # no such worker in the stored data
    OTHER_EMPLOYER = "other-employer"  # the paper is another employer's
    OTHER_DECLARATION = "other-declaration"  # the paper belongs to another declaration
    MALFORMED = "malformed"  # not a payload of ours


_MESSAGES: dict[VerifyStatus, tuple[str, str]] = {
    VerifyStatus.AGREE: (
        "paper and stored data agree",
        "纸质确认表与申报数据一致",
    ),
    VerifyStatus.DIFFER: (
        "the paper differs from the stored data: print the confirmation form again",
        "纸质确认表与申报数据不一致,请重新打印确认表并由职工签字",
    ),
    VerifyStatus.UNKNOWN_WORKER: (
        "the paper's worker is not in the stored data",
        "申报数据中没有该确认表的职工",
    ),
    VerifyStatus.OTHER_EMPLOYER: (
        "the paper belongs to another employer",
        "该确认表属于其他单位",
    ),
    VerifyStatus.OTHER_DECLARATION: (
        "the paper belongs to another declaration",
        "该确认表属于其他申报",
    ),
    VerifyStatus.MALFORMED: (
        "not a confirmation-form QR code of pension_collect",
        "不是本系统确认表的二维码",
    ),
}


@attrs.frozen(kw_only=True)
class Verification:
    """The verdict on one scanned payload."""

    status: VerifyStatus
    payload: QrPayload | None
    worker_index: int | None = None
    """Position of the worker in the stored dossier (``$.workers[i]``)."""
    expected_digest: str | None = None
    """Digest of the stored data as it would print today."""
    message: str = ""
    message_zh: str = ""

    @property
    def agrees(self) -> bool:
        """Paper and stored data agree."""
        return self.status is VerifyStatus.AGREE

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (the CLI's ``--format json``)."""
        return {
            "status": self.status.value,
            "worker": None if self.payload is None else self.payload.worker,
            "worker_index": self.worker_index,
            "declaration_ref": None if self.payload is None else self.payload.declaration_ref,
            "printed_digest": None if self.payload is None else self.payload.digest,
            "expected_digest": self.expected_digest,
            "message": self.message,
            "message_zh": self.message_zh,
        }


def _verdict(
    status: VerifyStatus,
    payload: QrPayload | None,
    *,
    index: int | None = None,
    expected: str | None = None,
) -> Verification:
    en, zh = _MESSAGES[status]
    return Verification(
        status=status,
        payload=payload,
        worker_index=index,
        expected_digest=expected,
        message=en,
        message_zh=zh,
    )


def verify_payload(
    payload: str | QrPayload,
    dossier: Dossier,
    *,
    pack: RulePack,
    declaration_ref: str | None = None,
) -> Verification:
    """Check a scanned confirmation-form payload against stored data.

    The stored dossier is printed again in memory (with the cut-off month the
    paper names, so a later change of the pack's parameter does not matter)
    and its digest compared with the paper's. ``declaration_ref``, when given,
    must be the paper's. Never raises on a bad payload: it is ``malformed``.
    """
    if isinstance(payload, str):
        try:
            parsed = QrPayload.parse(payload)
        except ValueError:
            return _verdict(VerifyStatus.MALFORMED, None)
    else:
        parsed = payload
    if parsed.unit_no != dossier.employer.unit_no:
        return _verdict(VerifyStatus.OTHER_EMPLOYER, parsed)
    if declaration_ref is not None and parsed.declaration_ref != declaration_ref:
        return _verdict(VerifyStatus.OTHER_DECLARATION, parsed)
    for index, worker in enumerate(dossier.workers):
        if worker_key(worker.person_no, worker.id_number) != parsed.worker:
            continue
        # Printed again with the paper's own cut-off month, so a later change
        # of the pack's parameter does not turn a good paper into a bad one.
        forms = forms_input(
            dossier,
            pack=pack,
            declaration_ref=parsed.declaration_ref,
            select=(index,),
            cut_off=parsed.print_until,
        )
        sheet = forms.workers[0]
        expected = printed_digest(forms.employer.unit_no, forms.print_until, sheet.collected)
        status = VerifyStatus.AGREE if expected == parsed.digest else VerifyStatus.DIFFER
        return _verdict(status, parsed, index=index, expected=expected)
    return _verdict(VerifyStatus.UNKNOWN_WORKER, parsed)
