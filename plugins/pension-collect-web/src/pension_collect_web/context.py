"""What a page's view needs from the request: the signed-in :func:`clerk`, the
:func:`collection` of the clerk's employer, opaque worker references for URLs
(:func:`worker_ref`, :func:`worker_key`), a library error as a flashed message
(:func:`library_error`) and a PDF download (:func:`pdf_response`).

The process's store, bureau transport and clerk accounts are opened once, by
:func:`pension_collect_web.app.create_app`, and kept in a :class:`WebState`.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import re
import threading
import unicodedata
from collections.abc import Iterator
from urllib.parse import quote

from flask import Response, abort, current_app, flash, g

from pension_collect.errors import DossierFormatError, PensionCollectError
from pension_collect.plugins import PluginHost
from pension_collect.ports.storage import RecordKind, Storage
from pension_collect.ports.transport import Transport
from pension_collect.workflow import CollectionSession

from .accounts import Clerk, ClerkAccounts
from .config import WebConfig
from .errors import WebError
from .i18n import lang

__all__ = [
    "WebState",
    "clerk",
    "collection",
    "library_error",
    "pdf_response",
    "state",
    "worker_key",
    "worker_ref",
]

_EXTENSION = "pension_collect_web"
_REF = re.compile(r"[0-9a-f]{24}")
#: The kinds of record keyed by a worker's identity number that make a worker
#: this employer's: saved, synced from the bureau, or a kept draft.
_WORKER_KINDS = (RecordKind.WORKER, RecordKind.SYNCED, RecordKind.DRAFT)


class WebState:
    """The process's store, bureau transports, clerk accounts and plugin host.

    The store and (for ``local:DIR``) the transport are opened once per
    process; an http(s) bureau is logged in once per employer, with
    :attr:`WebConfig.bureau_password`, on its first use."""

    def __init__(self, config: WebConfig, *, host: PluginHost | None = None) -> None:
        self.config = config
        self.host = host if host is not None else PluginHost()
        self.accounts = ClerkAccounts(config.accounts_path)
        self.secret = self.accounts.secret()
        self._lock = threading.Lock()
        self._transports: dict[str, Transport] = {}
        self._refs: dict[tuple[str, str], str] = {}
        self.storage: Storage = self.host.open_storage(config.store_url)
        try:
            if not self._http:
                self._transports[""] = self.host.open_transport(config.bureau_url)
        except BaseException:
            self.storage.close()
            raise

    @property
    def _http(self) -> bool:
        return self.config.bureau_url.lower().startswith(("http://", "https://"))

    def transport(self, unit_no: str) -> Transport:
        """The bureau transport for the employer ``unit_no``."""
        if not self._http:
            return self._transports[""]
        with self._lock:
            found = self._transports.get(unit_no)
            if found is None:
                if not self.config.bureau_password:
                    raise WebError(
                        "web.bureau-password-missing",
                        "the bureau is served over HTTP and needs the employer's password: "
                        "start 'pension-collect web' with $PENSION_COLLECT_BUREAU_PASSWORD set",
                        "社保系统通过 HTTP 访问,需要单位密码:请设置环境变量 "
                        "PENSION_COLLECT_BUREAU_PASSWORD 后重新启动 'pension-collect web'",
                    )
                found = self.host.open_transport(
                    self.config.bureau_url,
                    unit_no=unit_no,
                    password=self.config.bureau_password,
                )
                self._transports[unit_no] = found
            return found

    def ref(self, unit_no: str, key: str) -> str:
        """The opaque reference of the worker ``key`` of ``unit_no`` (24 hex digits)."""
        message = f"worker\x00{unit_no}\x00{key}".encode("utf-8", "surrogatepass")
        ref = hmac.new(self.secret, message, hashlib.sha256).hexdigest()[:24]
        self._refs[(unit_no, ref)] = key
        return ref

    def close(self) -> None:
        """Close the transports, the store and this thread's accounts connection."""
        with self._lock:
            transports, self._transports = list(self._transports.values()), {}
        for transport in transports:
            transport.close()
        self.storage.close()
        self.accounts.close()


def state() -> WebState:
    """The application's :class:`WebState`."""
    found: WebState = current_app.extensions[_EXTENSION]
    return found


def clerk() -> Clerk:
    """The signed-in clerk of this request (name, unit number)."""
    found: Clerk | None = g.get("clerk")
    if found is None:  # a view reached without the sign-in check: never answered
        abort(401)
    return found


@contextlib.contextmanager
def collection() -> Iterator[CollectionSession]:
    """A :class:`~pension_collect.workflow.CollectionSession` of the clerk's
    employer over the process's store and bureau; the clerk's name is the
    audit log's actor; the rules' month is the configuration's ``as_of``."""
    who = clerk()
    st = state()
    session = CollectionSession(
        st.storage,
        st.transport(who.unit_no),
        unit_no=who.unit_no,
        actor=who.name,
        host=st.host,
        as_of=st.config.as_of,
    )
    with session:
        yield session


def worker_ref(key: str) -> str:
    """The opaque reference of the worker ``key`` (an identity number) for URLs:
    stable for the installation and the clerk's employer, telling nothing
    about the worker."""
    return state().ref(clerk().unit_no, key)


def worker_key(ref: str, session: CollectionSession | None = None) -> str:
    """The worker key of ``ref`` (:func:`worker_ref`): a worker saved, synced or
    drafted in the clerk's employer's collection; 404 for anything else (another
    employer's worker, a made-up reference). Pass the open ``session`` when
    there is one."""
    if not _REF.fullmatch(ref):
        abort(404)
    st = state()
    unit = clerk().unit_no
    key = st._refs.get((unit, ref))
    with contextlib.ExitStack() as stack:
        if session is None:
            session = stack.enter_context(collection())
        with session.storage.transaction() as tx:
            if key is not None:
                if any(tx.get(kind, unit, key) is not None for kind in _WORKER_KINDS):
                    return key
                abort(404)
            for kind in _WORKER_KINDS:
                for rec in tx.list(kind, unit):
                    if hmac.compare_digest(st.ref(unit, rec.key), ref):
                        return rec.key
    abort(404)


def _two(code: str, message: str, message_zh: str) -> str:
    first, second = (message_zh, message) if lang() == "zh" else (message, message_zh)
    return f"{code}: {first}" if second in ("", first) else f"{code}: {first} ({second})"


def library_error(exc: PensionCollectError) -> None:
    """Flash ``exc`` (a library or web error) as an error message: its code and
    its sentence in the page's language first, the other language after; a
    dossier's shape problems each with where."""
    message = str(getattr(exc, "message", None) or exc)
    message_zh = str(getattr(exc, "message_zh", None) or "")
    if isinstance(exc, DossierFormatError):
        message = f"{len(exc.problems)} problem(s); the data cannot be read"
        message_zh = f"共 {len(exc.problems)} 处问题,无法读取"
    flash(_two(exc.code, message, message_zh), "error")
    if isinstance(exc, DossierFormatError):
        for problem in exc.problems[:50]:
            flash(
                _two(problem.path, problem.message, problem.message_zh),
                "error",
            )


def _ascii_name(filename: str) -> str:
    stem = filename[:-4] if filename.lower().endswith(".pdf") else filename
    plain = unicodedata.normalize("NFKD", stem).encode("ascii", "ignore").decode("ascii")
    plain = re.sub(r"[^A-Za-z0-9._-]+", "_", plain).strip("._") or "document"
    return f"{plain}.pdf"


def pdf_response(data: bytes, filename: str) -> Response:
    """A PDF download of ``data`` named ``filename`` (an ASCII name for old
    browsers, the UTF-8 one for the others); never cached."""
    disposition = f"attachment; filename=\"{_ascii_name(filename)}\"; filename*=UTF-8''" + quote(
        filename, safe=""
    )
    return Response(
        data,
        mimetype="application/pdf",
        headers={"Content-Disposition": disposition, "Cache-Control": "no-store"},
    )
