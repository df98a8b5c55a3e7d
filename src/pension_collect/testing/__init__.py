"""What pension_collect gives its users' test suites (docs/testing.md).

* :mod:`pension_collect.testing.strategies`: hypothesis strategies for every
  model class, for workers and dossiers that the ``weihai-2013`` rule pack
  accepts without a finding, and for workers and dossiers that break exactly
  one named rule.

Importing this package needs nothing beyond pension_collect itself; only the
``strategies`` module imports hypothesis (install the ``testing`` extra:
``pip install pension-collect[testing]``).
"""

from __future__ import annotations

__all__: list[str] = []
