"""Absurd lengths on paper: each cell and header value is cut to a cap, with an
ellipsis, before anything is measured, so a 1 MB name renders as fast as a
short one (docs/forms.md, "Absurd lengths are cut, quickly")."""

from __future__ import annotations

import io
import resource
import subprocess
import sys
import textwrap
from pathlib import Path

import attrs
import pytest

pytest.importorskip("reportlab")

from pension_collect.adapters.pdf.fonts import FontSet, choose_font
from pension_collect.adapters.pdf.layout import CELL_CAP, HEADER_CAP, Layout, clip
from pension_collect.adapters.pdf.styles import PORTRAIT
from pension_collect.dossier import example_dossier_text, loads
from pension_collect.plugins import PluginHost
from pension_collect.ports.forms.payload import printed_digest
from pension_collect.rules.weihai2013 import default_pack

ELLIPSIS = "\u2026"


class TestClip:
    def test_a_value_up_to_the_cap_is_kept_whole(self) -> None:
        text = "张" * CELL_CAP
        assert clip(text) == text
        assert clip("") == ""

    def test_a_longer_value_is_cut_to_the_cap_with_an_ellipsis(self) -> None:
        cut = clip("张" * (CELL_CAP + 1))
        assert len(cut) == CELL_CAP
        assert cut == "张" * (CELL_CAP - 1) + ELLIPSIS
        assert clip("李" * 10**6, HEADER_CAP) == "李" * (HEADER_CAP - 1) + ELLIPSIS

    def test_wrap_cuts_a_cell_before_wrapping_it(self) -> None:
        """A cell's whole text is cut to the cap, then wrapped: lines after the
        cut are not printed, lines before it are."""
        layout = Layout(FontSet(choose_font()), PORTRAIT)
        assert layout.wrap("王" * 10**6 + "\n短", 1e6, 8) == ("王" * (CELL_CAP - 1) + ELLIPSIS,)
        assert layout.wrap("短\n" + "王" * 10**6, 1e6, 8) == (
            "短",
            "王" * (CELL_CAP - 3) + ELLIPSIS,
        )
        assert layout.wrap("短\n长", 1e6, 8) == ("短", "长")


def test_only_the_paper_is_cut() -> None:
    """The view model and the QR digest keep the whole value: two names that
    differ after the cap differ in the digest (what was signed is checked)."""
    dossier = loads(example_dossier_text())
    pack = default_pack()
    host = PluginHost(load_entry_points=False)
    from pension_collect.ports.forms.view import forms_input

    digests = set()
    for last in ("甲", "乙"):
        worker = attrs.evolve(dossier.workers[0], name="张" * (2 * CELL_CAP) + last)
        forms = forms_input(attrs.evolve(dossier, workers=(worker,)), pack=pack)
        sheet = forms.workers[0]
        assert sheet.collected.person.name == worker.name
        digests.add(printed_digest(forms.employer.unit_no, forms.print_until, sheet.collected))
        out = io.BytesIO()
        host.renderer("confirmation").render(forms, out)
        assert out.getvalue().startswith(b"%PDF")
    assert len(digests) == 2


CHILD = textwrap.dedent(
    """
    import io, resource, sys
    import attrs
    from pension_collect.dossier import example_dossier_text, loads
    from pension_collect.plugins import PluginHost
    from pension_collect.ports.forms.view import forms_input
    from pension_collect.rules.weihai2013 import default_pack

    dossier = loads(example_dossier_text())
    pack = default_pack()
    host = PluginHost(load_entry_points=False)
    forms = ("verification", "confirmation", "summary")
    # Warm up on the ordinary dossier: imports, fonts, the first PDF.
    for form in forms:
        host.renderer(form).render(forms_input(dossier, pack=pack), io.BytesIO())

    huge = "张" * 1_000_000
    worker = dossier.workers[0]
    history = tuple(attrs.evolve(s, remark=huge, employer_name=huge) for s in worker.history)
    worker = attrs.evolve(worker, name=huge, ethnicity=huge, history=history)
    employer = attrs.evolve(dossier.employer, name=huge, address=huge, contact=huge)
    big = forms_input(
        attrs.evolve(dossier, employer=employer, workers=(worker,)), pack=pack
    )
    # From here on, one CPU second for the three forms: past it the kernel
    # stops this process (SIGXCPU), and the test sees it.
    used = resource.getrusage(resource.RUSAGE_SELF)
    now = int(used.ru_utime + used.ru_stime) + 1
    resource.setrlimit(resource.RLIMIT_CPU, (now + int(sys.argv[1]), now + 5))
    pages = []
    for form in forms:
        pages.append(host.renderer(form).render(big, io.BytesIO()).pages)
    print(*pages)
    """
)


def _limit_memory() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (2 << 30, 2 << 30))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


def test_a_1mb_name_renders_in_a_second_of_cpu(tmp_path: Path) -> None:
    """Every value of a worker and the employer 1 MB long: the three forms
    render within one CPU second (an rlimit in the child, not a timed
    assertion), each a normal number of pages. Before the cap this took
    6 to 38 CPU seconds per form."""
    script = tmp_path / "child.py"
    script.write_text(CHILD, encoding="utf-8")
    child = subprocess.run(
        [sys.executable, str(script), "1"],
        capture_output=True,
        text=True,
        timeout=300,
        preexec_fn=_limit_memory,
        check=False,
    )
    assert child.returncode == 0, (child.returncode, child.stderr[-2000:])
    pages = [int(n) for n in child.stdout.split()]
    assert len(pages) == 3
    assert all(1 <= n <= 20 for n in pages), pages
