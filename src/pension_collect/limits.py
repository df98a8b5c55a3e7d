"""How much input the library takes in, and how much it reports (docs/dossier.md, "Limits").

One frozen :class:`Limits` holds every bound; :data:`DEFAULT_LIMITS` is what
the command line uses and what every function taking ``limits=`` uses when
none is given. A caller with a larger employer passes its own::

    from pension_collect.limits import Limits
    dossier = pension_collect.load(path, limits=Limits(workers=250_000))

Each bound turns an input that would take unbounded time or memory into a
clear refusal (a :class:`~pension_collect.errors.Problem` with its JSON path)
or, for the reports, into one summary line that counts what was left out.
"""

from __future__ import annotations

import attrs

__all__ = ["DEFAULT_LIMITS", "Limits"]


def _positive(instance: object, attribute: attrs.Attribute[int], value: int) -> None:
    if type(value) is not int or value < 1:
        raise ValueError(f"Limits.{attribute.name} must be a whole number of at least 1")


#: Text fields that hold the name of a person or an employer, by record class:
#: they get :attr:`Limits.name_length`; every other text field gets
#: :attr:`Limits.text_length`.
_NAME_FIELDS = frozenset(
    {
        ("Employer", "name"),
        ("Employer", "legal_representative"),
        ("Employer", "contact"),
        ("Worker", "name"),
        ("BureauRecord", "name"),
        ("Segment", "employer_name"),
    }
)


@attrs.frozen(kw_only=True)
class Limits:
    """Bounds on what the reader accepts and on what a report lists.

    Every field is a whole number of at least 1. Reader bounds refuse the
    input with a problem naming its path; report bounds list the first
    findings and count the rest in one summary finding.
    """

    input_bytes: int = attrs.field(default=128 * 2**20, validator=_positive)
    """Bytes of one dossier file, stream or text (128 MiB: some 24,000 workers
    with their full history and account). A stream is read only this far."""
    workers: int = attrs.field(default=100_000, validator=_positive)
    """Workers in one dossier."""
    segments: int = attrs.field(default=1_000, validator=_positive)
    """Segments in one history list (a worker's, or the bureau's copy of it)."""
    account_years: int = attrs.field(default=300, validator=_positive)
    """Years in one account list (a worker's, or the bureau's copy of it)."""
    name_length: int = attrs.field(default=100, validator=_positive)
    """Characters of a person's or an employer's name (worker and bureau
    ``name``, the employer's ``name``, ``legal_representative`` and
    ``contact``, a segment's ``employer_name``)."""
    text_length: int = attrs.field(default=1_000, validator=_positive)
    """Characters of any other text field (``remark``, ``address``, numbers
    kept as text such as ``id_number``)."""
    number_digits: int = attrs.field(default=9, validator=_positive)
    """Digits of a whole number (an account ``year``, ``months``): larger is a
    shifted column (an identity number), not a count."""
    amount_digits: int = attrs.field(default=15, validator=_positive)
    """Digits of an amount before its decimal point (under a quadrillion yuan)."""
    problems: int = attrs.field(default=1_000, validator=_positive)
    """Problems listed for one unreadable file; one more problem says how many
    more there are at least."""
    findings_per_worker: int = attrs.field(default=100, validator=_positive)
    """Findings listed for one worker; one ``rules.too-many-findings`` finding
    counts the rest."""
    findings: int = attrs.field(default=100_000, validator=_positive)
    """Findings listed in one report; one ``rules.too-many-findings`` finding
    at ``$`` counts the rest."""

    def text_length_of(self, class_name: str, field: str) -> int:
        """The length bound of the text field ``field`` of record class
        ``class_name`` (a name field's or any other text's)."""
        return self.name_length if (class_name, field) in _NAME_FIELDS else self.text_length

    def items_of(self, class_name: str) -> int | None:
        """The bound on a list of ``class_name`` records (``None``: not bounded here)."""
        return {
            "Worker": self.workers,
            "Segment": self.segments,
            "AccountYear": self.account_years,
        }.get(class_name)

    def limit_name(self, class_name: str) -> str | None:
        """The name of the field bounding a list of ``class_name`` records."""
        return {"Worker": "workers", "Segment": "segments", "AccountYear": "account_years"}.get(
            class_name
        )


#: The bounds used when none are given (and always by the command line).
DEFAULT_LIMITS = Limits()
