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
from pension_collect.cli.demo import (
    DEMO_ACTOR,
    MARKER,
    RESULT_FORMAT,
    DemoFolderRefused,
    check_demo_folder,
    run_demo,
)
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


def _clerk_store(path: Path, *, unit_no: str = "10012345", actor: str = "王会计") -> None:
    """A clerk's real store at ``path``: one record and one audit entry of theirs."""
    from pension_collect.ports.storage import AuditEntry, RecordKind

    store = PluginHost(load_entry_points=False).open_storage(f"sqlite://{path.resolve()}")
    try:
        with store.transaction() as tx:
            tx.put(
                RecordKind.SESSION, unit_no, "session", {"state": "collecting"}, expected_version=0
            )
            tx.append_audit(
                [
                    AuditEntry(
                        at="2024-03-01T09:00:00+00:00",
                        actor=actor,
                        unit_no=unit_no,
                        action="session.started",
                        subject_kind=RecordKind.SESSION,
                        subject_key="session",
                        message="started",
                    )
                ]
            )
    finally:
        store.close()


def _tree(root: Path) -> dict[str, bytes | None]:
    """Every path under ``root`` with a file's bytes (None for a folder or link)."""
    return {
        str(p.relative_to(root)): None if p.is_dir() or p.is_symlink() else p.read_bytes()
        for p in sorted(root.rglob("*"))
    }


_NO_PDF = ["pdf.plugin"]


def _demo(out: Path) -> dict[str, Any]:
    host = PluginHost(load_entry_points=False, exclude=_NO_PDF)
    return run_demo(out, out=io.StringIO(), host=host)


class TestDemoFolder:
    """The demo uses DIR only when it is new, empty or its own earlier output,
    and never deletes a store it did not create (issue 10, item 1)."""

    @pytest.mark.parametrize(
        ("unit_no", "actor"),
        [("10012345", "王会计"), ("10099999", "demo-clerk"), ("10012345", "demo-clerk ")],
        ids=["clerk", "other-employer", "near-name"],
    )
    @pytest.mark.parametrize("marked", [False, True], ids=["unmarked", "marked"])
    def test_a_clerks_store_is_never_deleted(
        self,
        tmp_path: Path,
        capsys: pytest.CaptureFixture[str],
        unit_no: str,
        actor: str,
        marked: bool,
    ) -> None:
        """DIR holding a store that is not the demo's (another clerk, another
        employer, even in a folder the demo marked as its own): exit 2, one line,
        every file in DIR byte for byte as it was."""
        out = tmp_path / "work"
        out.mkdir()
        _clerk_store(out / "collection.db", unit_no=unit_no, actor=actor)
        if marked:
            (out / MARKER).write_text("pension-collect/demo-folder 1\n", encoding="utf-8")
        before = _tree(out)
        assert before["collection.db"]
        assert main(["demo", "--out", str(out)]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1
        assert "nothing was changed" in err
        assert _tree(out) == before
        with sqlite3.connect(out / "collection.db") as conn:
            (actors,) = conn.execute("SELECT group_concat(actor) FROM audit").fetchone()
        assert actors == actor

    @pytest.mark.parametrize(
        ("layout", "reason"),
        [
            ({"notes.txt": "mine"}, "no earlier demo output"),
            ({"verification": "mine"}, "no earlier demo output"),
            ({"result.json/": None}, "no earlier demo output"),
            ({MARKER: "pension-collect/demo-folder 1\n", "notes.txt": "x"}, "'notes.txt'"),
            ({MARKER: "pension-collect/demo-folder 1\n", "result.json/": None}, "not a file"),
            ({MARKER: "pension-collect/demo-folder 1\n", "forms": "x"}, "forms is not a folder"),
            (
                {MARKER: "pension-collect/demo-folder 1\n", "forms/letter.pdf": "x"},
                "'letter.pdf'",
            ),
            (
                {MARKER: "pension-collect/demo-folder 1\n", "collection.db-wal": "x"},
                "not the demo's store",
            ),
            ({MARKER: "something else\n", "collection.db": "x"}, "no earlier demo output"),
            ({"result.json": '{"format": "mine"}'}, "no earlier demo output"),
        ],
        ids=[
            "stray-file",
            "verification-file",
            "result-folder",
            "marked-stray",
            "marked-result-folder",
            "forms-file",
            "forms-stray",
            "wal-without-store",
            "wrong-marker",
            "foreign-result",
        ],
    )
    def test_refused_layouts(
        self,
        tmp_path: Path,
        capsys: pytest.CaptureFixture[str],
        layout: dict[str, str | None],
        reason: str,
    ) -> None:
        """A folder holding anything but the demo's own output is refused, with
        the reason, and left as it was."""
        out = tmp_path / "work"
        out.mkdir()
        for name, text in layout.items():
            path = out / name.rstrip("/")
            path.parent.mkdir(parents=True, exist_ok=True)
            if text is None:
                path.mkdir()
            else:
                path.write_text(text, encoding="utf-8")
        before = _tree(out)
        assert main(["demo", "--out", str(out)]) == 2
        err = capsys.readouterr().err
        assert reason in err
        assert _tree(out) == before

    def test_refused_paths(self, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
        """A file, a link to a file, an empty name and / are no demo folder."""
        victim = tmp_path / "dossier.json"
        victim.write_text("{}", encoding="utf-8")
        (tmp_path / "link").symlink_to(victim)
        for out in (str(victim), str(tmp_path / "link"), "", "/", str(victim / "sub")):
            assert main(["demo", "--out", out]) == 2, out
            assert capsys.readouterr().err.count("\n") == 1
        assert victim.read_text(encoding="utf-8") == "{}"

    def test_check_demo_folder(self, tmp_path: Path) -> None:
        """check_demo_folder: False for a new or empty folder, True for the demo's
        own output, DemoFolderRefused otherwise; it only reads."""
        assert check_demo_folder(tmp_path / "new", "10012345") is False
        assert not (tmp_path / "new").exists()
        assert check_demo_folder(tmp_path, "10012345") is False
        _demo(tmp_path / "d")
        before = _tree(tmp_path / "d")
        assert check_demo_folder(tmp_path / "d", "10012345") is True
        with pytest.raises(DemoFolderRefused) as caught:
            check_demo_folder(tmp_path / "d", "10099999")  # the store is not that employer's
        assert caught.value.code == "demo.folder-refused"
        assert caught.value.message_zh
        assert _tree(tmp_path / "d") == before

    def test_marker_written_first(self, tmp_path: Path) -> None:
        """The marker is a regular file the demo writes into a new folder."""
        _demo(tmp_path / "d")
        marker = tmp_path / "d" / MARKER
        assert marker.is_file()
        assert not marker.is_symlink()
        assert sorted(p.name for p in (tmp_path / "d").iterdir()) == sorted(
            [MARKER, "collection.db", "result.json"]
        )

    def test_interrupted_run_is_its_own(self, tmp_path: Path) -> None:
        """A run stopped before result.json (its store, its sidecar files, a
        temporary file of a print) is still the demo's: a rerun replaces the store."""
        out = tmp_path / "d"
        _demo(out)
        (out / "result.json").unlink()
        (out / "collection.db-journal").write_bytes(b"")
        (out / "forms").mkdir()
        (out / "forms" / ".verification.0123456789abcdef.partial").write_bytes(b"%PDF half")
        result = _demo(out)
        assert result["declarations"][-1]["state"] == "succeeded"
        assert not (out / "collection.db-journal").exists()
        with sqlite3.connect(out / "collection.db") as conn:
            (n,) = conn.execute(
                "SELECT count(*) FROM audit WHERE action='session.started'"
            ).fetchone()
            (actors,) = conn.execute("SELECT group_concat(DISTINCT actor) FROM audit").fetchone()
        assert n == 1
        assert actors == DEMO_ACTOR

    def test_earlier_output_without_marker(self, tmp_path: Path) -> None:
        """Output of a release before the marker (result.json with its format tag)
        is recognised too."""
        out = tmp_path / "d"
        _demo(out)
        (out / MARKER).unlink()
        assert _demo(out)["declarations"][-1]["state"] == "succeeded"
        assert (out / MARKER).is_file()

    def test_result_json_never_through_a_link(self, tmp_path: Path) -> None:
        """result.json is written aside and renamed: a reader never sees half of it,
        and no temporary file stays."""
        out = tmp_path / "d"
        _demo(out)
        doc = json.loads((out / "result.json").read_text(encoding="utf-8"))
        assert doc["format"] == RESULT_FORMAT
        assert not [p for p in out.rglob("*") if p.name.endswith(".partial")]


def _processes_naming(text: str) -> list[int]:
    """The processes whose command line holds ``text`` (Linux /proc)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if text in cmdline:
            found.append(int(entry.name))
    return found


def _refused(url: str) -> bool:
    import socket

    host, port = url.removeprefix("http://").rsplit(":", 1)
    try:
        socket.create_connection((host, int(port)), timeout=2).close()
    except OSError:
        return True
    return False


class TestDemoOverHttp:
    """``demo --http``: the bureau server in a child process, the collection over HTTP."""

    @pytest.mark.parametrize(
        ("absent", "extras"),
        [({"flask"}, "server"), ({"requests"}, "http"), ({"gunicorn", "requests"}, "http,server")],
    )
    def test_a_missing_extra_is_named_before_anything_is_touched(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, absent: set[str], extras: str
    ) -> None:
        """Without the server or http extra, --http says which to install, in
        both languages, and makes no folder (the child would only have said so
        in its log)."""
        import importlib.util

        from pension_collect.cli import demo as demo_module

        real = importlib.util.find_spec

        def find_spec(name: str, *args: Any, **kwargs: Any) -> Any:
            return None if name in absent else real(name, *args, **kwargs)

        monkeypatch.setattr(demo_module.importlib.util, "find_spec", find_spec)
        out = tmp_path / "d"
        with pytest.raises(demo_module.DemoServerFailed) as caught:
            demo_module.run_demo(out, out=io.StringIO(), http=True)
        assert f"pip install 'pension-collect[{extras}]'" in caught.value.message
        assert f"需要安装扩展 {extras}" in caught.value.message_zh
        assert not out.exists()

    def test_the_whole_loop_over_http(self, tmp_path: Path) -> None:
        """The console script with --http: the server child on a loopback port,
        the initial password changed first, the same story as in-process,
        result.json naming the http transport and the bureau's file holding its
        declarations; afterwards the child is gone. No password, name or whole
        identity number in the output or the server's log."""
        from bureau_server import console_script
        from pension_collect.adapters.reference_bureau import ReferenceBureau

        out = tmp_path / "d"
        proc = subprocess.run(
            [console_script(), "demo", "--out", str(out), "--http"],
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert proc.returncode == 0, proc.stderr
        url = proc.stdout.split("bureau server ", 1)[1].split()[0]
        assert url.startswith("http://127.0.0.1:")
        lines = proc.stdout.splitlines()
        change = lines.index(
            "[P3] 修改初始密码 / Change the initial password: changed (kept in memory only)"
        )
        assert change < next(i for i, line in enumerate(lines) if "Data sync:" in line)
        result = json.loads((out / "result.json").read_text(encoding="utf-8"))
        assert result["transport"] == "http"
        decls = result["declarations"]
        assert [(d["declaration"], d["state"]) for d in decls] == [
            ("employer-1", "succeeded"),
            ("workers-1", "partially_succeeded"),
            ("workers-2", "succeeded"),
        ]
        assert [w["code"] for w in decls[1]["workers"] if not w["succeeded"]] == [
            "bureau.other-employer"
        ]
        with ReferenceBureau.open(out / "bureau", auto_advance=False) as bureau:
            held = bureau.declarations("10012345")
        assert [d.id for d in held] == [d["bureau_id"] for d in decls]
        assert [d.state.value for d in held] == [d["state"] for d in decls]
        log = (out / "bureau" / "server.log").read_text(encoding="utf-8")
        for text in (proc.stdout, proc.stderr, log):
            assert "张伟" not in text
            assert "371002196503021239" not in text
            assert "initial password " not in text  # as bureau seed would print it
        assert _refused(url)
        assert _processes_naming(str(out / "bureau")) == []

    def test_the_local_demo_names_its_transport(self, tmp_path: Path) -> None:
        """Without --http the demo stays in-process and says so in result.json."""
        result = _demo(tmp_path / "d")
        assert result["transport"] == "local"
        assert not (tmp_path / "d" / "bureau").exists()

    def test_ctrl_c_stops_the_server(self, tmp_path: Path) -> None:
        """Ctrl-C (SIGINT) during the run: exit 130, and the server child and its
        workers are gone."""
        import signal

        from bureau_server import console_script

        out = tmp_path / "d"
        proc = subprocess.Popen(
            [console_script(), "demo", "--out", str(out), "--http"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert proc.stdout is not None
        first = proc.stdout.readline()
        assert "bureau server http://127.0.0.1:" in first
        url = first.split("bureau server ", 1)[1].split()[0]
        assert _processes_naming(str(out / "bureau"))
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=120)
        assert proc.returncode == 130, err
        assert "interrupted" in err
        assert _refused(url)
        assert _processes_naming(str(out / "bureau")) == []

    def test_sigterm_stops_the_server(self, tmp_path: Path) -> None:
        """SIGTERM (kill, a service manager, a CI timeout) during the run: exit
        143, and the server child and its workers are gone (they were left
        serving: Python's default SIGTERM ran no cleanup)."""
        import signal

        from bureau_server import console_script

        out = tmp_path / "d"
        proc = subprocess.Popen(
            [console_script(), "demo", "--out", str(out), "--http"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert proc.stdout is not None
        first = proc.stdout.readline()
        assert "bureau server http://127.0.0.1:" in first
        url = first.split("bureau server ", 1)[1].split()[0]
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=120)
        assert proc.returncode == 128 + signal.SIGTERM, err
        assert _refused(url)
        assert _processes_naming(str(out / "bureau")) == []

    def test_a_foreign_file_in_the_bureau_folder_is_refused(
        self, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """DIR/bureau/ may hold only the bureau's file and the server's log: a
        stranger there (or a bureau that is a file) refuses the folder, untouched."""
        for layout in ({"bureau/notes.txt": "mine"}, {"bureau": "a file"}):
            out = tmp_path / f"w{len(list(tmp_path.iterdir()))}"
            out.mkdir()
            (out / MARKER).write_text("pension-collect/demo-folder 1\n", encoding="utf-8")
            for name, text in layout.items():
                (out / name).parent.mkdir(parents=True, exist_ok=True)
                (out / name).write_text(text, encoding="utf-8")
            before = _tree(out)
            assert main(["demo", "--out", str(out), "--http"]) == 2
            assert "bureau" in capsys.readouterr().err
            assert _tree(out) == before
