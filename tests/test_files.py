"""Writing output files safely (``pension_collect._files``) and the workflow's
prints that use it: never through a symbolic link, never a torn file, nothing
left behind, two writers in one folder never collide."""

from __future__ import annotations

import errno
import io
import os
import subprocess
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from pension_collect import _files
from pension_collect._files import (
    OutputError,
    OutputExists,
    atomic_write,
    check_target,
    ensure_folder,
    is_temporary_name,
    write_aside,
)
from pension_collect.plugins import PluginHost
from pension_collect.workflow import FormExists
from pension_collect.workflow.printing import render_form
from render_fixtures import HalfThenFail, example

VICTIM = b"a file nobody asked to change\n"


def leftovers(folder: Path) -> list[str]:
    """Temporary files left in ``folder``."""
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".partial"))


def write_then(target: Path, overwrite: bool, then: Callable[[], object]) -> None:
    """atomic_write half a document to ``target``, then call ``then``, then the rest."""
    with atomic_write(target, overwrite=overwrite) as stream:
        stream.write(b"half a docu")
        then()
        stream.write(b"ment")


@pytest.fixture
def victim(tmp_path: Path) -> Path:
    path = tmp_path / "victim.txt"
    path.write_bytes(VICTIM)
    return path


class TestAtomicWrite:
    def test_writes_the_file(self, tmp_path: Path) -> None:
        """The block's bytes end up in the file; no temporary file is left."""
        target = tmp_path / "out.bin"
        with atomic_write(target, overwrite=False) as stream:
            stream.write(b"one ")
            stream.write(b"two")
        assert target.read_bytes() == b"one two"
        assert leftovers(tmp_path) == []

    def test_overwrite(self, tmp_path: Path) -> None:
        """overwrite=False refuses an existing file and leaves it; True replaces it."""
        target = tmp_path / "out.bin"
        target.write_bytes(b"old")
        with pytest.raises(OutputExists) as caught, atomic_write(target, overwrite=False) as s:
            s.write(b"new")
        assert caught.value.code == "output.exists"
        assert isinstance(caught.value, FileExistsError)
        assert target.read_bytes() == b"old"
        with atomic_write(target, overwrite=True) as stream:
            stream.write(b"new")
        assert target.read_bytes() == b"new"
        assert leftovers(tmp_path) == []

    @pytest.mark.parametrize("overwrite", [False, True])
    def test_symlink_target_refused(self, tmp_path: Path, victim: Path, overwrite: bool) -> None:
        """A target that is a symbolic link is refused; what it points at is untouched,
        also when the link dangles (nothing is created at its far end)."""
        link = tmp_path / "out.pdf"
        link.symlink_to(victim)
        dangling = tmp_path / "dangling.pdf"
        dangling.symlink_to(tmp_path / "nowhere.txt")
        for target in (link, dangling):
            with pytest.raises(OutputError) as caught, atomic_write(target, overwrite=overwrite):
                pytest.fail("the block must not run")
            assert caught.value.code == "output.symlink"
            assert "symbolic link" in str(caught.value)
            assert caught.value.message_zh
        assert victim.read_bytes() == VICTIM
        assert not (tmp_path / "nowhere.txt").exists()
        assert leftovers(tmp_path) == []

    @pytest.mark.parametrize("overwrite", [False, True])
    def test_link_planted_while_writing_refused(
        self, tmp_path: Path, victim: Path, overwrite: bool
    ) -> None:
        """A link planted at the target while the document is written is refused
        when moving into place: the victim is untouched, the link left as it is."""
        target = tmp_path / "out.pdf"
        with pytest.raises(OutputError) as caught:
            write_then(target, overwrite, lambda: target.symlink_to(victim))
        assert caught.value.code == "output.symlink"
        assert target.is_symlink()
        assert victim.read_bytes() == VICTIM
        assert leftovers(tmp_path) == []

    def test_replace_never_follows(self, tmp_path: Path, victim: Path) -> None:
        """Overwriting replaces the name itself: a link appearing after the last
        check (here: between the check and os.replace) is replaced, not followed."""
        target = tmp_path / "out.pdf"
        real_replace = os.replace

        def plant_then_replace(src: Any, dst: Any) -> None:
            Path(dst).symlink_to(victim)
            real_replace(src, dst)

        with pytest.MonkeyPatch.context() as mp:
            mp.setattr(_files.os, "replace", plant_then_replace)
            with atomic_write(target, overwrite=True) as stream:
                stream.write(b"document")
        assert not target.is_symlink()
        assert target.read_bytes() == b"document"
        assert victim.read_bytes() == VICTIM

    def test_temporary_name_never_followed(
        self, tmp_path: Path, victim: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """A link planted under the very name the temporary file draws is not
        opened (O_EXCL, O_NOFOLLOW): another name is drawn and the victim is untouched."""
        draws = iter(["0" * 16, "1" * 16])
        monkeypatch.setattr(_files.secrets, "token_hex", lambda n: next(draws))
        (tmp_path / f".out.pdf.{'0' * 16}.partial").symlink_to(victim)
        with atomic_write(tmp_path / "out.pdf", overwrite=False) as stream:
            stream.write(b"document")
        assert victim.read_bytes() == VICTIM
        assert (tmp_path / "out.pdf").read_bytes() == b"document"

    @pytest.mark.parametrize("name", ["", ".", "..", "/", "sub/", "sub/.."])
    def test_folder_names_refused(self, tmp_path: Path, name: str) -> None:
        """A name that can only be a folder is refused before anything is written."""
        with pytest.raises(OutputError) as caught:
            check_target(name, overwrite=True)
        assert caught.value.code == "output.not-a-file"

    def test_folder_target_refused(self, tmp_path: Path) -> None:
        """An existing folder at the target is refused, also one appearing meanwhile."""
        (tmp_path / "dir.pdf").mkdir()
        with pytest.raises(OutputError) as caught:
            check_target(tmp_path / "dir.pdf", overwrite=True)
        assert caught.value.code == "output.not-a-file"
        late = tmp_path / "late.pdf"
        with pytest.raises(OutputError) as caught:
            write_then(late, True, late.mkdir)
        assert caught.value.code == "output.not-a-file"
        assert late.is_dir()
        assert leftovers(tmp_path) == []

    def test_missing_folder(self, tmp_path: Path) -> None:
        """A target in a folder that does not exist: the folder is named."""
        with (
            pytest.raises(OutputError) as caught,
            atomic_write(tmp_path / "missing" / "x.pdf", overwrite=False),
        ):
            pytest.fail("the block must not run")
        assert caught.value.code == "output.cannot-write"
        assert "missing does not exist" in str(caught.value)

    @pytest.mark.parametrize("error", [RuntimeError("boom"), KeyboardInterrupt()])
    def test_error_in_the_block_leaves_nothing(self, tmp_path: Path, error: BaseException) -> None:
        """An error (KeyboardInterrupt too) while writing: the old file is intact
        and no temporary file is left."""
        target = tmp_path / "out.pdf"
        target.write_bytes(b"old")

        def fail() -> None:
            raise error

        with pytest.raises(type(error)):
            write_then(target, True, fail)
        assert target.read_bytes() == b"old"
        assert leftovers(tmp_path) == []

    def test_full_disk_at_the_end(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        """A write failing when flushed (a full disk) is an OutputError; nothing is left."""

        def no_space(fd: int) -> None:
            raise OSError(errno.ENOSPC, "No space left on device")

        monkeypatch.setattr(_files.os, "fsync", no_space)
        target = tmp_path / "out.pdf"
        with pytest.raises(OutputError) as caught, atomic_write(target, overwrite=True) as s:
            s.write(b"document")
        assert caught.value.code == "output.cannot-write"
        assert "No space left" in str(caught.value)
        assert not target.exists()
        assert leftovers(tmp_path) == []

    def test_without_hard_links(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        """On a file system without hard links a new name is claimed exclusively:
        the file is written, and an existing one is still never replaced."""

        def no_links(src: Any, dst: Any) -> None:
            raise OSError(errno.EPERM, "Operation not permitted")

        monkeypatch.setattr(_files.os, "link", no_links)
        target = tmp_path / "out.pdf"
        with atomic_write(target, overwrite=False) as stream:
            stream.write(b"first")
        assert target.read_bytes() == b"first"
        with write_aside(tmp_path, "out") as pending:
            pending.stream.write(b"second")
            with pytest.raises(OutputExists):
                pending.place(target, overwrite=False)
        assert target.read_bytes() == b"first"
        assert leftovers(tmp_path) == []

    def test_pending_document_takes_another_name(self, tmp_path: Path) -> None:
        """A name taken at the end leaves the document pending for another name."""
        (tmp_path / "a.pdf").write_bytes(b"taken")
        with write_aside(tmp_path, "a.pdf") as pending:
            pending.stream.write(b"document")
            with pytest.raises(OutputExists):
                pending.place(tmp_path / "a.pdf", overwrite=False)
            placed = pending.place(tmp_path / "b.pdf", overwrite=False)
        assert placed == tmp_path / "b.pdf"
        assert (tmp_path / "a.pdf").read_bytes() == b"taken"
        assert placed.read_bytes() == b"document"
        assert leftovers(tmp_path) == []

    def test_temporary_names(self, tmp_path: Path) -> None:
        """Temporary files are hidden, random, and recognised by is_temporary_name."""
        with write_aside(tmp_path, "forms.pdf") as one, write_aside(tmp_path, "forms.pdf") as two:
            names = [one.temp.name, two.temp.name]
            assert names[0] != names[1]
            assert all(n.startswith(".forms.pdf.") and is_temporary_name(n) for n in names)
        assert not is_temporary_name("forms.pdf.part")
        assert not is_temporary_name("verification-1.pdf")
        assert leftovers(tmp_path) == []

    def test_ensure_folder(self, tmp_path: Path) -> None:
        """ensure_folder makes a folder (and parents) and refuses a file in the way."""
        assert ensure_folder(tmp_path / "a" / "b") is True
        assert ensure_folder(tmp_path / "a" / "b") is False
        (tmp_path / "file").write_bytes(b"x")
        with pytest.raises(OutputError) as caught:
            ensure_folder(tmp_path / "file")
        assert caught.value.code == "output.not-a-folder"


class _BreakingHost(PluginHost):
    def __init__(self, error: BaseException) -> None:
        super().__init__(load_entry_points=False)
        self._breaking = HalfThenFail(error, "verification")

    def renderer(self, name: str) -> Any:
        return self._breaking


def _pack() -> Any:
    return PluginHost(load_entry_points=False).rule_pack()


class TestWorkflowPrinting:
    @pytest.mark.parametrize("error", [RuntimeError("boom"), KeyboardInterrupt()])
    def test_failing_renderer_leaves_nothing(self, tmp_path: Path, error: BaseException) -> None:
        """A renderer failing mid-write (KeyboardInterrupt too) leaves no file at all."""
        with pytest.raises(type(error)):
            render_form(
                _BreakingHost(error), "verification", example(), pack=_pack(), out_dir=tmp_path
            )
        assert list(tmp_path.iterdir()) == []

    def test_named_print_refuses_a_link(self, tmp_path: Path, victim: Path) -> None:
        """A named print onto a symbolic link is refused, also with overwrite=True."""
        pytest.importorskip("reportlab")
        forms = tmp_path / "forms"
        forms.mkdir()
        (forms / "mine.pdf").symlink_to(victim)
        host = PluginHost(load_entry_points=False)
        for overwrite in (False, True):
            with pytest.raises(OutputError) as caught:
                render_form(
                    host,
                    "summary",
                    example(),
                    pack=_pack(),
                    out_dir=forms,
                    name="mine",
                    overwrite=overwrite,
                )
            assert caught.value.code == "output.symlink"
        assert victim.read_bytes() == VICTIM
        assert leftovers(forms) == []

    def test_numbered_print_passes_a_link(self, tmp_path: Path, victim: Path) -> None:
        """A link holding the next number is passed over, never written through."""
        pytest.importorskip("reportlab")
        (tmp_path / "summary-1.pdf").symlink_to(victim)
        printed = render_form(
            PluginHost(load_entry_points=False),
            "summary",
            example(),
            pack=_pack(),
            out_dir=tmp_path,
        )
        assert [Path(f).name for f in printed.files] == ["summary-2.pdf"]
        assert victim.read_bytes() == VICTIM

    def test_out_dir_is_a_file(self, tmp_path: Path) -> None:
        """An output folder that is a file is a clear OutputError."""
        (tmp_path / "forms").write_bytes(b"x")
        with pytest.raises(OutputError) as caught:
            render_form(
                _BreakingHost(RuntimeError()),
                "verification",
                example(),
                pack=_pack(),
                out_dir=tmp_path / "forms",
            )
        assert caught.value.code == "output.not-a-folder"


_PRINTER = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from pension_collect.dossier import loads
    from pension_collect.plugins import PluginHost
    from pension_collect.workflow import FormExists
    from pension_collect.workflow.printing import render_form

    example, folder, go, prints, name = sys.argv[1:6]
    dossier = loads(Path(example).read_bytes(), source="example")
    host = PluginHost(load_entry_points=False)
    pack = host.rule_pack()
    host.renderer("summary").render  # loaded before the start
    while not Path(go).exists():
        time.sleep(0.005)
    for _ in range(int(prints)):
        try:
            printed = render_form(
                host, "summary", dossier, pack=pack, out_dir=folder, name=name or None
            )
        except FormExists:
            print("exists", flush=True)
        else:
            print("printed", *printed.files, flush=True)
    """
)


def _print_at_once(tmp_path: Path, folder: Path, n: int, prints: int, name: str) -> list[str]:
    """``n`` processes print ``prints`` summaries each into ``folder``, started
    together; their output lines."""
    from render_fixtures import EXAMPLE_PATH

    go = tmp_path / "go"
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", _PRINTER, *map(str, (EXAMPLE_PATH, folder, go, prints)), name],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(n)
    ]
    go.touch()
    lines: list[str] = []
    for proc in procs:
        out, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err
        assert "Traceback" not in err
        lines.extend(out.splitlines())
    return lines


def _pdf_pages(path: Path) -> int:
    from pypdf import PdfReader

    return len(PdfReader(io.BytesIO(path.read_bytes()), strict=True).pages)


class TestTwoSessionsOneFolder:
    """Processes printing into one folder at once (issue 10, item 7)."""

    @pytest.fixture(autouse=True)
    def _needs_pdf(self) -> None:
        pytest.importorskip("reportlab")
        pytest.importorskip("pypdf")

    def test_numbered_prints_take_distinct_numbers(self, tmp_path: Path) -> None:
        """Three processes printing four summaries each: twelve distinct numbered
        files, every one a whole PDF, nothing else left in the folder."""
        folder = tmp_path / "forms"
        folder.mkdir()
        lines = _print_at_once(tmp_path, folder, n=3, prints=4, name="")
        files = [line.split()[1] for line in lines]
        assert all(line.startswith("printed ") for line in lines)
        assert len(files) == 12
        assert len(set(files)) == 12
        assert sorted(p.name for p in folder.iterdir()) == sorted(
            f"summary-{i}.pdf" for i in range(1, 13)
        )
        for path in folder.iterdir():
            assert _pdf_pages(path) == 1

    def test_one_name_one_winner(self, tmp_path: Path) -> None:
        """Three processes printing under one name: one prints, the others get
        FormExists; the surviving PDF is whole."""
        folder = tmp_path / "forms"
        folder.mkdir()
        lines = _print_at_once(tmp_path, folder, n=3, prints=1, name="summary-final")
        assert sorted(line.split()[0] for line in lines) == ["exists", "exists", "printed"]
        assert [p.name for p in folder.iterdir()] == ["summary-final.pdf"]
        assert _pdf_pages(folder / "summary-final.pdf") == 1


def test_form_exists_is_still_the_workflow_error(tmp_path: Path) -> None:
    """A named print onto an existing file is FormExists (not the file layer's error)."""
    pytest.importorskip("reportlab")
    (tmp_path / "taken.pdf").write_bytes(b"mine")
    with pytest.raises(FormExists):
        render_form(
            PluginHost(load_entry_points=False),
            "summary",
            example(),
            pack=_pack(),
            out_dir=tmp_path,
            name="taken",
        )
    assert (tmp_path / "taken.pdf").read_bytes() == b"mine"
    assert os.listdir(tmp_path) == ["taken.pdf"]
