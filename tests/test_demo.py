"""pension-collect demo: the whole loop on the example dossier."""

from __future__ import annotations

import io
import json
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from pension_collect.cli import main
from pension_collect.cli.demo import run_demo
from pension_collect.plugins import PluginHost


class TestDemo:
    def test_demo_writes_result_ending_in_success(
        self, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """demo --out DIR exits 0; result.json ends with the re-collection succeeded."""
        out = tmp_path / "demo"
        assert main(["demo", "--out", str(out)]) == 0
        printed = capsys.readouterr().out
        assert "[P3.1] 数据同步 / Data sync" in printed
        assert "[P3.6] 提交申报 / Submit declaration" in printed
        result = json.loads((out / "result.json").read_text(encoding="utf-8"))
        decls = result["declarations"]
        assert list(result)[-1] == "declarations"
        assert [d["declaration"] for d in decls] == ["employer-1", "workers-1", "workers-2"]
        assert decls[1]["state"] == "partially_succeeded"
        failed = [w["worker"] for w in decls[1]["workers"] if not w["succeeded"]]
        assert sorted(w["worker"] for w in decls[2]["workers"]) == sorted(failed)
        assert decls[-1]["state"] == "succeeded"
        assert decls[-1]["linked_to"] == "workers-1"
        assert "张伟" not in printed
        assert "371002196503021239" not in printed

    def test_demo_tells_the_sheets_story(self, tmp_path: Path) -> None:
        """The settled account is caught at save ([P3.4e], account.not-in-bureau),
        sorted out at the window, synced again, printed anew and collected before
        the first declaration; the bureau fails the worker another employer took
        over (bureau.other-employer), who alone is collected again after the
        window and a new sync; the re-collection succeeds."""
        out = io.StringIO()
        result = run_demo(
            tmp_path, out=out, host=PluginHost(load_entry_points=False, exclude=["pdf.plugin"])
        )
        steps = [(s["procedure"], s["step"], s["result"]) for s in result["steps"]]
        names = [what for _, what, _ in steps]
        at = names.index("Collect worker: save refused")
        paragraph, _, refused = steps[at]
        assert paragraph == "P3.4e"
        assert "account.not-in-bureau at $.workers[1].account[" in refused
        settled = refused.split()[0]
        window = names.index("At the bureau window")
        assert at < window
        assert names[window : window + 4] == [
            "At the bureau window",
            "Data sync again",
            "Print new verification forms",
            "Collect worker",
        ]
        assert settled in steps[window][2]
        assert steps[window + 3][2].startswith(f"{settled} saved")
        assert window + 3 < names.index("Submit declaration")
        decls = result["declarations"]
        first = {w["worker"]: w for w in decls[1]["workers"]}
        assert first[settled]["succeeded"]
        failed = [w for w in decls[1]["workers"] if not w["succeeded"]]
        assert [w["code"] for w in failed] == ["bureau.other-employer"]
        moved = failed[0]["worker"]
        outcome = next(i for i, (_, _, res) in enumerate(steps) if "failed (" in res)
        assert names[outcome + 1 : outcome + 5] == [
            "At the bureau window",
            "Data sync again",
            "Print new verification forms",
            "Collect again",
        ]
        assert moved in steps[outcome + 1][2]
        assert steps[outcome + 4][2].startswith(f"{moved} saved")
        assert [w["worker"] for w in decls[2]["workers"]] == [moved]
        assert decls[2]["state"] == "succeeded"
        assert result["recollection_declaration"] == "workers-2"

    def test_demo_store_is_plain_sqlite(self, tmp_path: Path) -> None:
        """The demo's store is a SQLite file with the audit log in it; a rerun starts a
        fresh store and keeps the earlier forms (its own get the next numbers)."""
        out = tmp_path / "demo"
        for _ in range(2):
            assert main(["demo", "--out", str(out)]) == 0
        conn = sqlite3.connect(out / "collection.db")
        (n,) = conn.execute("SELECT count(*) FROM audit WHERE action='session.started'").fetchone()
        conn.close()
        assert n == 1
        names = {p.name for p in (out / "forms").iterdir()}
        assert {f"verification-{n}.pdf" for n in range(1, 7)} <= names
        assert {"confirmation-4.pdf", "summary-4.pdf"} <= names
        assert not [n for n in names if not n.endswith(".pdf")]

    def test_console_script_runs(self, tmp_path: Path) -> None:
        """python -m pension_collect.cli demo runs in a fresh process and exits 0."""
        proc = subprocess.run(
            [sys.executable, "-m", "pension_collect.cli", "demo", "--out", str(tmp_path / "d")],
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert proc.returncode == 0, proc.stderr
        assert (tmp_path / "d" / "result.json").exists()


class TestDemoForms:
    def test_forms_written_when_renderers_exist(self, tmp_path: Path) -> None:
        """With the built-in renderers the demo writes the three forms as PDFs into DIR."""
        result = run_demo(tmp_path, out=io.StringIO(), host=PluginHost(load_entry_points=False))
        names = [Path(f).name for f in result["forms"]]
        assert names == [
            "verification-1.pdf",
            "verification-2.pdf",
            "confirmation-1.pdf",
            "summary-1.pdf",
            "verification-3.pdf",
            "confirmation-2.pdf",
            "summary-2.pdf",
        ]
        for f in result["forms"]:
            assert Path(f).parent == tmp_path / "forms"
            assert Path(f).read_bytes().startswith(b"%PDF")
        assert result["forms_note"] is None

    def test_runs_without_renderers(self, tmp_path: Path) -> None:
        """Without renderers the demo still succeeds and says no form was written."""
        out = io.StringIO()
        result = run_demo(
            tmp_path, out=out, host=PluginHost(load_entry_points=False, exclude=["pdf.plugin"])
        )
        assert result["forms"] == []
        assert result["declarations"][-1]["state"] == "succeeded"
        assert "no 'confirmation' renderer is installed" in out.getvalue()
        assert any("renderer" in n for n in result["forms_note"])
        assert not list(tmp_path.glob("**/*.pdf"))


class _Unavailable:
    def render(self, *args: Any, **kwargs: Any) -> Any:
        from pension_collect.ports.forms.registry import RenderUnavailable

        raise RenderUnavailable("rendering PDF forms needs reportlab")


class _NoPdfExtra(PluginHost):
    def renderer(self, name: str) -> Any:
        return _Unavailable()


class TestDemoWithoutPdfExtra:
    def test_runs_when_renderers_cannot_draw(self, tmp_path: Path) -> None:
        """Installed without the pdf extra, the demo still ends with the re-collection
        succeeded, says why no form was written, and leaves no partial file."""
        out = io.StringIO()
        result = run_demo(tmp_path, out=out, host=_NoPdfExtra(load_entry_points=False))
        assert result["declarations"][-1]["state"] == "succeeded"
        assert result["forms"] == []
        assert "needs reportlab" in out.getvalue()
        assert not list(tmp_path.glob("**/*.pdf*"))
        assert not [d for d in tmp_path.iterdir() if d.is_dir()]  # no empty form folders
