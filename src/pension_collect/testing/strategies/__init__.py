"""Hypothesis strategies for pension_collect's model, clean data and rule violators.

One module per family (docs/testing.md shows how to use them in your own
suite); every public name is re-exported here, so
``from pension_collect.testing.strategies import clean_dossiers`` works as
well as ``from pension_collect.testing.strategies.clean import clean_dossiers``.

* :mod:`.scalars`: months, amounts, rates, identity numbers and credit codes
  (:func:`year_months`, :func:`money`, :func:`rates`,
  :func:`identity_numbers`, :func:`credit_codes`).
* :mod:`.models`: **shape-valid, arbitrary** values of every model class
  (:func:`employers`, :func:`segments`, :func:`account_years`,
  :func:`bureau_records`, :func:`workers`, :func:`dossiers`). "Shape-valid"
  means what :func:`pension_collect.dossier.loads` can produce: every value
  survives ``dumps`` then ``loads``. The *domain* content is arbitrary: a
  segment may end before it starts, an identity number may be junk.
* :mod:`.clean`: **clean** data: :func:`clean_workers`,
  :func:`clean_employers` and :func:`clean_dossiers` give data on which a
  rule pack (``weihai-2013`` by default) reports no error and no warning.
  They are built constructively from the pack's dated parameters (box
  boundary, account start, institution window, transfer cutoff, minimum
  working age, reference rate table), not filtered, so generating them is
  fast.
* :mod:`.violators`: **violators**: :func:`violating_workers` and
  :func:`violating_dossiers` give data that breaks exactly one named rule
  (every finding of the pack has that code); :data:`WORKER_CODES` and
  :data:`DOSSIER_CODES` list the codes they know.
  :func:`every_violation_dossiers` gives dossiers that break every code at
  once; ``dossiers(mix_in=every_violation_dossiers())`` mixes them into the
  arbitrary dossiers, so that a property over them sees every code.

Dates and the pack: clean data and violators depend on the collection month
``as_of`` (default 2013-08) and on the pack; check them with the same ones::

    report = check(dossier, pack=pack)         # dossier.as_of is set for you

Workers carry no ``as_of`` of their own: put one in a dossier whose ``as_of``
is the month you generated it for (or use :func:`clean_dossiers` /
:func:`violating_dossiers`, which do that).

The package imports only pension_collect's base modules and its rules (the
bundled pack is :func:`pension_collect.rules.weihai2013.default_pack`), never
the plugin host: another pack is passed as a RulePack object.

Generated identity numbers and names are random, not taken from real people.
"""

from __future__ import annotations

from .clean import DEFAULT_AS_OF, INSTITUTION_REMARK, clean_dossiers, clean_employers, clean_workers
from .models import account_years, bureau_records, dossiers, employers, id_key, segments, workers
from .scalars import (
    BORN_FROM,
    BORN_UNTIL,
    FIRST_MONTH,
    LAST_MONTH,
    credit_codes,
    identity_numbers,
    money,
    rates,
    year_months,
)
from .violators import (
    DOSSIER_CODES,
    WORKER_CODES,
    every_violation_dossiers,
    violating_dossiers,
    violating_workers,
    with_rate_reference,
)

__all__ = [
    "BORN_FROM",
    "BORN_UNTIL",
    "DEFAULT_AS_OF",
    "DOSSIER_CODES",
    "FIRST_MONTH",
    "INSTITUTION_REMARK",
    "LAST_MONTH",
    "WORKER_CODES",
    "account_years",
    "bureau_records",
    "clean_dossiers",
    "clean_employers",
    "clean_workers",
    "credit_codes",
    "dossiers",
    "employers",
    "every_violation_dossiers",
    "id_key",
    "identity_numbers",
    "money",
    "rates",
    "segments",
    "violating_dossiers",
    "violating_workers",
    "with_rate_reference",
    "workers",
    "year_months",
]
