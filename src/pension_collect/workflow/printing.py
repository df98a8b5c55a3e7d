"""The bridge from the workflow to form renderers, always through the plugin host.

The forms themselves (核对表 verification, 确认表 confirmation, 汇总表 summary)
are drawn by renderer plugins registered with
``pension_collect_register_renderers`` (docs/forms.md). When the host has no
renderer of that name (:class:`~pension_collect.ports.forms.UnknownRenderer`),
printing is recorded as done with a note that no file was written, so a
collection can run without any renderer installed. A *broken* renderer set-up
(two plugins claiming one name: a :class:`~pension_collect.errors.PluginError`)
is raised, never mistaken for "no renderer".
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

import attrs

from ..model import Dossier
from ..plugins import PluginHost
from ..ports.forms import Renderer, RenderUnavailable, UnknownRenderer, forms_input
from ..rules.pack import RulePack

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


def render_form(
    host: PluginHost,
    form: str,
    dossier: Dossier,
    *,
    pack: RulePack,
    out_dir: str | Path | None,
    copies: int = 1,
    stem: str | None = None,
    workers: int | None = None,
    declaration_ref: str | None = None,
) -> FormsPrinted:
    """Render ``form`` for the workers of ``dossier`` into ``out_dir`` (one PDF).

    The renderer is asked for by name through the plugin host
    (``host.renderer(form)``) and draws the view model
    (:func:`pension_collect.ports.forms.forms_input`, with the session's
    ``pack``) into ``out_dir/<stem>.pdf`` (docs/forms.md); the confirmation
    renderer prints its copies itself.
    ``workers`` is the count to report when it differs from the dossier's
    (a selected worker the bureau has no data for).
    Without a renderer or without ``out_dir`` nothing is written and
    :attr:`FormsPrinted.note` says why.
    """
    n = len(dossier.workers) if workers is None else workers
    renderer = _lookup(host, form)
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
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{stem or form}.pdf"
    partial = path.with_name(path.name + ".partial")
    view = forms_input(dossier, pack=pack, declaration_ref=declaration_ref)
    try:
        # Written aside and moved into place: never a half-written form.
        with partial.open("wb") as fh:
            result = renderer.render(view, fh, options=None)
        os.replace(partial, path)
    except RenderUnavailable as exc:  # e.g. installed without the pdf extra
        partial.unlink(missing_ok=True)
        with contextlib.suppress(OSError):
            directory.rmdir()  # only if this step left it empty
        return FormsPrinted(
            form=form,
            workers=n,
            copies=copies,
            note=f"the forms cannot be drawn here ({exc}); no form file was written",
            note_zh="缺少表格渲染所需的组件(pip install 'pension-collect[pdf]'),未生成表格文件",
        )
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    return FormsPrinted(
        form=form, workers=n, copies=copies, files=(str(path),), pages=int(result.pages)
    )
