"""The masking policy (docs/privacy.md), enforced on every public class.

One scenario runs the whole library over a dossier whose workers, employer
contact, legal representative, phone, address and remarks hold known personal
data: reading, checking, the forms' view model and the three PDF forms, the
reference bureau, and a collection session from start to the concluded
declaration on SQLite, with errors provoked along the way (a shifted column, a
wrong check digit, a stale version, a damaged record, another employer's
declaration ...); an Excel roster with personal data in the wrong cells; the
bureau server's app behind the HTTP transport (wrong passwords, a lock, the
initial and a weak password, a sync, a declaration) and answers that fail or
carry personal data. Every object the scenario returns or raises is collected,
and every object reachable from those through the library's own classes; an
error of any class (a ``ValueError`` of a parse function, a raw ``sqlite3``
error should one escape) is checked like the library's own.

Then, for every class named in the ``__all__`` of a public module:

* it was built by the scenario, or it is listed in :data:`EXEMPT` with the
  reason it cannot hold personal data;
* the ``repr()`` and ``str()`` of every instance (and, for an exception, its
  ``message``/``message_zh`` and ``args``) hold none of the names, none of the
  identity numbers (18 characters, a legacy 15-digit one and that one's
  18-character form) and none of their birth-date digits, nor the phone number
  or the address.

The failure lists the classes that leak and what they leak.
"""

from __future__ import annotations

import ast
import contextlib
import datetime as _dt
import enum
import importlib
import io
import json
import os
import sqlite3
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import attrs
import pytest
import requests
from gunicorn.config import Config as GunicornConfig
from requests.adapters import BaseAdapter
from requests.structures import CaseInsensitiveDict

import pension_collect
from oracles import id_check_char
from pension_collect import credit_code
from pension_collect._privacy import mask_id, mask_name, scrub_ids, shape, shape_zh
from pension_collect.adapters.http_transport import HttpTransport
from pension_collect.adapters.pdf.fonts import FontSet, choose_font
from pension_collect.adapters.pdf.layout import Layout
from pension_collect.adapters.pdf.paint import ChunkedDocument
from pension_collect.adapters.pdf.styles import PORTRAIT, Column
from pension_collect.adapters.reference_bureau import ReferenceBureau
from pension_collect.dossier import example_dossier_text, from_dict, loads, to_dict
from pension_collect.errors import DossierFormatError
from pension_collect.hookspecs import hookimpl
from pension_collect.identity import IdentityNumber, InvalidIdentityNumber, validate
from pension_collect.model import Dossier, Segment, Worker, YearMonth
from pension_collect.plugins import PluginHost
from pension_collect.ports.commands import CommandRegistry
from pension_collect.ports.forms.payload import payload_for, verify_payload
from pension_collect.ports.forms.registry import RenderOptions
from pension_collect.ports.forms.view import forms_input, summary_rows
from pension_collect.ports.registry import Registry
from pension_collect.ports.storage import RecordKind, Write
from pension_collect.ports.transport import (
    AccountLocked,
    AuthenticationError,
    BadResponse,
    BureauError,
    InvalidCredentials,
    LoginThrottled,
    PasswordChangeRequired,
    ServerError,
    TransportTimeout,
    UnknownDeclaration,
    Unreachable,
    WeakPassword,
    WrongEmployer,
)
from pension_collect.rules import Hit, Rule, Severity, check
from pension_collect.rules import fixes as fx
from pension_collect.rules.engine import Context, DossierView, WorkerView
from pension_collect.rules.stream import check_streamed
from pension_collect.rules.weihai2013 import default_pack, id_legacy
from pension_collect.server.app import ServerConfig, create_app
from pension_collect.server.auth import AuthSettings, AuthStore
from pension_collect.server.runner import BureauServer, JsonErrorWorker, SafeLogger
from pension_collect.testing.transport_contract import ContractBureau, workers_payload
from pension_collect.workflow import CollectionSession, WorkflowError
from pension_collect.workflow import fields as wf
from pension_collect.workflow import overview as ov
from pension_collect.xlsx import read_xlsx, read_xlsx_places, write_xlsx
from workflow_fixtures import Clock

PACKAGE_DIR = Path(pension_collect.__file__).resolve().parent


def _id18(area: str, born: str, seq: str) -> str:
    first17 = area + born + seq
    return first17 + id_check_char(first17)


# -- the personal data planted in the scenario ------------------------------------------------

ID_0 = _id18("371002", "19650302", "135")  # worker 0: male, born 1965-03-02
LEGACY_15 = "371082" + "701115" + "248"  # worker 1: a legacy number, female, 1970-11-15
LEGACY_18 = _id18("371082", "19701115", "248")  # its 18-character form
ID_2 = _id18("371083", "19750620", "357")  # worker 2: male, 1975-06-20
ID_UNKNOWN = _id18("371002", "19800101", "017")  # a person the bureau does not hold

NAME_0, NAME_1, NAME_2 = "欧阳娜娜", "慕容雪", "上官婉儿"
CONTACT, LEGAL = "司马相如", "诸葛孔明"
PHONE = "13905317788"
ADDRESS = "威海市环翠区海滨北路八号"
REMARK_NAME = "公孙策"  # a name inside a clerk's remark

SECRETS: dict[str, str] = {
    "name of worker 0": NAME_0,
    "name of worker 1": NAME_1,
    "name of worker 2": NAME_2,
    "contact": CONTACT,
    "legal representative": LEGAL,
    "name in a remark": REMARK_NAME,
    "phone": PHONE,
    "address": ADDRESS,
    "identity number (18)": ID_0,
    "identity number of worker 2 (18)": ID_2,
    "unknown person's identity number": ID_UNKNOWN,
    "legacy identity number (15)": LEGACY_15,
    "18-character form of the legacy number": LEGACY_18,
    **{
        f"birth-date digits of {number}": number[6:14]
        for number in (ID_0, ID_2, LEGACY_18, ID_UNKNOWN)
    },
}

UNIT_NO = "10012345"
OTHER_UNIT = "20054321"
PASSWORD = "Haibin-North-Road-8!"  # the password the employer sets on the bureau server
WINDOW = "window-token-7c41d2e9b8"  # the bureau server's sandbox window token
BUREAU_URL = "http://bureau.test"
SECRETS.update({"password": PASSWORD, "window token": WINDOW})

#: Public classes never built by the scenario, and why none can hold personal data.
EXEMPT: dict[str, str] = {
    "pension_collect.ports.storage.Storage": "a Protocol: never instantiated",
    "pension_collect.ports.storage.Transaction": "a Protocol: never instantiated",
    "pension_collect.ports.transport.Transport": "a Protocol: never instantiated",
    "pension_collect.adapters.bureau_state.BureauState": "a Protocol: never instantiated",
    "pension_collect.ports.forms.registry.Renderer": "a Protocol: never instantiated",
    "pension_collect.adapters.pdf.paint.Painter": "a Protocol: never instantiated",
    "pension_collect.adapters.pdf.paint.Document": "a Protocol: never instantiated",
    "pension_collect.testing.contract.StorageContract": (
        "a test suite (a class of test methods for a user's own pytest run): holds no data"
    ),
    "pension_collect.testing.contract.SharedStorageContract": (
        "a test suite (a class of test methods for a user's own pytest run): holds no data"
    ),
    "pension_collect.testing.transport_contract.TransportContract": (
        "a test suite (a class of test methods for a user's own pytest run): holds no data"
    ),
    "pension_collect.rules.pack.WorkerFold": "a Protocol: never instantiated",
    "pension_collect.workflow.overview.WorkerFacts": "a Protocol: never instantiated",
}


def _bare(module: str, name: str, *args: Any) -> Callable[[], object]:
    def build() -> object:
        return getattr(importlib.import_module(module), name)(*args)

    return build


_STORE = "/srv/collection.db"


def _raised_by(call: Callable[[], object]) -> BaseException:
    """The exception ``call`` raises (built by the library, as a user meets it)."""
    try:
        call()
    except Exception as exc:
        return exc
    raise AssertionError("it raised nothing")


#: Public classes no step of the scenario builds, built with their natural
#: arguments (none of which is personal data: an error's fixed sentence, a
#: store's path, a parameter's months), so that their repr and str are checked too.
BARE: dict[str, Callable[[], object]] = {
    "pension_collect.errors.PensionCollectError": _bare(
        "pension_collect.errors", "PensionCollectError", "something failed"
    ),
    "pension_collect.errors.PluginError": _bare(
        "pension_collect.errors", "PluginError", "two plugins register the renderer 'x'"
    ),
    "pension_collect.credit_code.InvalidCreditCode": _bare(
        "pension_collect.credit_code", "InvalidCreditCode"
    ),
    "pension_collect.ports.forms.registry.RenderUnavailable": _bare(
        "pension_collect.ports.forms.registry", "RenderUnavailable", "segno"
    ),
    "pension_collect.ports.registry.Registry": _bare("pension_collect.ports.registry", "Registry"),
    "pension_collect.rules.parameters.ParameterError": _bare(
        "pension_collect.rules.parameters", "ParameterError", "no value in force at 1900-01"
    ),
    "pension_collect.rules.parameters.RateBand": _bare(
        "pension_collect.rules.parameters", "RateBand", YearMonth(1993, 1), YearMonth(1996, 3), 0
    ),
    "pension_collect.limits.Limits": _bare("pension_collect.limits", "Limits"),
    "pension_collect.cli.demo.DemoServerFailed": _bare(
        "pension_collect.cli.demo",
        "DemoServerFailed",
        "it did not answer within 30 seconds; its log is /srv/out/bureau.log",
        "30 秒内未响应;日志见 /srv/out/bureau.log",
    ),
    "pension_collect.xlsx._errors.XlsxUnavailable": _bare(
        "pension_collect.xlsx._errors", "XlsxUnavailable"
    ),
    "pension_collect.cli.demo.DemoFolderRefused": _bare(
        "pension_collect.cli.demo", "DemoFolderRefused", "/srv/out", "it holds files", "有文件"
    ),
    "pension_collect.server.proxies.BadProxy": lambda: _raised_by(
        lambda: importlib.import_module("pension_collect.server.proxies").trusted_networks(
            ["proxy.example"]
        )
    ),
    "pension_collect.server.proxies.ClientAddress": lambda: importlib.import_module(
        "pension_collect.server.proxies"
    ).ClientAddress(lambda environ, start: [], ()),
    **{
        f"pension_collect.ports.storage.{name}": _bare(
            "pension_collect.ports.storage", name, _STORE
        )
        for name in ("StoreFailure", "StoreBusy", "StoreFull", "StoreReadOnly")
    },
}

#: Classes the issue names (and their neighbours): the scenario must have put
#: personal data into them, or the test would prove nothing about them.
MUST_HOLD = {
    "Worker",
    "BureauRecord",
    "Employer",
    "Dossier",
    "Segment",
    "IdentityNumber",
    "Finding",
    "Hit",
    "Report",
    "WorkerSummary",
    "WorkerView",
    "DossierView",
    "FormsInput",
    "EmployerLines",
    "PersonLines",
    "HistoryLine",
    "WorkerData",
    "WorkerSheet",
    "SummaryRow",
    "Row",
    "Record",
    "Write",
    "AuditEntry",
    "StoredWorker",
    "StoredDeclaration",
    "SessionState",
    "WindowVisit",
    "Refusal",
    "WorkerOutcome",
    "DeclarationStatus",
    "DeclarationConcluded",
    "WorkerSaved",
    "SyncResult",
    "Person",
    "ReferenceBureau",
    "MemoryStorage",
}


# -- the public classes -------------------------------------------------------------------------


def _public_modules() -> list[str]:
    names = []
    for path in sorted(PACKAGE_DIR.rglob("*.py")):
        parts = list(path.relative_to(PACKAGE_DIR.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        if not any(p.startswith("_") for p in parts):
            names.append(".".join(parts))
    return names


def _all_of(module: Any) -> tuple[str, ...]:
    return tuple(getattr(module, "__all__", ()))


def public_classes() -> dict[str, type]:
    """Every class in the ``__all__`` of a public module, by its defining name."""
    out: dict[str, type] = {}
    for name in _public_modules():
        module = importlib.import_module(name)
        for attr in _all_of(module):
            obj = getattr(module, attr)
            if isinstance(obj, type):
                out[f"{obj.__module__}.{obj.__qualname__}"] = obj
    return out


def _qualified(cls: type) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"


# -- collecting every object the library makes --------------------------------------------------


_LEAVES = (str, bytes, int, float, bool, type(None), _dt.date, _dt.datetime)


def _leaf(obj: object) -> bool:
    """A plain value (a str-valued enumeration member is not one: it is ours)."""
    return type(obj) in _LEAVES or (isinstance(obj, _LEAVES) and not _ours(obj))


def _ours(obj: object) -> bool:
    return type(obj).__module__.startswith("pension_collect")


def _children(obj: object) -> Iterator[object]:
    if isinstance(obj, dict):
        for k, v in obj.items():
            yield k
            yield v
        return
    if isinstance(obj, list | tuple | set | frozenset):
        yield from obj
        return
    if not _ours(obj) and not isinstance(obj, BaseException):
        return
    if isinstance(obj, enum.Enum):
        return
    if attrs.has(type(obj)):
        for field in attrs.fields(type(obj)):
            yield getattr(obj, field.name, None)
    if hasattr(obj, "__dict__"):
        yield from vars(obj).values()
    if isinstance(obj, BaseException):
        yield from obj.args
        yield obj.__cause__
        yield from getattr(obj, "exceptions", ())
    if isinstance(obj, Sequence) and not isinstance(obj, str | bytes | tuple | list):
        yield from list(obj)


def collect(roots: Sequence[object], pool: dict[type, list[object]]) -> None:
    """Every object of the library's classes reachable from ``roots``."""
    seen: set[int] = set()
    stack = list(roots)
    while stack:
        obj = stack.pop()
        if _leaf(obj) or id(obj) in seen:
            continue
        seen.add(id(obj))
        if _ours(obj) or isinstance(obj, BaseException):
            instances = pool[type(obj)]
            if len(instances) < 300:
                instances.append(obj)
        stack.extend(_children(obj))


def holds(obj: object) -> set[str]:
    """The planted secrets reachable from ``obj`` as data (not as text shown)."""
    found: set[str] = set()
    seen: set[int] = set()
    stack: list[object] = [obj]
    while stack:
        item = stack.pop()
        if id(item) in seen:
            continue
        seen.add(id(item))
        if isinstance(item, str):
            found.update(k for k, v in SECRETS.items() if v in item)
            continue
        if _leaf(item):
            continue
        stack.extend(_children(item))
    return found


def shown(obj: object) -> dict[str, str]:
    """Every text an object shows of itself."""
    texts = {"repr": repr(obj), "str": str(obj)}
    if isinstance(obj, BaseException):
        texts["args"] = repr(obj.args)
        for attr in ("message", "message_zh"):
            value = getattr(obj, attr, None)
            if isinstance(value, str):
                texts[attr] = value
    return texts


def leaks(obj: object) -> set[str]:
    """``text kind: secret kind`` for every planted secret an object shows."""
    out = set()
    for where, text in shown(obj).items():
        for kind, secret in SECRETS.items():
            if secret in text:
                out.add(f"{where}: {kind}")
    return out


# -- the scenario -----------------------------------------------------------------------------


def planted_dossier() -> Dossier:
    """The bundled example with the planted personal data."""
    data = json.loads(example_dossier_text())
    data["employer"].update(
        contact=CONTACT, legal_representative=LEGAL, phone=PHONE, address=ADDRESS
    )
    numbers = (ID_0, LEGACY_15, ID_2)
    names = (NAME_0, NAME_1, NAME_2)
    for worker, number, name in zip(data["workers"], numbers, names, strict=True):
        worker.update(id_number=number, name=name)
        worker["bureau"].update(id_number=LEGACY_18 if number == LEGACY_15 else number, name=name)
    data["workers"][0]["history"][0]["remark"] = f"由{REMARK_NAME}代缴"
    return from_dict(data)


class WsgiAdapter(BaseAdapter):
    """A requests adapter handing each request to a WSGI app in this process
    (the bureau server's Flask app: the same code gunicorn serves)."""

    def __init__(self, app: Any) -> None:
        super().__init__()
        self.client = app.test_client()

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:
        url = requests.utils.urlparse(request.url or "")
        answer = self.client.open(
            url.path,
            method=request.method,
            query_string=url.query,
            headers=dict(request.headers),
            data=request.body,
            environ_base={"REMOTE_ADDR": "127.0.0.1"},
        )
        response = requests.Response()
        response.status_code = answer.status_code
        response.headers = CaseInsensitiveDict(dict(answer.headers))
        response._content = answer.get_data()
        response.url = request.url or ""
        response.request = request
        return response

    def close(self) -> None:
        pass


Answer = Callable[[requests.PreparedRequest], requests.Response]


class ScriptedAdapter(BaseAdapter):
    """A requests adapter answering from a list, one answer a request."""

    def __init__(self, answers: list[Answer]) -> None:
        super().__init__()
        self.answers = list(answers)

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:
        return self.answers.pop(0)(request)

    def close(self) -> None:
        pass


def _answering(status: int, kind: str, body: bytes) -> Answer:
    def answer(request: requests.PreparedRequest) -> requests.Response:
        response = requests.Response()
        response.status_code = status
        response.headers = CaseInsensitiveDict({"Content-Type": kind})
        response._content = body
        response.url = request.url or ""
        response.request = request
        return response

    return answer


def _raising(error: Exception) -> Answer:
    def answer(request: requests.PreparedRequest) -> requests.Response:
        raise error

    return answer


_logged_in = _answering(
    200,
    "application/json",
    b'{"token": "t0k3n", "expires_at": "2013-08-20T10:00:00+00:00", "must_change_password": false}',
)


def shifted_workbook(good: Path, target: Path) -> Path:
    """The workbook ``good`` with names and identity numbers typed into the
    first data row's cells that do not take them (every sheet, every column
    but the names)."""
    import openpyxl

    book = openpyxl.load_workbook(good)
    for sheet in book.worksheets:  # row 1: Chinese headers, 2: field names, 3: data
        if sheet.title == "说明" or sheet.max_row < 3:
            continue
        for cell in sheet[3]:
            header = str(sheet.cell(1, cell.column).value or "")
            # A date column's hint gives 1965-03-02 as its example: the birth
            # date planted in worker 0's number, as in the bundled example.
            if not header or cell.value is None or "姓名" in header or "出生" in header:
                continue
            if "身份" in header:
                cell.value = int(ID_0)  # a number that loses its last digits
            elif isinstance(cell.value, int | float):
                cell.value = f"{NAME_0} {LEGACY_15}"
            elif sheet.title == "单位":
                cell.value = NAME_0 + ID_0
            else:
                cell.value = float(ID_0)
    book.save(target)
    return target


class Recorder:
    def __init__(self) -> None:
        self.events: list[object] = []

    @hookimpl
    def pension_collect_worker_saved(self, event: object) -> None:
        self.events.append(event)

    @hookimpl
    def pension_collect_declaration_submitted(self, event: object) -> None:
        self.events.append(event)

    @hookimpl
    def pension_collect_declaration_concluded(self, event: object) -> None:
        self.events.append(event)


class Scenario:
    """Runs the library over the planted dossier, keeping what it returns and raises."""

    def __init__(self) -> None:
        self.kept: list[object] = []

    def keep(self, *objs: object) -> None:
        self.kept.extend(objs)

    def raises(self, call: Callable[..., Any], *args: Any, **kwargs: Any) -> BaseException:
        """Call something that must fail; keep the error (and anything it returned)."""
        try:
            result = call(*args, **kwargs)
        except Exception as exc:
            self.keep(exc)
            return exc
        self.keep(result)
        raise AssertionError(f"{getattr(call, '__name__', call)} did not raise")

    def attempt(self, call: Callable[..., Any], *args: Any, **kwargs: Any) -> None:
        """Call something that may fail (a path another part of the library
        decides); keep what it returns or raises."""
        try:
            self.keep(call(*args, **kwargs))
        except Exception as exc:
            self.keep(exc)

    def run(self, tmp: Path) -> list[object]:
        dossier = planted_dossier()
        pack = default_pack()
        self.keep(dossier, pack, IdentityNumber.parse(ID_0), IdentityNumber.parse(LEGACY_15))
        self.reading()
        self.rules(dossier, pack)
        self.forms(dossier, pack)
        self.workflow(dossier, tmp)
        self.streamed(dossier, pack)
        self.xlsx(tmp)
        self.http(tmp)
        self.http_failures()
        return self.kept

    def streamed(self, dossier: Dossier, pack: Any) -> None:
        """The streaming check: its report keeps the workers with findings."""
        with check_streamed(dossier, dossier.workers, pack, today=_dt.date(2013, 8, 20)) as report:
            self.keep(report, report.names)

    def xlsx(self, tmp: Path) -> None:
        """A workbook of the planted dossier, read back, then with personal data
        typed into cells that do not take it, and a file that is no workbook."""
        good = tmp / "roster.xlsx"
        write_xlsx(planted_dossier(), good)
        self.keep(read_xlsx(good))
        places = read_xlsx_places(good)[1]
        self.keep(places, places.place("$.workers[0].name"), places.place("$.workers[0]"))
        self.raises(read_xlsx, shifted_workbook(good, tmp / "shifted.xlsx"))
        (tmp / "notes.xlsx").write_text(f"{NAME_0} {ID_0} {PHONE}", encoding="utf-8")
        self.attempt(read_xlsx, tmp / "notes.xlsx")

    def http(self, tmp: Path) -> None:
        """The bureau server (in this process, through a requests adapter calling
        its WSGI app) and the HTTP transport: wrong passwords, a lock, the
        initial password, a weak one, a sync and a declaration."""
        data = tmp / "served"
        with ReferenceBureau.open(data) as seeding:
            seeding.seed_dossier(planted_dossier())
        accounts = AuthStore(data / "bureau.db", AuthSettings(address_limit=8))
        initial = accounts.set_initial_password(UNIT_NO)
        accounts.set_initial_password(OTHER_UNIT)
        self.raises(accounts.login, UNIT_NO, f"{NAME_0}{ID_0}", address="10.0.0.9")
        grant = accounts.login(UNIT_NO, initial, address="10.0.0.9")
        # Credentials made only now are checked like the planted data.
        SECRETS.update({"initial password": initial, "token": grant.token})
        self.keep(accounts, grant, accounts.authenticate(grant.token))
        accounts.revoke(accounts.authenticate(grant.token))
        self.raises(accounts.authenticate, grant.token)
        accounts.close()
        config = ServerConfig(
            data_dir=data, auth=AuthSettings(address_limit=8), sandbox=True, window_token=WINDOW
        )
        app = create_app(config)
        server = BureauServer(config, port=0)  # built, not run: the app is called below
        gunicorn_config = GunicornConfig()
        log = SafeLogger(gunicorn_config)
        worker = JsonErrorWorker(0, os.getpid(), [], server, 30, gunicorn_config, log)
        worker.tmp.close()
        self.keep(config, server, log, worker)

        def connect(unit_no: str, password: str) -> HttpTransport:
            t = HttpTransport(BUREAU_URL, unit_no=unit_no, password=password, retries=0)
            t._session.mount(BUREAU_URL, WsgiAdapter(app))
            self.keep(t)
            return t

        wrong = connect(UNIT_NO, f"{NAME_0}{ID_0}")
        assert isinstance(self.raises(wrong.sync, UNIT_NO), InvalidCredentials)
        locking = connect(OTHER_UNIT, f"{NAME_1}{LEGACY_15}")
        refusals = [type(self.raises(locking.login)) for _ in range(5)]
        assert refusals == [InvalidCredentials] * 4 + [AccountLocked]
        fresh = connect(UNIT_NO, initial)  # keeps the initial password
        assert isinstance(self.raises(fresh.sync, UNIT_NO), PasswordChangeRequired)
        transport = connect(UNIT_NO, initial)
        weak = self.raises(transport.change_password, initial, "123456")
        assert isinstance(weak, WeakPassword)
        transport.change_password(initial, PASSWORD)
        self.keep(transport.sync(UNIT_NO))
        assert isinstance(self.raises(transport.sync, OTHER_UNIT), WrongEmployer)
        unknown = self.raises(transport.status, "no-such-declaration", unit_no=UNIT_NO)
        assert isinstance(unknown, UnknownDeclaration)
        workers = planted_dossier().workers
        declaration = transport.submit(
            UNIT_NO, "workers", workers_payload(workers), idempotency_key="privacy-1"
        )
        self.keep(declaration, transport.status(declaration.id, unit_no=UNIT_NO))
        self.keep(transport.pending_declarations(UNIT_NO))
        # the same key with another body (the workers in another order): refused
        self.raises(
            transport.submit,
            UNIT_NO,
            "workers",
            workers_payload(workers[::-1]),
            idempotency_key="privacy-1",
        )
        slowed: list[type] = []  # failed logins from one address until it is slowed down
        while LoginThrottled not in slowed and len(slowed) < 8:
            slowed.append(type(self.raises(wrong.login)))
        assert slowed[-1] is LoginThrottled
        assert set(slowed[:-1]) <= {InvalidCredentials}
        self.server_answers(app, transport._token or "")
        transport.logout()
        transport.close()

    def server_answers(self, app: Any, token: str) -> None:
        """Requests with personal data where the server refuses it: no answer
        (each an ApiError's body) quotes it back."""
        client = app.test_client()
        bearer = {"Authorization": f"Bearer {token}"}
        employer = f"/api/v1/employers/{UNIT_NO}"
        sent = [
            ("POST", "/api/v1/session", {}, f'{{"unit_no": "{ID_0}", "password": "{NAME_0}'),
            ("POST", "/api/v1/session", {}, json.dumps({"unit_no": NAME_0, "password": ID_0})),
            ("POST", "/api/v1/session", {}, json.dumps({"unit_no": [NAME_0], "password": 1})),
            ("GET", f"/api/v1/employers/{ID_0}/sync", bearer, None),
            ("GET", f"{employer}/sync?page_size={ID_0}", bearer, None),
            ("GET", f"{employer}/sync?cursor={NAME_0}{ID_0}", bearer, None),
            ("GET", f"{employer}/declarations?state={NAME_0}", bearer, None),
            ("GET", f"{employer}/declarations/{ID_0}", bearer, None),
            ("GET", f"/api/v1/{NAME_0}/{ID_0}", bearer, None),
            ("POST", f"{employer}/declarations", bearer, json.dumps({"kind": NAME_0})),
            ("POST", f"{employer}/declarations", {**bearer, "Idempotency-Key": ID_0}, "{"),
            (
                "POST",
                f"{employer}/declarations",
                {**bearer, "Idempotency-Key": "k-2"},
                json.dumps({"kind": ID_0, "payload": {"name": NAME_0}, "linked_to": LEGACY_15}),
            ),
            ("POST", "/api/v1/password", bearer, json.dumps({"old_password": NAME_0})),
            (
                "POST",
                "/api/v1/password",
                bearer,
                json.dumps({"old_password": ID_0, "new_password": NAME_0 + ID_0}),
            ),
            ("GET", f"{employer}/sync", {"Authorization": f"Bearer {ID_0}"}, None),
            (
                "POST",
                f"/api/v1/sandbox/persons/{ID_0}/correct-identity",
                {"X-Window-Token": NAME_0},
                json.dumps({"id_number": ID_2, "name": NAME_2}),
            ),
        ]
        statuses = []
        for method, path, headers, body in sent:
            answer = client.open(
                path,
                method=method,
                headers=headers,
                data=body,
                content_type="application/json",
                environ_base={"REMOTE_ADDR": "10.0.0.7"},
            )
            text = answer.get_data(as_text=True)
            quoted = [kind for kind, secret in SECRETS.items() if secret in text]
            assert not quoted, (method, path, quoted, text)
            statuses.append(answer.status_code)
        assert all(400 <= status < 500 for status in statuses), statuses

    def http_failures(self) -> None:
        """A bureau that cannot be reached, is too slow, fails, or answers
        something else, with personal data in what it answers."""
        body = json.dumps({"name": NAME_0, "id_number": ID_0}, ensure_ascii=False).encode()
        refusal = {
            "error": {
                "code": "bureau.refused",
                "message": f"the person {ID_0} is declared by another employer",
                "message_zh": f"身份证号 {LEGACY_15} 已由其他单位申报",
            }
        }
        other = {"error": {"code": "auth.unknown-reason", "message": f"{NAME_2} {ID_2}"}}
        answers: list[Answer] = [
            _raising(requests.exceptions.ConnectionError(f"refused: {ID_0}")),
            _raising(requests.exceptions.ReadTimeout(f"read timed out ({NAME_0})")),
            _answering(500, "text/html", body),
            _answering(200, f"text/html; name={ID_0}", body),
            _answering(200, "application/json", body[:-2]),
            _answering(400, "application/json", json.dumps(refusal).encode()),
            _answering(403, "application/json", json.dumps(other).encode()),
            _answering(429, "application/json", json.dumps(refusal).encode()),
            _answering(404, "text/html", f"<p>{NAME_2} {ID_2}</p>".encode()),
        ]
        raised = []
        for answer in answers:
            t = HttpTransport(BUREAU_URL, unit_no=UNIT_NO, password=PASSWORD, retries=0)
            t._session.mount(BUREAU_URL, ScriptedAdapter([_logged_in, answer]))
            raised.append(self.raises(t.sync, UNIT_NO))
        assert [type(e) for e in raised] == [
            Unreachable,
            TransportTimeout,
            ServerError,
            BadResponse,
            BadResponse,
            BureauError,
            AuthenticationError,
            ServerError,
            BadResponse,
        ]
        # The bureau's own words are still quoted, its identity numbers masked.
        assert mask_id(ID_0) in str(raised[5])
        assert mask_id(LEGACY_15) in str(raised[5])

    def reading(self) -> None:
        data = to_dict(planted_dossier())
        worker = data["workers"][0]
        # A shifted spreadsheet column: names and numbers in every kind of field.
        worker.update(first_work=NAME_0, gender=ID_0, hukou=LEGACY_15, birth_date=LEGACY_18)
        worker["history"][0].update(start=ID_0, end=int(ID_0), total=int(ID_0), rate=ID_0)
        worker["history"][0].update(source=NAME_0, category=float(ID_0), base=ID_0)
        worker["account"][0].update(months=float(ID_0), year=ID_0, balance=NAME_0)
        data["employer"].update(unit_no=int(ID_0), phone=int(PHONE))
        self.raises(loads, json.dumps(data, ensure_ascii=False), source="upload.json")
        self.raises(Worker, id_number=ID_0, name=NAME_0, first_work=ID_0)
        self.raises(Worker, id_number=ID_0, name=NAME_0, first_work=int(ID_0))
        self.raises(Segment, start="1990-01", end=LEGACY_15, total=float(ID_0))
        self.raises(YearMonth.parse, ID_0)
        for bad in (ID_0[:-1], ID_0[:-1] + ("0" if ID_0[-1] != "0" else "1"), LEGACY_15 + "1"):
            self.raises(validate, bad)
        month_13 = ID_0[:10] + "13" + ID_0[12:17]
        self.raises(validate, month_13 + id_check_char(month_13))
        self.keep(InvalidIdentityNumber())
        self.raises(credit_code.validate, ID_0)
        self.raises(credit_code.validate, LEGACY_15)
        self.raises(credit_code.validate, "91371000MA3C0EXA3" + "4")

    def rules(self, dossier: Dossier, pack: Any) -> None:
        report = check(dossier, pack)
        assert report.codes() == {"person.id-legacy"}
        # A plugin's rule that puts the identity number in expected and fix.
        echo = Rule(
            code="test.echo",
            severity=Severity.WARNING,
            message="the number is expected as given",
            message_zh="号码应照填",
            check=lambda view: [
                Hit(
                    path=view.path,
                    expected=view.worker.id_number,
                    fix={"id_number": view.worker.id_number},
                    params={"id": view.worker.id_number},
                )
            ],
        )
        context = Context(pack=pack, as_of=YearMonth(2013, 8), today=_dt.date(2013, 8, 20))
        views = [WorkerView(w, i, context) for i, w in enumerate(dossier.workers)]
        self.keep(echo, check(dossier, pack.with_rules([echo])), *echo.check(views[0]))
        self.keep(report, context, DossierView(dossier, context, views), *id_legacy(views[1]))
        self.keep([v.placements for v in views])

    def forms(self, dossier: Dossier, pack: Any) -> None:
        forms = forms_input(dossier, pack=pack, declaration_ref="D000002")
        sheets = list(forms.workers)
        rows, totals = summary_rows(forms)
        payload = payload_for(forms, sheets[0])
        self.keep(forms, sheets, rows, totals, payload, RenderOptions())
        self.keep(verify_payload(payload, dossier, pack=pack, declaration_ref="D000002"))
        host = PluginHost(load_entry_points=False)
        for form in ("verification", "confirmation", "summary"):
            self.keep(host.renderer(form), host.renderer(form).render(forms, io.BytesIO()))
        nobody = forms_input(dossier, pack=pack, select=[])
        self.raises(host.renderer("verification").render, nobody, io.BytesIO())
        fonts = FontSet(choose_font())
        layout = Layout(fonts, PORTRAIT)
        columns = [Column("name", 40.0), Column("id", 90.0)]
        self.keep(layout, columns, layout.row(columns, [NAME_0, ID_0]))
        self.keep(layout.fit(NAME_0 * 40, 40.0, 13.0, 9.0))  # a Fitted: its lines stay out
        doc = ChunkedDocument(io.BytesIO(), fonts, pagesize=PORTRAIT.page, title=NAME_0)
        painter = doc.page()
        painter.text(50, 700, f"{NAME_0} {ID_0}", 10)
        self.keep(doc, painter)
        doc.end_page()
        doc.close()

    def overview(self, session: CollectionSession, dossier: Dossier) -> None:
        """What a front end shows: the next step, the dashboard, the worker
        list (bad page too), a draft and the bureau's record."""
        self.keep(ov.next_step(session), ov.steps(session), ov.worker_page(session))
        self.keep(ov.dashboard(session), ov.bureau_employer(session))
        ov.save_draft(session, attrs.evolve(dossier.workers[1], account=None))
        self.keep(ov.draft(session, LEGACY_18), ov.bureau_person(session, ID_0))
        self.raises(ov.worker_page, session, limit=0)
        self.editor(dossier)

    def editor(self, dossier: Dossier) -> None:
        """What a worker editor shows: the fields, the read-only ones, a fix's
        preview, a fix refused; and a plugin command looked up in vain."""
        report = check(dossier, default_pack())
        fixable = [f for f in report.findings if fx.fixable(f)]
        assert fixable, "the planted dossier has a finding with a suggested fix"
        for finding in fixable:
            index = int(finding.path.split("[", 1)[1].split("]", 1)[0])
            self.keep(fx.fix_preview(dossier.workers[index], finding))
        no_fix = attrs.evolve(fixable[0], expected=None, fix=None)
        self.raises(fx.apply_fix, dossier.workers[0], no_fix)
        moved = attrs.evolve(fixable[0], path="$.workers[0].history[99].start")
        self.raises(fx.apply_fix, dossier.workers[0], moved)
        for worker in dossier.workers:
            self.keep(wf.worker_fields(worker), wf.window_only_fields(worker, worker.bureau))
        self.keep(wf.editor_sections())
        registry = CommandRegistry()
        registry.freeze()
        self.keep(registry)
        self.raises(registry.get, "nothing-by-this-name")

    def workflow(self, dossier: Dossier, tmp: Path) -> None:
        recorder = Recorder()
        clock = Clock()
        host = PluginHost(load_entry_points=False, plugins=[recorder])
        bureau = ReferenceBureau(clock=clock, as_of=dossier.as_of)
        self.keep(bureau, bureau.seed_dossier(dossier), recorder.events)
        storage = host.open_storage(f"sqlite://{(tmp / 'collection.db').resolve()}")
        memory = host.open_storage("memory:")
        transport = host.open_transport("local:", bureau=bureau)
        session = CollectionSession(
            storage,
            transport,
            unit_no=UNIT_NO,
            actor="clerk-1",
            host=host,
            as_of=dossier.as_of,
            clock=clock,
        )
        self.keep(session, storage, memory, transport, host)
        self.keep(ContractBureau(transport=transport, other=transport, advance=bureau.tick))
        keys = [CollectionSession.key_of(w) for w in dossier.workers]
        assert keys == [ID_0, LEGACY_18, ID_2]

        self.raises(session.worker, ID_0)  # not started
        session.start()
        self.keep(session.sync())
        session.collect_employer(dossier.employer)
        employer_decl = session.submit_employer_declaration()
        bureau.settle()
        self.keep(session.refresh(employer_decl.key))
        self.raises(session.refresh, ID_0)  # a key that names no declaration
        self.raises(session.worker, ID_0)  # not collected yet
        self.raises(session.print_verification_forms, [ID_UNKNOWN], out_dir=tmp)
        self.keep(session.print_verification_forms(keys, out_dir=tmp))
        session.record_window_visit(ID_0, note=f"{NAME_0} corrected at the window")
        self.keep(session.state())
        self.raises(session.save_worker, dossier.workers[0])  # sync first
        session.sync()
        self.keep(session.print_verification_forms(keys, out_dir=tmp))
        self.overview(session, dossier)

        w0, w1, w2 = dossier.workers
        self.raises(session.save_worker, attrs.evolve(w0, gender="female"))  # rule errors
        self.raises(session.save_worker, attrs.evolve(w0, name=NAME_0 + "子"))  # window only
        unknown = attrs.evolve(w2, id_number=ID_UNKNOWN, person_no=None, bureau=None)
        wrong_check = ID_2[:-1] + ("0" if ID_2[-1] != "0" else "1")
        broken = attrs.evolve(w2, id_number=wrong_check)
        self.keep(session.save_workers([w0, w1, broken, unknown]))
        cancel = lambda done, total: False  # noqa: E731
        self.raises(session.save_workers, [w2, unknown], progress=cancel)  # w2 is saved
        self.keep(session.print_confirmation_forms(out_dir=tmp))
        self.keep(session.print_summary_sheet(out_dir=tmp))
        session.record_received(keys)
        declaration = session.submit_declaration()
        self.keep(declaration)
        self.raises(session.submit_declaration)
        bureau.settle()
        self.keep(session.refresh(declaration.key))
        self.raises(session.save_worker, w0)  # accepted: locked
        self.keep(session.state(), session.workers(), session.declarations(), session.audit())
        self.keep(session.audit(worker=ID_0))
        self.keep(ov.next_step(session), ov.worker_page(session, search=NAME_0))

        # The bureau answers only the employer a declaration belongs to.
        assert declaration.bureau_id is not None
        self.keep(transport.status(declaration.bureau_id, unit_no=UNIT_NO))
        self.raises(bureau.status, declaration.bureau_id, unit_no="99999999")
        self.keep(bureau.declarations(UNIT_NO), bureau.person_by_id(ID_0))
        self.sqlite_bureau(dossier, clock, tmp)

        # The store itself: records, a batch write, a stale version, damage.
        with storage.transaction() as tx:
            rec = tx.get(RecordKind.WORKER, UNIT_NO, ID_0)
            assert rec is not None
            self.keep(tx, rec, Write(ID_0, rec.data, rec.version))
            self.keep(tx.list(RecordKind.SYNCED, UNIT_NO))
            self.raises(tx.put, RecordKind.WORKER, UNIT_NO, ID_0, rec.data, expected_version=99)
        with storage.transaction() as tx:
            damaged = {**rec.data, "worker": {**rec.data["worker"], "first_work": NAME_0}}
            tx.put(RecordKind.WORKER, UNIT_NO, ID_0, damaged, expected_version=rec.version)
        self.raises(session.worker, ID_0)
        with memory.transaction() as tx:
            tx.put(RecordKind.WORKER, UNIT_NO, LEGACY_18, {"name": NAME_1}, expected_version=0)
            self.keep(tx, tx.list(RecordKind.WORKER, UNIT_NO))
            self.raises(memory.transaction().__enter__)  # transactions do not nest

        # Storage, transport and plugin errors on the way in.
        self.raises(host.open_storage, "nosuchscheme:" + ID_0)
        self.raises(host.open_transport, "nosuchscheme:")
        self.raises(host.renderer, "nosuchform")
        self.raises(host.rule_pack, "nosuchpack")
        self.raises(bureau.submit, "99999999", "workers", {}, idempotency_key="k")
        self.raises(host.open_storage, "not a store URL")
        self.raises(host.open_transport, "not a bureau URL")
        self.raises(Registry().get, "nothing-by-this-name")
        with sqlite3.connect(tmp / "collection.db") as raw:
            raw.execute("PRAGMA user_version = 999")
        self.raises(host.open_storage, f"sqlite://{(tmp / 'collection.db').resolve()}")
        session.close()
        self.raises(session.state)
        self.failing_stores(host, tmp)

    def sqlite_bureau(self, dossier: Dossier, clock: Clock, tmp: Path) -> None:
        """The reference bureau with its state in a SQLite file, and files it refuses."""
        with ReferenceBureau.open(tmp / "bureau", clock=clock, as_of=dossier.as_of) as kept:
            self.keep(kept, kept.state, kept.seed_dossier(dossier), kept.person_by_id(ID_0))
            worker = to_dict(dossier)["workers"][0]
            d = kept.submit(
                UNIT_NO,
                "workers",
                {"workers": [{"key": ID_0, "worker": worker}]},
                idempotency_key="k",
            )
            self.keep(d, kept.status(d.id), kept.status(d.id), kept.declarations(UNIT_NO))
            self.keep(list(kept.persons.values()), kept.sync(UNIT_NO))
            held = kept.person_by_id(ID_0)
            assert held is not None
            # a second person with a held identity number: refused, naming it masked
            self.raises(kept.add_person, held.record, unit_no=UNIT_NO, person_no="37100299999")
        self.raises(kept.sync, UNIT_NO)  # closed
        (tmp / "foreign").mkdir()
        (tmp / "foreign" / "bureau.db").write_bytes((tmp / "collection.db").read_bytes())
        self.raises(ReferenceBureau.open, tmp / "foreign")

    def failing_stores(self, host: PluginHost, tmp: Path) -> None:
        """Stores that fail: each error is kept, whatever the adapter raises."""
        db = tmp / "failing.db"
        store = host.open_storage(f"sqlite://{db}")
        session = CollectionSession(store, host.open_transport("local:"), unit_no=UNIT_NO)
        self.attempt(session.start)
        worker = planted_dossier().workers[0]
        with store.transaction() as tx:
            data = {"worker": {"id_number": ID_0, "name": NAME_0 + "\ud800"}}
            self.attempt(tx.put, RecordKind.WORKER, UNIT_NO, ID_0, data, expected_version=0)
        with store.transaction() as tx:
            data = {"worker": {"id_number": ID_0, "name": NAME_0}, "status": "collected"}
            tx.put(RecordKind.WORKER, UNIT_NO, ID_0, data, expected_version=0)
        self.attempt(tx.get, RecordKind.WORKER, UNIT_NO, ID_0)  # after the transaction
        with sqlite3.connect(db) as raw:
            damaged = json.dumps({"worker": {"id_number": ID_0, "name": NAME_0}}).encode()
            raw.execute("UPDATE records SET data = CAST(? AS TEXT)", (damaged[:-3] + b"\xff}}",))
            triggers = raw.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'")
            for (trigger,) in triggers.fetchall():  # another program's damage
                raw.execute(f'DROP TRIGGER "{trigger}"')
            raw.execute("UPDATE audit SET after = ?", ('{"name": "' + NAME_0,))
        self.attempt(session.worker, ID_0)
        self.attempt(session.workers)
        self.attempt(session.audit)
        self.attempt(session.save_worker, attrs.evolve(worker, name=NAME_0 + "\ud800"))
        store.close()
        self.attempt(store.transaction().__enter__)
        (tmp / "notes.db").write_text(f"{NAME_0} {ID_0}\n", encoding="utf-8")
        self.attempt(host.open_storage, f"sqlite://{tmp / 'notes.db'}")
        (tmp / "half.db").write_bytes(db.read_bytes()[:1500])
        self.attempt(host.open_storage, f"sqlite://{tmp / 'half.db'}")
        (tmp / "a-folder.db").mkdir()
        self.attempt(host.open_storage, f"sqlite://{tmp / 'a-folder.db'}")


@pytest.fixture(scope="module")
def pool(tmp_path_factory: pytest.TempPathFactory) -> dict[type, list[object]]:
    kept = Scenario().run(tmp_path_factory.mktemp("privacy"))
    found: dict[type, list[object]] = defaultdict(list)
    classes = public_classes()
    collect([build() for name, build in BARE.items() if name in classes], found)
    collect(kept, found)
    # Every workflow error, raised with the keys of workers and data in its details.
    for cls in classes.values():
        if issubclass(cls, WorkflowError) and cls not in found:
            found[cls].append(
                cls(keys=[ID_0, LEGACY_15, LEGACY_18], details={"worker": NAME_0, "id": ID_0})
            )
    return found


# -- the tests --------------------------------------------------------------------------------


def test_every_public_class_is_built_or_exempt(pool: dict[type, list[object]]) -> None:
    """Each public class was built by the scenario, or is exempt for a reason."""
    built = {_qualified(c) for c in pool}
    missing = sorted(n for n in public_classes() if n not in built and n not in EXEMPT)
    assert not missing, "public classes neither built by the scenario nor exempt: " + ", ".join(
        missing
    )
    stale = sorted(n for n in EXEMPT if n not in public_classes() or n in built)
    assert not stale, f"exemptions no longer needed: {stale}"


def test_the_scenario_planted_personal_data(pool: dict[type, list[object]]) -> None:
    """The classes that hold personal data were built holding it (else the
    grep below would prove nothing about them)."""
    holding = {cls.__name__ for cls, objs in pool.items() if any(holds(o) for o in objs)}
    assert holding >= MUST_HOLD, f"built without personal data: {sorted(MUST_HOLD - holding)}"
    every = set().union(*(holds(o) for objs in pool.values() for o in objs))
    assert every == set(SECRETS), f"never planted: {sorted(set(SECRETS) - every)}"


def test_no_public_class_shows_personal_data(pool: dict[type, list[object]]) -> None:
    """repr() and str() (and an error's message, message_zh and args) of every
    instance hold no name, identity number, phone or address."""
    leaking: dict[str, set[str]] = {}
    for cls, objs in pool.items():
        found = set().union(*(leaks(o) for o in objs))
        if found:
            leaking[_qualified(cls)] = found
    report = "\n".join(f"  {name}: {', '.join(sorted(what))}" for name, what in leaking.items())
    assert not leaking, f"classes that show personal data:\n{report}"


def test_every_exception_class_was_raised_or_built(pool: dict[type, list[object]]) -> None:
    """The library's error classes are all among the objects checked."""
    errors = {n for n, c in public_classes().items() if issubclass(c, BaseException)}
    built = {_qualified(c) for c in pool}
    assert errors <= built, f"errors never raised nor built: {sorted(errors - built)}"


# -- the reader quotes no value back ---------------------------------------------------------


def _leaf_paths(data: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    """Every leaf of the first item of each list (one field of each kind)."""
    if isinstance(data, dict):
        for key, value in data.items():
            yield from _leaf_paths(value, (*path, key))
    elif isinstance(data, list):
        if data:
            yield from _leaf_paths(data[0], (*path, 0))
    else:
        yield path


def _set(data: Any, path: tuple[Any, ...], value: Any) -> None:
    for step in path[:-1]:
        data = data[step]
    data[path[-1]] = value


_EXAMPLE = json.loads(example_dossier_text())
_FIELDS = [
    p
    for p in _leaf_paths({"employer": _EXAMPLE["employer"], "workers": _EXAMPLE["workers"][:1]})
    if p[-1] not in ("id_number", "name")
]


@pytest.mark.parametrize("path", _FIELDS, ids=lambda p: ".".join(map(str, p)))
def test_a_shifted_column_is_not_echoed(path: tuple[Any, ...]) -> None:
    """A name or an identity number (as text or as a spreadsheet number) in any
    field is never quoted back by the reader's problems: at most its shape."""
    for value in (NAME_0, ID_0, LEGACY_15, int(ID_0), float(ID_0), int(PHONE)):
        data = json.loads(example_dossier_text())
        _set(data, path, value)
        try:
            from_dict(data)
        except DossierFormatError as error:
            texts = [str(error), repr(error)] + [p.message_zh for p in error.problems]
            text = "\n".join(texts)
            for secret in (NAME_0, ID_0, LEGACY_15, PHONE, ID_0[6:14], repr(float(ID_0))[:8]):
                assert secret not in text, (path, value)
            # Still useful: says what was found by its shape where it says anything.
            if isinstance(value, str) and value.isdigit() and "18 digits" in text:
                assert len(value) == 18


def test_the_shape_says_what_kind_of_value_was_found() -> None:
    """A month holding an identity number says it found a text of 18 digits."""
    data = json.loads(example_dossier_text())
    data["workers"][0]["first_work"] = ID_0
    data["workers"][0]["history"][0]["total"] = int(ID_0)
    with pytest.raises(DossierFormatError) as info:
        from_dict(data)
    messages = {p.path: p.message for p in info.value.problems}
    assert "a text of 18 digits" in messages["$.workers[0].first_work"]
    assert "a whole number of 18 digits" in messages["$.workers[0].history[0].total"]


# -- the helper itself ------------------------------------------------------------------------


def test_the_helper_masks_and_describes() -> None:
    """Names keep one character, numbers are masked, values are described by shape."""
    assert (mask_name(NAME_0), mask_name(" 王伟"), mask_name(""), mask_name(None)) == (
        "欧*",
        "王*",
        "",
        None,
    )
    assert mask_id(ID_0) == ID_0[:6] + "*" * 8 + ID_0[-4:]
    assert mask_id(None) is None
    assert mask_id(int(ID_0)) == ""
    text = f"keys {ID_0}, {LEGACY_15} and 1{ID_0}; phone {PHONE}"
    assert (
        scrub_ids(text)
        == f"keys {ID_0[:6]}{'*' * 8}{ID_0[-4:]}, {LEGACY_15[:6]}******{LEGACY_15[-3:]} "
        f"and 1{ID_0}; phone {PHONE}"
    )
    assert (shape(ID_0), shape(int(ID_0)), shape(float(ID_0)), shape(NAME_0)) == (
        "a text of 18 digits",
        "a whole number of 18 digits",
        "a decimal number",
        "a text of 4 characters",
    )
    assert shape(10**5000) == "a whole number of 5001 digits"
    assert (shape_zh(ID_0), shape_zh(int(ID_0)), shape_zh(NAME_0)) == (
        "18 位数字的文本",
        "18 位整数",
        "4 个字符的文本",
    )


# -- the policy is written down where the test says ------------------------------------------


def test_the_policy_page_names_every_rule() -> None:
    """docs/privacy.md states each part of the policy this test enforces."""
    text = (PACKAGE_DIR.parents[1] / "docs" / "privacy.md").read_text(encoding="utf-8")
    for phrase in ("pension_collect.identity.mask", "first character", "shape", "credential"):
        assert phrase in text


def test_the_helper_is_in_the_base_layer() -> None:
    """The one helper lives in the base layer of docs/architecture.md."""
    text = (PACKAGE_DIR.parents[1] / "docs" / "architecture.md").read_text(encoding="utf-8")
    base = next(line for line in text.splitlines() if line.startswith("base:"))
    assert "pension_collect._privacy" in base.split("|")[0]
    tree = ast.parse((PACKAGE_DIR / "_privacy.py").read_text(encoding="utf-8"))
    imported = {
        node.module
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and node.module is not None
    }
    assert imported <= {"__future__", "collections.abc", "typing", "identity"}


# -- the collection commands print no personal data --------------------------------------------


def test_the_collection_commands_show_no_personal_data(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The procedure through the commands (docs/cli.md) on the planted dossier,
    refusals and a workbook with personal data in the wrong cells included:
    what they print (text and JSON) holds no name, identity number, phone or
    address: workers are shown by their person number and masked key. (The
    JSON of ``audit`` is left out: its ``before``/``after`` are the record's
    data, documented as personal data in docs/cli.md.)"""
    from pension_collect.cli import main

    monkeypatch.chdir(tmp_path)
    for name in ("STORE", "BUREAU", "UNIT", "PASSWORD", "NEW_PASSWORD", "ACTOR", "AS_OF"):
        monkeypatch.delenv(f"PENSION_COLLECT_{name}", raising=False)
        monkeypatch.delenv(f"PENSION_COLLECT_BUREAU_{name}", raising=False)
    dossier = planted_dossier()
    (tmp_path / "planted.json").write_text(
        json.dumps(to_dict(dossier), ensure_ascii=False), encoding="utf-8"
    )
    other = attrs.evolve(dossier, employer=attrs.evolve(dossier.employer, unit_no="99999999"))
    (tmp_path / "other.json").write_text(
        json.dumps(to_dict(other), ensure_ascii=False), encoding="utf-8"
    )
    (tmp_path / "notes.json").write_text(f"{NAME_0} {ID_0} {ADDRESS}\n", encoding="utf-8")
    write_xlsx(dossier, tmp_path / "roster.xlsx")
    shifted_workbook(tmp_path / "roster.xlsx", tmp_path / "shifted.xlsx")
    with ReferenceBureau.open(tmp_path / "bureau", as_of=dossier.as_of) as bureau:
        bureau.seed_dossier(dossier)
    common = ["--store", "sqlite://" + str(tmp_path / "c.db"), "--bureau"]
    common += ["local:" + str(tmp_path / "bureau"), "--unit", UNIT_NO, "--actor", "clerk-1"]
    steps = [
        ["start"],
        ["sync"],
        ["employer", "planted.json"],
        ["collect", "planted.json"],  # refused: no verification form yet
        ["print", "verification", "--out", "forms"],
        ["collect", "shifted.xlsx"],
        ["collect", "notes.json"],
        ["collect", "other.json"],
        ["collect", "planted.json"],
        ["collect", "planted.json", "--format", "json"],
        ["print", "confirmation", "--out", "forms"],
        ["receive", "--all"],
        ["submit"],
        ["follow", "--timeout", "5", "--interval", "0.1"],
        ["status"],
        ["status", "--format", "json"],
        ["audit", ID_0],
        ["recollect"],
    ]
    shown_by: dict[str, list[str]] = {}
    statuses = []
    for step in steps:
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            statuses.append(main([*step, *common]))
        text = out.getvalue() + err.getvalue()
        found = [kind for kind, secret in SECRETS.items() if secret in text]
        if found:
            shown_by[" ".join(step)] = found
    assert not shown_by, f"commands that print personal data: {shown_by}"
    # The refusals were met (else the check above proves little about them).
    refused = [" ".join(step) for step, status in zip(steps, statuses, strict=True) if status]
    assert refused == [
        "collect planted.json",
        "collect shifted.xlsx",
        "collect notes.json",
        "collect other.json",
    ]
