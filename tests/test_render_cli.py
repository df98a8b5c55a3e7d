"""The renderer hook, the registry, and ``pension-collect render`` / ``verify``."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path
from typing import BinaryIO

import pytest

from pension_collect import hookimpl, render
from pension_collect.adapters.pdf.renderers import ConfirmationRenderer
from pension_collect.cli import main
from pension_collect.cli.render import select_workers
from pension_collect.errors import PluginError
from pension_collect.plugins import PluginHost
from pension_collect.ports.forms import (
    FormsInput,
    Renderer,
    RendererRegistry,
    RenderOptions,
    RenderResult,
    UnknownRenderer,
)
from render_fixtures import EXAMPLE_PATH, HalfThenFail, example, page_texts

pytest.importorskip("reportlab")
pytest.importorskip("pypdf")


class _Letterhead:
    """A plugin's confirmation form: writes a marker instead of a PDF."""

    name = "confirmation"
    title = "letterhead"

    def render(
        self, forms: FormsInput, out: BinaryIO, *, options: RenderOptions | None = None
    ) -> RenderResult:
        out.write(b"letterhead")
        return RenderResult(
            form=self.name, pages=1, workers=len(forms.workers), bytes_written=10, font=None
        )


class _Plugin:
    @hookimpl
    def pension_collect_register_renderers(self, registry: RendererRegistry) -> None:
        registry.add("confirmation", _Letterhead())
        registry.add("letter", _Letterhead())


class TestRendererHook:
    def test_builtins_are_registered(self) -> None:
        """pension_collect_register_renderers gives the three built-in forms."""
        host = PluginHost(load_entry_points=False)
        assert host.renderers().names() == ["confirmation", "summary", "verification"]
        assert isinstance(host.renderer("summary"), Renderer)

    def test_registering_needs_no_reportlab(self) -> None:
        """A host lists the renderers without importing reportlab (an optional extra)."""
        code = (
            "import sys; from pension_collect.plugins import PluginHost; "
            "PluginHost(load_entry_points=False).renderers(); print('reportlab' in sys.modules)"
        )
        done = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, check=True
        )
        assert done.stdout.strip() == "False"

    def test_plugin_replaces_a_builtin(self) -> None:
        """A plugin registering ``confirmation`` replaces the built-in one."""
        host = PluginHost(load_entry_points=False, plugins=[_Plugin()])
        assert isinstance(host.renderer("confirmation"), _Letterhead)
        assert host.renderer("letter").title == "letterhead"
        out = io.BytesIO()
        from pension_collect import forms_input

        result = render("confirmation", forms_input(example(), host=host), out, host=host)
        assert out.getvalue() == b"letterhead"
        assert result.workers == 3

    def test_unknown_renderer(self) -> None:
        """Asking for a name nobody registers raises UnknownRenderer listing the names."""
        with pytest.raises(UnknownRenderer, match="confirmation, summary, verification"):
            PluginHost(load_entry_points=False).renderer("letter")

    def test_two_plugins_one_name(self) -> None:
        """Two non-default registrations of one name are a plugin error."""
        registry = RendererRegistry()
        registry.add("x", ConfirmationRenderer())
        with pytest.raises(PluginError):
            registry.add("x", ConfirmationRenderer())
        registry.add("x", ConfirmationRenderer(), default=True)  # a built-in yields quietly

    def test_registry_is_closed_after_the_hook(self) -> None:
        """Adding after the host froze the registry is a plugin error."""
        registry = PluginHost(load_entry_points=False).renderers()
        with pytest.raises(PluginError):
            registry.add("late", ConfirmationRenderer())

    def test_not_a_renderer(self) -> None:
        """An object without render() is refused."""
        with pytest.raises(PluginError):
            RendererRegistry().add("x", object())  # type: ignore[arg-type]

    def test_renders_to_a_path(self, tmp_path: Path) -> None:
        """A built-in renderer also takes a dossier and a file path."""
        path = tmp_path / "s.pdf"
        result = ConfirmationRenderer().render(  # type: ignore[call-arg]
            example(), path, options=RenderOptions(font="cid")
        )
        assert path.read_bytes()[:5] == b"%PDF-"
        assert result.pages == 9


class TestSelectWorkers:
    def test_person_number_then_position(self) -> None:
        """Personal numbers and 0-based positions select workers, in the order given."""
        assert select_workers(example(), ["2", "37100200001"]) == [2, 0]

    def test_unknown(self) -> None:
        """A value matching nothing raises LookupError naming it."""
        with pytest.raises(LookupError, match="99"):
            select_workers(example(), ["99"])

    @pytest.mark.parametrize("digits", ["０", "¹", "٢", "𝟙"])
    def test_positions_are_ascii_digits(self, digits: str) -> None:
        """Digits that are not ASCII (full-width, superscript, Arabic-Indic,
        mathematical) are no position, although str.isdigit() says they are digits."""
        assert digits.isdigit()
        with pytest.raises(LookupError):
            select_workers(example(), [digits])


class TestRenderCommand:
    def test_writes_the_selected_workers(
        self, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """``render confirmation --worker`` writes three copies per worker and names the font."""
        monkeypatch.setenv("PENSION_COLLECT_FONT", "cid")
        out = tmp_path / "c.pdf"
        status = main(
            [
                "render",
                "confirmation",
                str(EXAMPLE_PATH),
                "--out",
                str(out),
                "--worker",
                "37100200002",
                "--declaration",
                "D-9",
            ]
        )
        assert status == 0
        texts = page_texts(out.read_bytes())
        assert len(texts) == 3
        assert all("李娜" in t and "D-9" in t for t in texts)
        printed = capsys.readouterr().out
        assert "3 pages" in printed
        assert "font: STSong-Light" in printed

    @pytest.mark.parametrize("form", ["verification", "summary"])
    def test_other_forms(self, form: str, tmp_path: Path) -> None:
        """``render verification`` and ``render summary`` write PDFs."""
        out = tmp_path / "f.pdf"
        assert main(["render", form, str(EXAMPLE_PATH), "--out", str(out), "--font", "cid"]) == 0
        assert out.read_bytes().startswith(b"%PDF-1.4")

    def test_bad_inputs(self, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
        """An unknown form, worker or file exits 2 and writes no file."""
        out = tmp_path / "x.pdf"
        assert main(["render", "letter", str(EXAMPLE_PATH), "--out", str(out)]) == 2
        assert (
            main(["render", "summary", str(EXAMPLE_PATH), "--out", str(out), "--worker", "7"]) == 2
        )
        assert main(["render", "summary", str(tmp_path / "none.json"), "--out", str(out)]) == 2
        assert not out.exists()
        assert not list(tmp_path.glob("*.part"))
        assert "no worker" in capsys.readouterr().err


class TestVerifyCommand:
    def _payloads(self) -> list[str]:
        result = ConfirmationRenderer().render(  # type: ignore[call-arg]
            example(), io.BytesIO(), options=RenderOptions(font="cid"), declaration_ref="D-1"
        )
        return [p.payload for p in result.printed if p.payload]

    def test_agree(self, capsys: pytest.CaptureFixture[str]) -> None:
        """Payloads of the stored data agree: exit 0, one line each."""
        status = main(["verify", str(EXAMPLE_PATH), *self._payloads(), "--declaration", "D-1"])
        lines = capsys.readouterr().out.splitlines()
        assert status == 0
        assert len(lines) == 3
        assert all(x.startswith("agree") for x in lines)

    def test_disagree_json(
        self, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
    ) -> None:
        """A changed dossier makes the paper disagree: exit 1, JSON from standard input."""
        changed = tmp_path / "d.json"
        changed.write_text(EXAMPLE_PATH.read_text("utf-8").replace("491.40", "491.41"), "utf-8")
        monkeypatch.setattr(sys, "stdin", io.StringIO("\n".join(self._payloads()) + "\n"))
        status = main(["verify", str(changed), "--format", "json"])
        doc = json.loads(capsys.readouterr().out)
        assert status == 1
        assert doc["agree"] is False
        assert [p["status"] for p in doc["papers"]] == ["differ", "agree", "agree"]

    def test_unreadable_dossier(self, tmp_path: Path) -> None:
        """A dossier that cannot be read exits 2."""
        bad = tmp_path / "bad.json"
        bad.write_text("{}", "utf-8")
        assert main(["verify", str(bad), "PC1/x"]) == 2


class TestRenderOutputFile:
    """``render --out``: never through a symbolic link, nothing left on an error
    (issue 10, items 4, 7 and 8)."""

    def test_planted_part_link_is_not_followed(self, tmp_path: Path) -> None:
        """The old temporary name FILE.pdf.part planted as a link to a victim, or
        as a folder: the victim is untouched, the PDF is written whole."""
        victim = tmp_path / "victim.txt"
        victim.write_bytes(b"victim\n")
        (tmp_path / "forms.pdf.part").symlink_to(victim)
        (tmp_path / "other.pdf.part").mkdir()
        for name in ("forms.pdf", "other.pdf"):
            out = tmp_path / name
            args = ["render", "summary", str(EXAMPLE_PATH), "--out", str(out), "--font", "cid"]
            assert main(args) == 0
            assert len(page_texts(out.read_bytes())) == 1
        assert victim.read_bytes() == b"victim\n"
        assert (tmp_path / "other.pdf.part").is_dir()
        assert not [p for p in tmp_path.iterdir() if p.name.endswith(".partial")]

    def test_link_target_refused(self, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
        """--out naming a symbolic link: exit 2, one line, the victim untouched."""
        victim = tmp_path / "victim.txt"
        victim.write_bytes(b"victim\n")
        out = tmp_path / "forms.pdf"
        out.symlink_to(victim)
        assert main(["render", "summary", str(EXAMPLE_PATH), "--out", str(out)]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1
        assert "symbolic link" in err
        assert victim.read_bytes() == b"victim\n"

    @pytest.mark.parametrize(
        ("error", "status"),
        [
            (RuntimeError("a broken plugin"), 3),
            (KeyboardInterrupt(), 130),
            (UnicodeEncodeError("utf-8", "\ud800", 0, 1, "surrogates not allowed"), 3),
        ],
        ids=["bug", "interrupt", "encode"],
    )
    def test_failing_renderer_leaves_nothing(
        self,
        tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str],
        error: BaseException,
        status: int,
    ) -> None:
        """A renderer failing halfway (a bug, Ctrl-C, an encoding error): the exit
        status says which, one line, no traceback, no file and no temporary file;
        an earlier file of that name is kept as it was."""
        monkeypatch.setattr(PluginHost, "renderer", lambda self, name: HalfThenFail(error))
        out = tmp_path / "forms.pdf"
        out.write_bytes(b"the earlier forms")
        assert main(["render", "summary", str(EXAMPLE_PATH), "--out", str(out)]) == status
        err = capsys.readouterr().err
        assert err.count("\n") == 1
        assert "Traceback" not in err
        assert out.read_bytes() == b"the earlier forms"
        assert sorted(p.name for p in tmp_path.iterdir()) == ["forms.pdf"]


class TestVerifyStandardInput:
    def test_overlong_and_undecodable_lines(
        self, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """A line longer than 4,096 bytes and one that is not UTF-8 are malformed
        payloads, each one line of output; blank lines are skipped."""
        data = b"\xff\xfe\n\n" + b"PC1/" + b"9" * 100_000 + b"\nPC1/x\n"
        monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(data)))
        assert main(["verify", str(EXAMPLE_PATH)]) == 1
        lines = capsys.readouterr().out.splitlines()
        assert [line.split("\t")[0] for line in lines] == ["malformed"] * 3

    def test_endless_input_is_refused(self) -> None:
        """/dev/zero as the payloads: exit 2 with one line after 32 MiB, not a
        process reading forever or running out of memory."""
        if not Path("/dev/zero").exists():
            pytest.skip("no /dev/zero here")
        with open("/dev/zero", "rb") as zero:
            done = subprocess.run(
                [sys.executable, "-m", "pension_collect", "verify", str(EXAMPLE_PATH)],
                stdin=zero,
                capture_output=True,
                timeout=120,
                check=False,
            )
        err = done.stderr.decode()
        assert done.returncode == 2, err
        assert len(err.splitlines()) == 1
        assert "more than 33,554,432 bytes of payloads" in err
