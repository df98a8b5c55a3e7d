"""What the collection commands share (docs/cli.md "The collection commands"):
opening the store, the bureau and the session; reading a dossier or workbook;
naming workers on the command line; the JSON documents; errors as one line.
"""

from __future__ import annotations

import argparse
import contextlib
import errno
import getpass
import importlib
import json
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any, NoReturn, TextIO

from ..dossier import loads, read_input
from ..errors import DossierFormatError, PensionCollectError
from ..identity import InvalidIdentityNumber, canonical_id, is_valid, mask
from ..model import Dossier, YearMonth
from ..plugins import PluginHost
from ..ports.storage import ConflictError, RecordKind, Storage, StorageError
from ..ports.transport import (
    BureauError,
    DeclarationKind,
    DeclarationStatus,
    SyncResult,
    Transport,
    TransportError,
)
from ..text import json_safe, printable
from ..workflow import guards as G
from ..workflow.records import StoredDeclaration, StoredWorker, bureau_record
from ..workflow.session import CollectionSession
from . import EXIT_INTERRUPTED, EXIT_UNREADABLE, say
from ._collect_status import clerk_words, shown_workers

#: Exit status: the procedure refuses the step now (a guard of the session:
#: a step out of order, a form not printed, a declaration in flight ...).
EXIT_REFUSED = 4
#: Exit status: the bureau cannot be reached, refuses the login or the request.
EXIT_BUREAU = 5
#: Exit status: ``follow --timeout`` ran out with declarations still open.
EXIT_TIMEOUT = 6

#: The version of every collection command's JSON document.
JSON_VERSION = 1

DEFAULT_STORE = "sqlite:collection.db"
DEFAULT_BUREAU = "local:bureau"
ENV_STORE = "PENSION_COLLECT_STORE"
ENV_BUREAU = "PENSION_COLLECT_BUREAU"
ENV_UNIT = "PENSION_COLLECT_UNIT"
ENV_PASSWORD = "PENSION_COLLECT_BUREAU_PASSWORD"
ENV_NEW_PASSWORD = "PENSION_COLLECT_BUREAU_NEW_PASSWORD"
ENV_ACTOR = "PENSION_COLLECT_ACTOR"
ENV_AS_OF = "PENSION_COLLECT_AS_OF"


class CommandFailed(Exception):
    """A collection command stops with one line (English and Chinese) and an
    exit status; ``code`` names the reason for programs."""

    def __init__(self, status: int, code: str, message: str, message_zh: str) -> None:
        self.status = status
        self.code = code
        self.message = message
        self.message_zh = message_zh
        super().__init__(f"{code}: {message}")


def fail(status: int, code: str, message: str, message_zh: str) -> NoReturn:
    raise CommandFailed(status, code, message, message_zh)


# -- options ------------------------------------------------------------------------------


def common_options() -> argparse.ArgumentParser:
    """The options every collection command takes (a parent parser)."""
    p = argparse.ArgumentParser(add_help=False)
    g = p.add_argument_group("collection")
    g.add_argument(
        "--store",
        metavar="URL",
        help=f"the collection's store (default ${ENV_STORE}, else {DEFAULT_STORE}: "
        "collection.db in the current folder)",
    )
    g.add_argument(
        "--bureau",
        metavar="URL",
        help=f"the bureau: local:DIR, http(s)://HOST:PORT (default ${ENV_BUREAU}, "
        f"else {DEFAULT_BUREAU})",
    )
    g.add_argument(
        "--unit",
        metavar="UNIT_NO",
        help=f"the employer's unit number (单位编号; default ${ENV_UNIT})",
    )
    g.add_argument(
        "--actor",
        metavar="NAME",
        help=f"who does the step, for the audit log (default ${ENV_ACTOR}, else the login name)",
    )
    g.add_argument(
        "--as-of",
        metavar="YYYY-MM",
        help=f"the collection month for the rules (default ${ENV_AS_OF}; collect and "
        "employer: the dossier's as_of; else this month)",
    )
    g.add_argument(
        "--format",
        choices=("text", "json"),
        default="text",
        help="text for a clerk (default) or the command's JSON document",
    )
    return p


def _env(name: str) -> str | None:
    value = os.environ.get(name, "")
    return value or None


def store_url(args: argparse.Namespace) -> str:
    return str(args.store or _env(ENV_STORE) or DEFAULT_STORE)


def shown_url(url: str) -> str:
    """``url`` as it may be printed: a password in it (``postgresql://u:secret@h/db``)
    replaced by ``***``."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        return url
    netloc, slash, path = rest.partition("/")
    userinfo, at, host = netloc.rpartition("@")
    if not at or ":" not in userinfo:
        return url
    user = userinfo.split(":", 1)[0]
    return f"{scheme}://{user}:***@{host}{slash}{path}"


def bureau_url(args: argparse.Namespace) -> str:
    return str(args.bureau or _env(ENV_BUREAU) or DEFAULT_BUREAU)


def unit_of(args: argparse.Namespace) -> str:
    unit = args.unit or _env(ENV_UNIT)
    if not unit:
        fail(
            EXIT_UNREADABLE,
            "cli.unit-missing",
            f"give the employer's unit number: --unit UNIT_NO or ${ENV_UNIT}",
            f"请指定单位编号:--unit 单位编号 或环境变量 {ENV_UNIT}",
        )
    return str(unit)


def actor_of(args: argparse.Namespace) -> str:
    if args.actor or _env(ENV_ACTOR):
        return str(args.actor or _env(ENV_ACTOR))
    try:
        return getpass.getuser() or "clerk"
    except (OSError, KeyError, ImportError):
        return "clerk"


def as_of_of(args: argparse.Namespace, dossier: Dossier | None = None) -> YearMonth | None:
    text = args.as_of or _env(ENV_AS_OF)
    if text:
        try:
            return YearMonth.parse(str(text))
        except (ValueError, PensionCollectError):
            fail(
                EXIT_UNREADABLE,
                "cli.as-of",
                f"--as-of must be a month YYYY-MM, not {printable(str(text)[:20])!r}",
                "--as-of 应为年月 YYYY-MM",
            )
    return None if dossier is None else dossier.as_of


# -- opening ------------------------------------------------------------------------------


class _NoBureau:
    """The transport of a command that does not talk to the bureau (status,
    audit, print, receive): any call is a bug."""

    def _refuse(self) -> NoReturn:
        raise TransportError("this command does not call the bureau")

    def sync(self, unit_no: str) -> SyncResult:
        self._refuse()

    def pending_declarations(self, unit_no: str) -> list[DeclarationStatus]:
        self._refuse()

    def submit(
        self,
        unit_no: str,
        kind: DeclarationKind,
        payload: dict[str, Any],
        *,
        idempotency_key: str,
        linked_to: str | None = None,
    ) -> DeclarationStatus:
        self._refuse()

    def status(self, declaration_id: str, *, unit_no: str | None = None) -> DeclarationStatus:
        self._refuse()

    def close(self) -> None:
        return None


def _password(url: str) -> str:
    value = _env(ENV_PASSWORD)
    if value:
        return value
    if sys.stdin is not None and sys.stdin.isatty():
        try:
            return getpass.getpass(f"password of the employer at {printable(url)} (单位密码): ")
        except EOFError:
            pass
    fail(
        EXIT_BUREAU,
        "cli.password-missing",
        f"the bureau {printable(url)} needs the employer's password: set ${ENV_PASSWORD} or "
        "run the command at a terminal to be asked (never give it as an argument)",
        f"登录社保系统需要单位密码:请设置环境变量 {ENV_PASSWORD},或在终端中运行以便输入"
        "(不要写在命令行上)",
    )


def new_password() -> str:
    """The new password of ``pension-collect password``: from the environment, or
    asked twice at a terminal."""
    value = _env(ENV_NEW_PASSWORD)
    if value:
        return value
    if sys.stdin is not None and sys.stdin.isatty():
        try:
            first = getpass.getpass("new password (新密码): ")
            again = getpass.getpass("new password again (再次输入新密码): ")
        except EOFError:
            first, again = "", "-"
        if first and first == again:
            return first
        fail(
            EXIT_UNREADABLE,
            "cli.password-mismatch",
            "the two new passwords differ (or are empty); nothing was changed",
            "两次输入的新密码不一致(或为空),密码未修改",
        )
    fail(
        EXIT_BUREAU,
        "cli.password-missing",
        f"give the new password in ${ENV_NEW_PASSWORD} or run the command at a terminal "
        "to be asked (never as an argument)",
        f"请在环境变量 {ENV_NEW_PASSWORD} 中给出新密码,或在终端中运行以便输入(不要写在命令行上)",
    )


def open_http(args: argparse.Namespace, password: str) -> Transport:
    """The http(s) bureau of ``args`` logged in as its unit with ``password``."""
    url = bureau_url(args)
    if not url.lower().startswith(("http://", "https://")):
        fail(
            EXIT_UNREADABLE,
            "cli.usage",
            f"only a bureau served over HTTP has a password; --bureau is {printable(url)}",
            "只有通过 HTTP 访问的社保系统才有密码",
        )
    return PluginHost().open_transport(url, unit_no=unit_of(args), password=password)


def bureau_password(args: argparse.Namespace) -> str:
    return _password(bureau_url(args))


def _transport(host: PluginHost, url: str, unit: str) -> Transport:
    if url.lower().startswith(("http://", "https://")):
        return host.open_transport(url, unit_no=unit, password=_password(url))
    return host.open_transport(url)


def _store_exists(url: str) -> bool:
    if not url.lower().startswith("sqlite:"):
        return True  # other stores say themselves whether the collection was started
    from ..adapters.sqlite import path_of

    return os.path.lexists(path_of(url))


def _require_local_bureau(url: str) -> None:
    """A ``local:DIR`` bureau must be there already: opening it would make a new,
    empty bureau in DIR (a typo, or 'bureau seed' not run), where a data sync
    finds no one."""
    if not url.lower().startswith("local:"):
        return
    from ..adapters.bureau_sqlite import BUREAU_DB

    folder = url[len("local:") :]
    if folder.startswith("//"):  # local:///absolute/dir
        folder = folder[2:]
    if folder and not os.path.lexists(os.path.join(folder, BUREAU_DB)):
        fail(
            EXIT_BUREAU,
            "cli.no-bureau",
            f"there is no bureau at {printable(url)} (no {printable(folder)}/{BUREAU_DB}): "
            "give the folder 'pension-collect bureau seed --data DIR' filled, or the "
            "bureau's http(s) address, with --bureau",
            f"{printable(url)} 处没有社保系统数据:请用 --bureau 指定 "
            "'pension-collect bureau seed --data 目录' 所用的目录,或社保系统的 http(s) 地址",
        )


@contextlib.contextmanager
def collection(
    args: argparse.Namespace,
    *,
    bureau: bool = True,
    create: bool = False,
    dossier: Dossier | None = None,
) -> Iterator[CollectionSession]:
    """The session of ``args``: its store (made only when ``create``: start),
    its bureau (``bureau``: the command calls it), closed afterwards."""
    url = store_url(args)
    unit = unit_of(args)
    if bureau and bureau_url(args).lower() == "local:":
        fail(
            EXIT_UNREADABLE,
            "cli.usage",
            "--bureau local: is a new, empty bureau in each command, which keeps nothing "
            "between them; give local:DIR (a bureau whose state is in the folder DIR) "
            "or the bureau's http(s) address",
            "--bureau local: 在每条命令中都是新的空社保系统,命令之间不保留任何数据;"
            "请指定 local:目录 或社保系统的 http(s) 地址",
        )
    as_of = as_of_of(args, dossier)
    if not create and not _store_exists(url):
        fail(
            EXIT_UNREADABLE,
            "cli.no-store",
            f"there is no collection store at {printable(url)}: run 'pension-collect start' "
            "first, or give the store with --store URL",
            f"{printable(url)} 处没有采集数据库:请先运行 'pension-collect start',或用 --store 指定",
        )
    if bureau:
        _require_local_bureau(bureau_url(args))
    host = PluginHost()
    storage: Storage = host.open_storage(url)
    try:
        transport: Transport = _transport(host, bureau_url(args), unit) if bureau else _NoBureau()
        try:
            session = CollectionSession(
                storage,
                transport,
                unit_no=unit,
                actor=actor_of(args),
                host=host,
                as_of=as_of,
            )
            with session:
                yield session
        finally:
            transport.close()
    finally:
        storage.close()


# -- dossiers -------------------------------------------------------------------------------


#: Why a file cannot be read, in Chinese (the system's reason is in English).
_REASONS_ZH = {
    errno.ENOENT: "文件不存在,请核对文件名和所在文件夹",
    errno.EISDIR: "这是文件夹而不是文件,请指定档案文件",
    errno.EACCES: "没有读取该文件的权限",
    errno.EPERM: "没有读取该文件的权限",
    errno.ENOTDIR: "路径中的某一部分不是文件夹",
}


def read_dossier(path_text: str, args: argparse.Namespace) -> Dossier:
    """A dossier from a JSON file (``-``: standard input) or an Excel workbook
    (``.xlsx``); every problem printed, exit 2, when it cannot be read."""
    try:
        if path_text.lower().endswith(".xlsx"):
            return _read_xlsx(path_text)
        if path_text == "-":
            return loads(read_input(sys.stdin.buffer), source="<stdin>")
        return loads(read_input(Path(path_text)), source=path_text)
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        reason_zh = _REASONS_ZH.get(exc.errno or 0, "读取出错,请检查该文件")
        fail(
            EXIT_UNREADABLE,
            "cli.cannot-read",
            f"cannot read {printable(path_text)}: {reason}",
            f"无法读取 {printable(path_text)}:{reason_zh}",
        )
    except DossierFormatError as exc:
        raise Unreadable(exc.source or path_text, list(exc.problems)) from None


class Unreadable(Exception):
    """A dossier or workbook that cannot be read: its problems, each with where."""

    def __init__(self, source: str, problems: Sequence[Any]) -> None:
        self.source = source
        self.problems = problems
        super().__init__(f"{len(problems)} problems")


def _read_xlsx(path_text: str) -> Dossier:
    try:
        # pension_collect.xlsx (openpyxl): read_xlsx(path) -> Dossier, XlsxImportError
        xlsx: Any = importlib.import_module("pension_collect.xlsx")
    except ImportError as exc:  # openpyxl (the extra xlsx) is not installed
        fail(
            EXIT_UNREADABLE,
            "cli.xlsx-unavailable",
            f"reading a workbook needs the xlsx extra (pip install 'pension-collect[xlsx]'): {exc}",
            "读取 Excel 工作簿需要安装 xlsx 扩展",
        )
    try:
        dossier: Dossier = xlsx.read_xlsx(path_text)
    except xlsx.XlsxImportError as exc:
        raise Unreadable(path_text, list(exc.problems)) from None
    return dossier


def check_unit(dossier: Dossier, session: CollectionSession, source: str) -> None:
    if dossier.employer.unit_no != session.unit_no:
        fail(
            EXIT_UNREADABLE,
            "cli.other-employer",
            f"{printable(source)} is the dossier of employer "
            f"{printable(dossier.employer.unit_no)}, "
            f"this collection is employer {session.unit_no}'s (--unit)",
            f"{printable(source)} 是单位 {printable(dossier.employer.unit_no)} 的档案,"
            f"本次采集的单位是 {session.unit_no}",
        )


# -- workers on the command line ------------------------------------------------------------


def synced_persons(session: CollectionSession) -> dict[str, str]:
    """Key -> person number of every person of the latest data sync (read only)."""
    state = session.state()
    if state is None or state.sync_no == 0:
        return {}
    with session.storage.transaction() as tx:
        recs = tx.list(RecordKind.SYNCED, session.unit_no)
    out = {}
    for rec in recs:
        if rec.data.get("sync_no") == state.sync_no:
            out[rec.key] = bureau_record(rec.key, rec.data).person_no or ""
    return out


def resolve_workers(
    wanted: Sequence[str], known: dict[str, str], what: str = "worker"
) -> list[str]:
    """The keys of ``wanted`` (person numbers or identity numbers) among
    ``known`` (key -> person number); an unknown one is exit 2."""
    by_person = {p: k for k, p in known.items() if p}
    keys = []
    for text in wanted:
        key = by_person.get(text.strip())
        if key is None:
            try:
                key = canonical_id(text)
            except (InvalidIdentityNumber, PensionCollectError, ValueError):
                key = None
            typed = text.strip()
            if key and len(key) == 18 and is_valid(key):
                shown, hint, hint_zh = mask(key), "", ""
            elif len(typed) >= 15:  # an identity number mistyped: masked all the same
                shown = f"{printable(typed[:6])}{'*' * min(len(typed) - 10, 12)}"
                shown += printable(typed[-4:])
                hint = " (not a valid identity number: check its digits)"
                hint_zh = "(不是有效的身份证号码,请核对)"
            else:
                shown, hint, hint_zh = printable(typed[:24]), "", ""
            if key is None or key not in known:
                fail(
                    EXIT_UNREADABLE,
                    "cli.unknown-worker",
                    f"no {what} {shown} in this collection{hint}: give a person number "
                    "(个人编号) or identity number that 'pension-collect status' lists",
                    f"本次采集中没有人员 {shown}{hint_zh}:请使用 'pension-collect status' "
                    "列出的个人编号或身份证号码",
                )
        keys.append(key)
    return keys


def person_numbers(session: CollectionSession) -> dict[str, str]:
    """Key -> person number of every stored worker and synced person."""
    known = synced_persons(session)
    for w in session.workers():
        known[w.key] = w.worker.person_no or known.get(w.key, "")
    return known


# -- documents -----------------------------------------------------------------------------


def document(command: str, args: argparse.Namespace, session: CollectionSession) -> dict[str, Any]:
    """The head of a command's JSON document."""
    return {
        "format": f"pension-collect/{command}",
        "version": JSON_VERSION,
        "unit_no": session.unit_no,
        "store": shown_url(store_url(args)),
    }


def emit(doc: dict[str, Any], out: TextIO | None = None) -> None:
    stream = out if out is not None else sys.stdout
    stream.write(json_safe(json.dumps(doc, ensure_ascii=False, indent=2)) + "\n")


def line(text: str, out: TextIO | None = None) -> None:
    stream = out if out is not None else sys.stdout
    stream.write(printable(text) + "\n")


def worker_json(w: StoredWorker) -> dict[str, Any]:
    return {
        "worker": mask(w.key),
        "person_no": w.worker.person_no,
        "status": w.status.value,
        "version": w.version,
        "warnings": [f.code for f in w.warnings],
        "confirmation_printed": w.confirmation_printed,
        "form_received": w.form_received,
        "handbook_received": w.handbook_received,
        "declaration": w.declaration,
        "failed_in": w.failed_in,
        "needs_window": w.needs_window,
        "outcome": None
        if w.outcome is None
        else {
            "succeeded": w.outcome.succeeded,
            "code": w.outcome.code,
            "message": w.outcome.message,
            "message_zh": w.outcome.message_zh,
        },
    }


def declaration_json(d: StoredDeclaration, persons: dict[str, str]) -> dict[str, Any]:
    return {
        "declaration": d.key,
        "kind": d.kind.value,
        "state": d.state.value,
        "state_zh": d.state.zh,
        "bureau_id": d.bureau_id,
        "linked_to": d.linked_to,
        "created_at": d.created_at,
        "submitted_at": d.submitted_at,
        "concluded_at": d.concluded_at,
        "message": d.message,
        "message_zh": d.message_zh,
        "workers": [
            {"worker": mask(k), "person_no": persons.get(k) or None}
            for k in d.workers
            if d.kind is DeclarationKind.WORKERS
        ],
        "outcomes": [
            {
                "worker": mask(o.key) if d.kind is DeclarationKind.WORKERS else None,
                "person_no": persons.get(o.key) or None,
                "succeeded": o.succeeded,
                "code": o.code,
                "message": o.message,
                "message_zh": o.message_zh,
            }
            for o in d.outcomes
        ],
    }


def declaration_line(d: StoredDeclaration) -> str:
    bureau = f" ({d.bureau_id})" if d.bureau_id else ""
    linked = f", re-collecting {d.linked_to}" if d.linked_to else ""
    failed = sum(1 for o in d.outcomes if not o.succeeded)
    verdict = f", {failed} failed" if failed else ""
    return (
        f"{d.key}{bureau}: {d.state.value} {d.state.zh}, "
        f"{len(d.workers) if d.kind is DeclarationKind.WORKERS else 'employer'}"
        f"{' workers' if d.kind is DeclarationKind.WORKERS else ''}{verdict}{linked}"
    )


def finding_json(f: Any) -> dict[str, Any]:
    return {
        "code": f.code,
        "severity": f.severity.value if hasattr(f.severity, "value") else str(f.severity),
        "path": f.path,
        "procedure": f.procedure,
        "message": f.message,
        "message_zh": f.message_zh,
    }


# -- errors ----------------------------------------------------------------------------------

_INPUT_CODES = frozenset(
    {"workflow.unknown-worker", "workflow.unknown-declaration", "workflow.form-exists"}
)


def _classify(exc: BaseException) -> tuple[int, str, str, str] | None:
    """Exit status, code and the two sentences of an error the commands expect."""
    if isinstance(exc, CommandFailed):
        return exc.status, exc.code, exc.message, exc.message_zh
    if isinstance(exc, G.Cancelled):
        return EXIT_INTERRUPTED, exc.code, exc.message, exc.message_zh
    if isinstance(exc, G.WorkflowError):
        where = f"[{exc.procedure}] " if exc.procedure else ""
        shown = f" (workers: {shown_workers(list(exc.keys))})" if exc.keys else ""
        status = EXIT_UNREADABLE if exc.code in _INPUT_CODES else EXIT_REFUSED
        message, message_zh = clerk_words(exc.code, exc.message, exc.message_zh)
        return status, exc.code, f"{where}{message}{shown}", f"{where}{message_zh}"
    if isinstance(exc, ConflictError):
        return (
            EXIT_REFUSED,
            exc.code,
            "someone changed the collection at the same moment; run the command again",
            "他人同时修改了采集数据,请重新运行该命令",
        )
    if isinstance(exc, TransportError | BureauError):
        message = getattr(exc, "message", None) or str(exc)
        message_zh = getattr(exc, "message_zh", None) or message
        if exc.code == "auth.password-change-required":
            message = (
                "the password is an initial one and must be changed first: run "
                "'pension-collect password'"
            )
            message_zh = "当前密码为初始密码,须先修改:请运行 'pension-collect password'"
        return EXIT_BUREAU, exc.code, message, message_zh
    if isinstance(exc, StorageError | PensionCollectError):
        message = getattr(exc, "message", None) or str(exc)
        message_zh = getattr(exc, "message_zh", None) or message
        return EXIT_UNREADABLE, exc.code, message, message_zh
    return None


def guarded(command: str, run: Callable[[argparse.Namespace], int]) -> Callable[..., int]:
    """``run`` with its expected errors as one line on standard error (and, with
    ``--format json``, the error document on standard output) and their exit
    status."""

    def wrapper(args: argparse.Namespace) -> int:
        try:
            try:
                return run(args)
            except KeyboardInterrupt:  # Ctrl-C: each step is committed whole or not at all
                fail(
                    EXIT_INTERRUPTED,
                    "cli.interrupted",
                    "interrupted; what was finished before is saved: run the command again "
                    "to go on",
                    "已中断;此前已完成的内容均已保存:重新运行该命令即可继续",
                )
        except Unreadable as exc:
            return _unreadable(command, args, exc)
        except (PensionCollectError, CommandFailed) as exc:
            found = _classify(exc)
            if found is None:  # pragma: no cover - every PensionCollectError is classified
                raise
            status, code, message, message_zh = found
            say(
                f"{code}: {message} ({message_zh})"
                if message_zh != message
                else f"{code}: {message}"
            )
            if args.format == "json":
                emit(
                    {
                        "format": "pension-collect/error",
                        "version": JSON_VERSION,
                        "command": command,
                        "exit_status": status,
                        "code": code,
                        "message": message,
                        "message_zh": message_zh,
                    }
                )
            return status

    return wrapper


def bad_argument(command: str, message: str) -> None:
    """The error document of an argument error (argparse's: a missing argument,
    a bad choice) of a collection command run with ``--format json``."""
    emit(
        {
            "format": "pension-collect/error",
            "version": JSON_VERSION,
            "command": command,
            "exit_status": EXIT_UNREADABLE,
            "code": "cli.bad-argument",
            "message": f"{message} (see 'pension-collect {command} --help')",
            "message_zh": f"命令行参数有误:{message}(见 'pension-collect {command} --help')",
        }
    )


def _unreadable(command: str, args: argparse.Namespace, exc: Unreadable) -> int:
    n = len(exc.problems)
    if args.format == "json":
        emit(
            {
                "format": "pension-collect/problems",
                "version": 1,
                "source": exc.source,
                "problems": [
                    {"path": p.path, "message": p.message, "message_zh": p.message_zh}
                    for p in exc.problems
                ],
            }
        )
    what = "workbook" if str(exc.source).lower().endswith(".xlsx") else "dossier"
    lines = [
        f"{exc.source}: not a readable {what}, {n} problem{'s' if n != 1 else ''} "
        f"(无法读取为采集档案,共 {n} 处问题):"
    ]
    lines += [f"  {p.path}: {p.message_zh}({p.message})" for p in exc.problems]
    say("\n".join(lines))
    return EXIT_UNREADABLE


__all__: list[str] = []  # internal: the public names are pension_collect.cli.collect's
