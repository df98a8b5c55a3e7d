"""The confirmation form's fast QR matrices are segno's own, and fall back to
segno whenever its internals are not what they expect (docs/forms.md)."""

from __future__ import annotations

import importlib
import types

import pytest

from pension_collect.adapters.pdf import qrcode

segno = pytest.importorskip("segno")
pytest.importorskip("reportlab")

#: Payloads of the shapes the forms print, across QR versions 3 to 9.
PAYLOADS = [
    "PC1/10012345/P37100200001/DECL-1/201112/AF280680461BDF7C95226ABCA1E2BFEA",
    "PC1/10012345/H0123456789ABCDEF//201112/" + "0" * 32,
    "PC1/1/P1///" + "F" * 32,
    "PC1/" + "9" * 40 + "/P" + "1" * 60 + "/DECL%2Fabc%20x/201112/" + "C" * 32,
    "pc1/lower/case/forces/byte/mode/" + "a" * 40,
] + [f"PC1/10012345/P371{i:08d}/BENCH-1/201112/{i:032X}" for i in range(40)]


def segno_matrix(payload: str) -> list[bytes]:
    code = segno.make_qr(payload, error="m", mask=0, boost_error=False)
    return [bytes(row) for row in code.matrix]


@pytest.fixture
def fresh(monkeypatch: pytest.MonkeyPatch) -> None:
    """The module's caches and switch as on first use."""
    monkeypatch.setattr(qrcode, "_templates", {})
    monkeypatch.setattr(qrcode, "_checked", set())
    monkeypatch.setattr(qrcode, "_broken", False)


@pytest.mark.usefixtures("fresh")
def test_the_same_matrices_as_segno() -> None:
    versions = set()
    for payload in PAYLOADS:
        assert [bytes(row) for row in qrcode.qr_matrix(payload)] == segno_matrix(payload)
        versions.add(len(segno_matrix(payload)))
    assert len(versions) >= 3  # several QR versions were exercised
    assert qrcode._broken is False  # the fast path was used throughout
    assert len(qrcode._checked) == len(versions)


@pytest.mark.usefixtures("fresh")
def test_falls_back_when_segno_internals_are_missing(monkeypatch: pytest.MonkeyPatch) -> None:
    real = importlib.import_module

    def without_internals(name: str, package: str | None = None) -> object:
        if name == "segno.encoder":  # as if another segno had moved them
            return types.SimpleNamespace()
        return real(name, package)

    monkeypatch.setattr(importlib, "import_module", without_internals)
    assert [bytes(r) for r in qrcode.qr_matrix(PAYLOADS[0])] == segno_matrix(PAYLOADS[0])
    assert qrcode._broken is True


@pytest.mark.usefixtures("fresh")
def test_falls_back_when_its_matrix_would_differ(monkeypatch: pytest.MonkeyPatch) -> None:
    real = qrcode._placement
    monkeypatch.setattr(qrcode, "_placement", lambda m, size: real(m, size)[::-1])
    for payload in PAYLOADS[:3]:
        assert [bytes(r) for r in qrcode.qr_matrix(payload)] == segno_matrix(payload)
    assert qrcode._broken is True
