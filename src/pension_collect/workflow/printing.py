"""The bridge from the workflow to form renderers, always through the plugin host.

The forms themselves (核对表 verification, 确认表 confirmation, 汇总表 summary)
are drawn by renderer plugins registered with
``pension_collect_register_renderers`` (docs/forms.md). When the host has no
renderer of that name (:class:`~pension_collect.ports.forms.UnknownRenderer`),
printing is recorded as done with a note that no file was written, so a
collection can run without any renderer installed. A *broken* renderer set-up
(two plugins claiming one name: a :class:`~pension_collect.errors.PluginError`)
is raised, never mistaken for "no renderer".

A print never overwrites an earlier one unless told: without a ``name`` each
print writes ``<form>-<n>.pdf`` with the next free number ``n`` of the folder;
with a ``name`` an existing file of that name is refused
(:class:`~pension_collect.workflow.FormExists`) unless ``overwrite=True``. The
document is written aside with the package's one safe-write helper
(``pension_collect._files.write_aside``): into a temporary file with a random
hidden name created exclusively (``O_EXCL``, never through a symbolic link) in
the target folder, ``fsync``-ed, and moved into place only when it is
complete: linked to its new name, which fails rather than replace a file (so
two sessions printing into one folder take distinct numbers), or with
``os.replace`` when overwriting was asked for. A target name that is a
symbolic link or a folder is refused (``OutputError``, ``output.symlink`` /
``output.not-a-file``); a folder that cannot be written is an ``OutputError``
too (``output.cannot-write``).
"""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import overload

import attrs

from .._files import (
    OutputError,
    OutputExists,
    PendingFile,
    check_target,
    ensure_folder,
    write_aside,
)
from ..model import Dossier, Worker
from ..plugins import PluginHost
from ..ports.forms import Renderer, RenderUnavailable, UnknownRenderer
from ..ports.forms.view import forms_input_from_workers
from ..rules.pack import RulePack
from .guards import FormExists, Progress, report_progress

__all__ = ["FORM_NAMES", "FormsPrinted", "render_form"]

#: The renderer names the workflow asks for.
FORM_NAMES = ("verification", "confirmation", "summary")


@attrs.frozen(kw_only=True)
class FormsPrinted:
    """What a print step produced."""

    form: str
    """``verification``, ``confirmation`` or ``summary``."""
    workers: int
    copies: int = 1
    files: tuple[str, ...] = ()
    """Files written (empty when no renderer is registered or no directory given)."""
    note: str | None = None
    """Why no file was written, in English."""
    note_zh: str | None = None
    pages: int = 0
    """Pages written (0 when nothing was)."""


def _lookup(host: PluginHost, name: str) -> Renderer | None:
    try:
        return host.renderer(name)
    except UnknownRenderer:
        return None


class _Watched(Sequence[Worker]):
    """The workers handed to a renderer, reporting progress as it asks for them:
    when it asks for worker ``i`` the ``i`` before it are drawn."""

    def __init__(self, workers: Sequence[Worker], progress: Progress | None) -> None:
        self._workers = workers
        self._progress = progress
        self._done = 0

    def __len__(self) -> int:
        return len(self._workers)

    @overload
    def __getitem__(self, i: int) -> Worker: ...
    @overload
    def __getitem__(self, i: slice) -> Sequence[Worker]: ...
    def __getitem__(self, i: int | slice) -> Worker | Sequence[Worker]:
        if isinstance(i, slice):
            return self._workers[i]
        if i > self._done:
            self._done = i
            report_progress(self._progress, i, len(self._workers))
        return self._workers[i]

    def __iter__(self) -> Iterator[Worker]:
        for i in range(len(self._workers)):
            yield self[i]

    def finish(self) -> None:
        report_progress(self._progress, len(self._workers), len(self._workers))


def _named(form: str, name: str | int) -> str:
    """The file name a print was given: a number ``n`` is ``<form>-<n>.pdf``; a
    name gets ``.pdf`` unless it ends with it; it must not hold a folder."""
    if isinstance(name, int):
        if name < 1:
            raise ValueError(f"a form number counts from 1, not {name}")
        return f"{form}-{name}.pdf"
    if not name or name in (".", "..") or "/" in name or os.sep in name:
        raise ValueError(f"a form's name is a plain file name, not {name!r}")
    return name if name.lower().endswith(".pdf") else f"{name}.pdf"


def _next_number(directory: Path, form: str) -> int:
    pattern = re.compile(rf"{re.escape(form)}-(\d+)\.pdf")
    numbers = [int(m.group(1)) for p in directory.iterdir() if (m := pattern.fullmatch(p.name))]
    return max(numbers, default=0) + 1


def _place(
    pending: PendingFile, directory: Path, form: str, named: str | None, overwrite: bool
) -> Path:
    """Move the finished document into place (see the module docstring): as
    ``named``, else as ``<form>-<n>.pdf``."""
    if named is not None:
        try:
            return pending.place(directory / named, overwrite=overwrite)
        except OutputExists:
            raise FormExists(details=named) from None
    number = _next_number(directory, form)
    while True:
        try:
            return pending.place(directory / f"{form}-{number}.pdf", overwrite=False)
        except OutputExists:
            number += 1  # another print took this number meanwhile
        except OutputError as exc:
            if exc.code != "output.not-a-file" and exc.code != "output.symlink":
                raise
            number += 1  # a folder or a link holds this number: not ours to touch


def render_form(
    host: PluginHost,
    form: str,
    dossier: Dossier,
    *,
    pack: RulePack,
    out_dir: str | Path | None,
    copies: int = 1,
    name: str | int | None = None,
    overwrite: bool = False,
    workers: int | None = None,
    declaration_ref: str | None = None,
    progress: Progress | None = None,
) -> FormsPrinted:
    """Render ``form`` for the workers of ``dossier`` into ``out_dir`` (one PDF).

    The renderer is asked for by name through the plugin host
    (``host.renderer(form)``) and draws the view model
    (:func:`pension_collect.ports.forms.forms_input`, with the session's
    ``pack``) into ``out_dir``: ``<form>-<n>.pdf`` with the next free ``n``,
    or ``name`` (a file name, ``.pdf`` added, or a number ``n``); a file of
    that name is refused (:class:`~pension_collect.workflow.FormExists`) unless
    ``overwrite`` (see the module docstring). The confirmation renderer prints
    its copies itself. ``workers`` is the count to report when it differs from
    the dossier's. ``progress(done, total)`` is told as the renderer goes from
    worker to worker and once it has drawn them all; cancelling
    (:class:`~pension_collect.workflow.Cancelled`) leaves no file.
    Without a renderer or without ``out_dir`` nothing is written and
    :attr:`FormsPrinted.note` says why.
    """
    n = len(dossier.workers) if workers is None else workers
    named = None if name is None else _named(form, name)
    renderer = _lookup(host, form)
    if renderer is None or out_dir is None:
        report_progress(progress, len(dossier.workers), len(dossier.workers))
    if renderer is None:
        return FormsPrinted(
            form=form,
            workers=n,
            copies=copies,
            note=f"no '{form}' renderer is installed; no form file was written",
            note_zh=f"未安装“{form}”表格渲染插件,未生成表格文件",
        )
    if out_dir is None:
        return FormsPrinted(
            form=form,
            workers=n,
            copies=copies,
            note="no output directory given; no form file was written",
            note_zh="未指定输出目录,未生成表格文件",
        )
    directory = Path(out_dir)
    created = ensure_folder(directory)
    if named is not None:
        try:
            check_target(directory / named, overwrite=overwrite)
        except OutputExists:
            raise FormExists(details=named) from None
    watched = _Watched(dossier.workers, progress)
    view = forms_input_from_workers(
        dossier.employer,
        watched,
        pack=pack,
        as_of=dossier.as_of,
        declaration_ref=declaration_ref,
    )
    try:
        with write_aside(directory, form) as pending:
            result = renderer.render(view, pending.stream, options=None)
            watched.finish()
            path = _place(pending, directory, form, named, overwrite)
    except RenderUnavailable as exc:  # e.g. installed without the pdf extra
        if created:
            with contextlib.suppress(OSError):
                directory.rmdir()  # only if this step made it and left it empty
        return FormsPrinted(
            form=form,
            workers=n,
            copies=copies,
            note=f"the forms cannot be drawn here ({exc}); no form file was written",
            note_zh="缺少表格渲染所需的组件(pip install 'pension-collect[pdf]'),未生成表格文件",
        )
    return FormsPrinted(
        form=form, workers=n, copies=copies, files=(str(path),), pages=int(result.pages)
    )
