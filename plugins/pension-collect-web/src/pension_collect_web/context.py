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
from werkzeug.exceptions import NotFound

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
    "worker_key_or_none",
    "worker_ref",
]

_EXTENSION = "pension_collect_web"
#: The bytes of a worker reference's tag (an HMAC, cut): 96 bits.
_TAG = 12
#: The longest worker key (bytes of UTF-8) a reference is read for.
_MOST_KEY = 256
#: A worker reference: hex of the tag and the sealed key (an even number of digits).
_REF = re.compile(rf"(?:[0-9a-f]{{2}}){{{_TAG + 1},{_TAG + _MOST_KEY}}}")
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
        # two keys of their own for the worker references (never the secret itself)
        self._ref_tag = hmac.new(self.secret, b"worker-ref:tag", hashlib.sha256).digest()
        self._ref_seal = hmac.new(self.secret, b"worker-ref:seal", hashlib.sha256).digest()
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

    def _tag(self, unit_no: str, plain: bytes) -> bytes:
        message = b"worker\x00" + unit_no.encode("utf-8", "surrogatepass") + b"\x00" + plain
        return hmac.new(self._ref_tag, message, hashlib.sha256).digest()[:_TAG]

    def _seal(self, tag: bytes, data: bytes) -> bytes:
        """``data`` XOR the key stream of ``tag`` (HMAC-SHA256 in counter mode)."""
        stream = b"".join(
            hmac.new(self._ref_seal, tag + block.to_bytes(4, "big"), hashlib.sha256).digest()
            for block in range((len(data) + 31) // 32)
        )
        mixed = int.from_bytes(data, "big") ^ int.from_bytes(stream[: len(data)], "big")
        return mixed.to_bytes(len(data), "big")

    def ref(self, unit_no: str, key: str) -> str:
        """The opaque reference of the worker ``key`` of ``unit_no``: the worker
        key sealed under the installation's secret (a deterministic
        authenticated encryption, SIV-style: a 96-bit HMAC tag of the employer
        and the key, then the key XOR an HMAC key stream of the tag), in hex.
        The same for every process and restart of the installation; only the
        server reads it back (:meth:`key_of`)."""
        plain = key.encode("utf-8", "surrogatepass")
        tag = self._tag(unit_no, plain)
        return (tag + self._seal(tag, plain)).hex()

    def key_of(self, unit_no: str, ref: str) -> str | None:
        """The worker key a reference of :meth:`ref` holds for the employer
        ``unit_no``, ``None`` for anything else (not a reference, made up,
        altered, or another employer's): no store is read, the work is the
        same for any reference."""
        if not _REF.fullmatch(ref):
            return None
        raw = bytes.fromhex(ref)
        tag, sealed = raw[:_TAG], raw[_TAG:]
        plain = self._seal(tag, sealed)
        if not hmac.compare_digest(self._tag(unit_no, plain), tag):
            return None
        try:
            return plain.decode("utf-8", "surrogatepass")
        except UnicodeDecodeError:
            return None

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
    employer's worker, a made-up reference). The reference is read back with
    the installation's secret (:meth:`WebState.key_of`), then at most three
    records are looked up by key: never a scan of the employer's records. Pass
    the open ``session`` when there is one."""
    unit = clerk().unit_no
    key = state().key_of(unit, ref)
    if key is None:
        abort(404)
    with contextlib.ExitStack() as stack:
        if session is None:
            session = stack.enter_context(collection())
        with session.storage.transaction() as tx:
            if any(tx.get(kind, unit, key) is not None for kind in _WORKER_KINDS):
                return key
    abort(404)


def worker_key_or_none(ref: str, session: CollectionSession) -> str | None:
    """:func:`worker_key`, or ``None`` where it answers 404: a page answering a
    stale form, whose clerk may have signed in again as another employer's."""
    try:
        return worker_key(ref, session)
    except NotFound:
        return None


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
