"""The collection commands through the real console script: their JSON
schemas, and bad input — a missing store, a wrong step order, an unknown
worker, an incomplete worker, an unreadable dossier, a missing password — as
one clear line (English and Chinese) and the documented exit status
(docs/cli.md "The collection commands")."""

from __future__ import annotations

import fcntl
import json
import os
import pty
import re
import signal
import socket
import struct
import subprocess
import termios
from pathlib import Path

import attrs
import openpyxl
import pytest
from jsonschema import Draft202012Validator, ValidationError

from bureau_server import NEW_PASSWORD, running_bureau
from cli_collection_helpers import (
    SCHEMAS,
    SCRIPT,
    UNIT,
    environment,
    json_run,
    run,
    schema,
    seed_bureau,
    validate,
)
from pension_collect._files import write_aside
from pension_collect.adapters.reference_bureau import ReferenceBureau
from pension_collect.cli._collect_status import next_step
from pension_collect.cli.collect import COMMANDS, EXIT_BUREAU, EXIT_REFUSED, EXIT_TIMEOUT
from pension_collect.dossier import example_dossier_text, loads
from pension_collect.identity import check_char
from pension_collect.ports.transport import DeclarationKind, DeclarationState, WorkerOutcome
from pension_collect.workflow.records import SessionState, StoredDeclaration, StoredWorker
from pension_collect.xlsx import write_xlsx

ROOT = Path(__file__).resolve().parents[1]
#: One line on standard error: ``pension-collect: CODE: English (中文)``.
ONE_LINE = re.compile(
    r"^pension-collect: [a-z]+\.[a-z-]+: [^\n]+ \([^\n]*[\u4e00-\u9fff][^\n]*\)\n$"
)


def test_every_command_has_a_valid_versioned_schema() -> None:
    names = {p.name.removesuffix(".v1.json") for p in SCHEMAS.glob("*.v1.json")}
    assert set(COMMANDS) <= names
    assert names - set(COMMANDS) == {"common", "error", "problems"}
    for name in names:
        doc = schema(name)
        Draft202012Validator.check_schema(doc)
        assert doc["$id"] == f"urn:pension-collect:schema:{name}:v1"
        if name != "common":
            assert doc["additionalProperties"] is False
            assert doc["properties"]["version"] == {"const": 1}
            assert doc["properties"]["format"] == {"const": f"pension-collect/{name}"}


def test_a_schema_refuses_a_document_of_another_shape() -> None:
    """The schemas are strict: a missing field, an unknown one, a full identity
    number where a masked one belongs are refused."""
    good = {
        "format": "pension-collect/receive",
        "version": 1,
        "unit_no": UNIT,
        "store": "sqlite:collection.db",
        "form": True,
        "handbook": True,
        "workers": [{"worker": "371002********1239", "person_no": "37100200001"}],
    }
    validate(good, "receive")
    bad = [
        {k: v for k, v in good.items() if k != "form"},
        {**good, "extra": 1},
        {**good, "version": 2},
        {**good, "workers": [{"worker": "371002196503021239", "person_no": None}]},
    ]
    for doc in bad:
        with pytest.raises(ValidationError):
            validate(doc, "receive")


def test_every_collection_command_is_documented() -> None:
    text = (ROOT / "docs" / "cli.md").read_text(encoding="utf-8")
    for command in COMMANDS:
        assert f"## `pension-collect {command}`" in text, command
        assert f"docs/schemas/{command}.v1.json" in text, command


def _line(err: str, code: str) -> None:
    assert ONE_LINE.match(err), err
    assert err.startswith(f"pension-collect: {code}: "), err


def test_no_store_no_unit_bad_month(tmp_path: Path) -> None:
    done = run(tmp_path, "sync")
    assert done.status == 2
    assert done.out == ""
    _line(done.err, "cli.no-store")
    assert "pension-collect start" in done.err
    assert list(tmp_path.iterdir()) == []  # nothing made

    env = environment()
    del env["PENSION_COLLECT_UNIT"]
    doc = json_run(tmp_path, "start", status=2, env=env)
    assert (doc["code"], doc["exit_status"]) == ("cli.unit-missing", 2)

    done = run(tmp_path, "start", "--bureau", "local:")  # keeps nothing between commands
    assert done.status == 2
    _line(done.err, "cli.usage")
    assert "local:DIR" in done.err
    assert list(tmp_path.iterdir()) == []

    (tmp_path / "notes.db").write_text("not a store\n" * 100, encoding="utf-8")
    doc = json_run(tmp_path, "status", "--store", "sqlite:notes.db", status=2)
    assert doc["code"] == "storage.not-a-store"
    assert (tmp_path / "notes.db").read_text(encoding="utf-8") == "not a store\n" * 100
    (tmp_path / "notes.db").unlink()

    done = run(tmp_path, "start", "--as-of", "2013-13")
    assert done.status == 2
    _line(done.err, "cli.as-of")

    # A dossier that is not there, or a folder: said in Chinese too.
    for name, zh in (("nothere.json", "文件不存在"), (".", "是文件夹")):
        doc = json_run(tmp_path, "collect", name, status=2)
        assert doc["code"] == "cli.cannot-read"
        assert zh in doc["message_zh"]
        assert not re.search("[A-Za-z]{3,}", doc["message_zh"].replace(name, "")), doc

    # No bureau in the folder given (a typo, or 'bureau seed' not run): not a
    # new empty bureau made there and synced as "0 persons", but exit 5.
    for args in (("start",), ("start", "--bureau", "local:bureua")):
        doc = json_run(tmp_path, *args, status=EXIT_BUREAU)
        assert doc["code"] == "cli.no-bureau"
        done = run(tmp_path, *args)
        _line(done.err, "cli.no-bureau")
        assert "bureau seed" in done.err
    assert list(tmp_path.iterdir()) == []


def test_steps_out_of_order_and_bad_input(tmp_path: Path) -> None:
    seed_bureau(tmp_path)
    json_run(tmp_path, "start")

    # [P3.1] nothing before a data sync: refused, exit 4, one line naming the paragraph.
    done = run(tmp_path, "collect", "dossier.json")
    assert done.status == EXIT_REFUSED
    _line(done.err, "workflow.sync-first")
    assert "[P3.1]" in done.err
    assert "请先进行数据同步" in done.err
    doc = json_run(tmp_path, "print", "verification", status=EXIT_REFUSED)
    assert (doc["code"], doc["command"]) == ("workflow.sync-first", "print")
    json_run(tmp_path, "sync")
    doc = json_run(tmp_path, "submit", status=EXIT_REFUSED)
    assert doc["code"] == "workflow.employer-first"

    # An unknown worker: exit 2, the number not echoed in full.
    done = run(tmp_path, "print", "verification", "--worker", "37100299999")
    assert done.status == 2
    _line(done.err, "cli.unknown-worker")
    assert "37100299999" in done.err
    done = run(tmp_path, "print", "verification", "--worker", "110101199003077777")
    assert done.status == 2
    assert "110101********7777" in done.err
    assert "110101199003077777" not in done.err
    # An identity number mistyped (a digit too many or too few, a wrong check
    # digit): still masked, and said to be no valid identity number.
    for typo in ("1101011990030777771", "11010119900307777", "371002196503021238"):
        done = run(tmp_path, "print", "verification", "--worker", typo)
        assert done.status == 2
        _line(done.err, "cli.unknown-worker")
        assert typo not in done.err
        assert typo[:6] in done.err
        assert typo[-4:] in done.err
        assert "not a valid identity number" in done.err
        assert "不是有效的身份证号码" in done.err

    # A dossier that cannot be read: every problem with its path, exit 2.
    (tmp_path / "bad.json").write_text('{"format": "pension-collect/dossier"}', encoding="utf-8")
    doc = json_run(tmp_path, "collect", "bad.json", status=2)
    validate(doc, "problems")
    assert doc["source"] == "bad.json"
    assert doc["problems"]
    assert all(p["path"].startswith("$") for p in doc["problems"])

    # A workbook with a problem: the cell named, nothing saved.
    write_xlsx(loads(example_dossier_text()), tmp_path / "roster.xlsx")
    book = openpyxl.load_workbook(tmp_path / "roster.xlsx")
    book["缴费历史"]["B3"] = "王五"  # not the name of the worker the row belongs to
    book.save(tmp_path / "roster.xlsx")
    doc = json_run(tmp_path, "collect", "roster.xlsx", status=2)
    assert [p["path"] for p in doc["problems"]] == ["缴费历史!B3"]
    assert "not a readable workbook, 1 problem " in run(tmp_path, "collect", "roster.xlsx").err

    # Another employer's dossier.
    other = json.loads((tmp_path / "dossier.json").read_text(encoding="utf-8"))
    other["employer"]["unit_no"] = "10099999"
    (tmp_path / "other.json").write_text(json.dumps(other, ensure_ascii=False), encoding="utf-8")
    done = run(tmp_path, "employer", "other.json")
    assert done.status == 2
    _line(done.err, "cli.other-employer")

    # follow gives up after --timeout with the declaration still open (exit 6).
    json_run(tmp_path, "employer", "dossier.json")
    doc = json_run(tmp_path, "follow", "--timeout", "0", status=EXIT_TIMEOUT)
    assert doc["timed_out"] is True
    assert [d["declaration"] for d in doc["declarations"]] == ["employer-1"]
    assert doc["declarations"][0]["state"] in ("submitted", "processing")

    # An incomplete worker is refused with its reason, the others saved (exit 1).
    json_run(tmp_path, "print", "verification")
    incomplete = json.loads((tmp_path / "dossier.json").read_text(encoding="utf-8"))
    incomplete["workers"][1]["history"] = None
    (tmp_path / "incomplete.json").write_text(
        json.dumps(incomplete, ensure_ascii=False), encoding="utf-8"
    )
    doc = json_run(tmp_path, "collect", "incomplete.json", status=1)
    assert [s["index"] for s in doc["saved"]] == [0, 2]
    (refused,) = doc["refused"]
    assert (refused["index"], refused["code"], refused["procedure"]) == (
        1,
        "workflow.incomplete",
        "P3.4f",
    )
    assert refused["person_no"] == "37100200002"
    assert "缴费历史" in refused["message_zh"]

    # The summary sheet before any signed form is received: refused, no empty sheet.
    doc = json_run(tmp_path, "print", "summary", status=EXIT_REFUSED)
    assert doc["code"] == "cli.nothing-to-summarise"
    assert "pension-collect receive" in doc["message"]
    assert not list((tmp_path / "forms").glob("summary-*"))

    # The corrected dossier collected again (as after a refusal, or after a
    # collect stopped half-way): the workers already saved and unchanged are
    # left as they are (their marks kept), a changed one is saved again, the
    # missing one saved; nothing refused as "changed by someone else".
    json_run(tmp_path, "print", "confirmation", "--worker", "37100200001")
    json_run(tmp_path, "receive", "--worker", "37100200001")
    changed = json.loads((tmp_path / "dossier.json").read_text(encoding="utf-8"))
    changed["workers"][2]["hukou"] = "urban"
    (tmp_path / "changed.json").write_text(json.dumps(changed, ensure_ascii=False), "utf-8")
    doc = json_run(tmp_path, "collect", "changed.json")
    validate(doc, "collect")
    assert doc["refused"] == []
    assert [(s["index"], s["version"]) for s in doc["saved"]] == [(1, 1), (2, 2)]
    assert [(u["index"], u["version"], u["form_received"]) for u in doc["unchanged"]] == [
        (0, 3, True)
    ]
    done = run(tmp_path, "collect", "changed.json")
    assert done.status == 0, done.err
    assert "3 unchanged" in done.out
    assert "未变" in done.out

    # receive needs --worker or --all.
    done = run(tmp_path, "receive")
    assert done.status == 2
    _line(done.err, "cli.usage")

    # An http(s) bureau needs the password from the environment or a terminal,
    # never an argument: without either, exit 5 before any connection.
    done = run(tmp_path, "sync", "--bureau", "http://127.0.0.1:9")
    assert done.status == EXIT_BUREAU
    _line(done.err, "cli.password-missing")
    assert "PENSION_COLLECT_BUREAU_PASSWORD" in done.err


def test_ctrl_c_while_waiting_for_the_bureau(tmp_path: Path) -> None:
    """Ctrl-C while a command (sync, follow ...) waits for a bureau that does not answer: exit 130,
    one line with its code, and with --format json the error document."""
    seed_bureau(tmp_path)
    json_run(tmp_path, "start")
    with socket.socket() as silent:  # connections queue, nothing ever answers
        silent.bind(("127.0.0.1", 0))
        silent.listen(4)
        silent.settimeout(30)
        url = f"http://127.0.0.1:{silent.getsockname()[1]}"
        env = environment(PENSION_COLLECT_BUREAU_PASSWORD="not-used-here")
        for fmt in ("text", "json"):
            proc = subprocess.Popen(
                [str(SCRIPT), "sync", "--bureau", url, "--format", fmt],
                cwd=tmp_path,
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            conn, _ = silent.accept()  # the command is running and waits for the bureau
            proc.send_signal(signal.SIGINT)
            out, err = proc.communicate(timeout=60)
            conn.close()
            assert proc.returncode == 130, err
            _line(err, "cli.interrupted")
            if fmt == "json":
                doc = json.loads(out)
                validate(doc, "error")
                assert (doc["code"], doc["exit_status"], doc["command"]) == (
                    "cli.interrupted",
                    130,
                    "sync",
                )
            else:
                assert out == ""
    assert json_run(tmp_path, "status")["started"] is True  # the store is as it was


def test_progress_bar_only_on_a_terminal(tmp_path: Path) -> None:
    """tqdm draws on standard error when it is a terminal, and is silent otherwise."""
    seed_bureau(tmp_path)
    for step in (("start",), ("sync",), ("employer", "dossier.json")):
        assert run(tmp_path, *step).status == 0
    quiet = run(tmp_path, "print", "verification", "--out", "forms")
    assert quiet.status == 0
    assert quiet.err == ""
    leader, follower = pty.openpty()
    # A terminal of 24 rows, 80 columns (a new pty has none: tqdm would draw nothing).
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))
    with subprocess.Popen(
        [str(SCRIPT), "collect", "dossier.json"],
        cwd=tmp_path,
        env=environment(),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=follower,
    ) as child:
        os.close(follower)
        drawn = b""
        while True:
            try:
                chunk = os.read(leader, 65536)
            except OSError:  # EIO: the child closed the terminal
                break
            if not chunk:
                break
            drawn += chunk
        os.close(leader)
        assert child.stdout is not None
        printed = child.stdout.read().decode()
        assert child.wait(timeout=120) == 0, drawn
    assert b"saving workers" in drawn
    assert b"3/3" in drawn
    assert "3 saved, 0 refused" in printed


def test_a_bureau_over_http_and_its_password(tmp_path: Path) -> None:
    """The real bureau server: the initial password stops every step until
    ``pension-collect password`` changes it (a weak one refused), then the
    collection starts and syncs over HTTP; a wrong password is exit 5."""
    (tmp_path / "dossier.json").write_text(example_dossier_text(), encoding="utf-8")
    with running_bureau(tmp_path / "bureau", [tmp_path / "dossier.json"]) as bureau:
        initial = bureau.passwords[UNIT]
        with_initial = environment(
            PENSION_COLLECT_BUREAU=bureau.url, PENSION_COLLECT_BUREAU_PASSWORD=initial
        )
        done = run(tmp_path, "start", env=with_initial)
        assert done.status == EXIT_BUREAU
        _line(done.err, "auth.password-change-required")
        assert "pension-collect password" in done.err
        assert initial not in done.err + done.out

        weak = {**with_initial, "PENSION_COLLECT_BUREAU_NEW_PASSWORD": "123456"}
        doc = json_run(tmp_path, "password", status=EXIT_BUREAU, env=weak)
        assert doc["code"] == "auth.weak-password"
        strong = {**with_initial, "PENSION_COLLECT_BUREAU_NEW_PASSWORD": NEW_PASSWORD}
        doc = json_run(tmp_path, "password", env=strong)
        assert (doc["unit_no"], doc["bureau"], doc["changed"]) == (UNIT, bureau.url, True)

        ready = {**with_initial, "PENSION_COLLECT_BUREAU_PASSWORD": NEW_PASSWORD}
        assert json_run(tmp_path, "start", env=ready)["bureau"] == bureau.url
        assert json_run(tmp_path, "sync", env=ready)["persons"] == 3

        done = run(tmp_path, "sync", env=with_initial)  # the old one no longer
        assert done.status == EXIT_BUREAU
        _line(done.err, "auth.invalid-credentials")
        assert NEW_PASSWORD not in done.err
        assert initial not in done.err


def test_status_names_each_next_step_of_the_procedure() -> None:
    """``status``'s next step (pension_collect.cli._collect_status.next_step), at
    each point of the procedure the end-to-end test does not stop at."""
    dossier = loads(example_dossier_text())
    worker = dossier.workers[0]
    key = "371002196503021239"
    persons = {key: "37100200001"}
    base = SessionState(started_at="t", started_by="clerk", sync_no=1, verification={key: 1})

    def stored(status: str, **fields: object) -> StoredWorker:
        return StoredWorker(key=key, version=1, worker=worker, status=status, **fields)

    def decl(state: str) -> StoredDeclaration:
        return StoredDeclaration(
            key="workers-1",
            version=1,
            kind=DeclarationKind.WORKERS,
            state=DeclarationState(state),
            idempotency_key="k",
            workers=(key,),
            bureau_id=None if state == "draft" else "D1",
        )

    def step(
        state: SessionState, workers: list[StoredWorker], decls: list[StoredDeclaration]
    ) -> tuple[str | None, str | None]:
        found = next_step(state, persons, workers, decls)
        blocked = found["blocked_by"]
        return found["command"], None if blocked is None else blocked["code"]

    no_employer = attrs.evolve(base, employer=None)
    assert step(no_employer, [], []) == (
        "pension-collect employer DOSSIER",
        "workflow.employer-first",
    )
    ready = attrs.evolve(base, employer=dossier.employer, employer_declaration="employer-1")
    assert step(ready, [], []) == ("pension-collect collect DOSSIER", "workflow.incomplete")
    unprinted = attrs.evolve(ready, verification={})
    assert step(unprinted, [], []) == (
        "pension-collect print verification",
        "workflow.verification-form",
    )
    assert step(ready, [stored("collected")], []) == (
        "pension-collect print confirmation",
        "workflow.confirmation-form",
    )
    received = stored("collected", confirmation_printed=True, form_received=True,
                      handbook_received=True)  # fmt: skip
    assert (
        step(ready, [received], [])[0] == "pension-collect print summary && pension-collect submit"
    )
    assert step(ready, [stored("submitted")], [decl("processing")]) == (
        "pension-collect follow",
        "workflow.declaration-in-flight",
    )
    assert step(ready, [stored("submitted")], [decl("draft")]) == (
        "pension-collect submit",
        "workflow.declaration-in-flight",
    )
    rules = WorkerOutcome(key=key, succeeded=False, code="bureau.rules")
    failed = stored("failed", outcome=rules, declaration="workers-1", failed_in="workers-1")
    assert step(ready, [failed], [decl("failed")]) == (
        "pension-collect recollect DOSSIER",
        "workflow.recollection-incomplete",
    )
    assert step(ready, [stored("accepted")], [decl("succeeded")]) == (None, None)


def test_status_says_how_many_more_workers_block_the_step(tmp_path: Path) -> None:
    """More than five workers hold a step back: five are shown and the rest counted."""
    seeded = seed_bureau(tmp_path)
    template = next(iter(seeded.values())).record
    bureau = ReferenceBureau.open(tmp_path / "bureau")
    try:
        for i in range(9):  # 3 + 9 = 12 persons to print a verification form for
            first17 = f"371002196503021{i:02d}"
            bureau.add_person(
                attrs.evolve(template, id_number=first17 + check_char(first17), person_no=None),
                unit_no=UNIT,
            )
    finally:
        bureau.close()
    for step in (("start",), ("sync",), ("employer", "dossier.json")):
        json_run(tmp_path, *step)
    doc = json_run(tmp_path, "status")
    assert doc["next"]["command"] == "pension-collect print verification"
    assert len(doc["next"]["blocked_by"]["workers"]) == 12
    done = run(tmp_path, "status")
    (because,) = [ln for ln in done.out.splitlines() if ln.startswith("  because: ")]
    assert because.count("*") >= 5  # masked numbers
    assert because.endswith("... and 7 more / 另有 7 人)"), because


def test_an_argument_error_with_format_json_is_the_error_document(tmp_path: Path) -> None:
    """A missing argument or a bad choice (argparse's errors): with ``--format json``
    the error document ``cli.bad-argument`` (exit 2); the text form unchanged."""
    cases = (
        ("print", "--format", "json"),  # FORM missing
        ("print", "bogus", "--format", "json"),  # not a form
        ("print", "--format=json", "bogus"),
        ("follow", "--interval", "soon", "--format", "json"),
        ("employer", "--format", "json", "a.json", "b.json"),  # one too many
    )
    for args in cases:
        done = run(tmp_path, *args)
        assert done.status == 2, (args, done.err)
        doc = done.doc
        validate(doc, "error")
        assert (doc["code"], doc["command"], doc["exit_status"]) == (
            "cli.bad-argument",
            args[0],
            2,
        )
        assert f"pension-collect {args[0]} --help" in doc["message"]
        assert re.search("[\u4e00-\u9fff]", doc["message_zh"]), doc
        # Standard error: argparse's line, as without --format json.
        assert done.err.startswith("pension-collect"), done.err
        assert doc["message"].split(" (see ")[0] in done.err
    done = run(tmp_path, "print", "bogus")
    assert (done.status, done.out) == (2, "")
    assert done.err.startswith("pension-collect print: argument FORM: invalid choice"), done.err
    # Not a collection command, or no JSON asked for: no document.
    for args in (("print", "bogus", "--format", "text"), ("validate", "--bogus", "x.json")):
        done = run(tmp_path, *args)
        assert (done.status, done.out) == (2, ""), args
    assert list(tmp_path.iterdir()) == []


def test_print_removes_the_partial_files_a_killed_print_left(tmp_path: Path) -> None:
    """A print killed outright (SIGKILL) leaves its hidden temporary file: the
    next print into the folder removes such files, only of its own naming
    pattern, only older than itself, never one a live print is still writing."""
    seed_bureau(tmp_path)
    for step in (("start",), ("sync",), ("employer", "dossier.json")):
        json_run(tmp_path, *step)
    forms = tmp_path / "forms"
    forms.mkdir()
    long_ago = 1_700_000_000  # 2023: before this run

    def leftover(name: str, when: float = long_ago) -> Path:
        path = forms / name
        path.write_bytes(b"%PDF-1.4 torn")
        os.utime(path, (when, when))
        return path

    stale = [
        leftover(".verification.0123456789abcdef.partial"),
        leftover(".summary.fedcba9876543210.partial"),
    ]
    kept = [
        leftover(".notes.0123456789abcdef.partial"),  # not a form's
        leftover(".verification.0123456789ABCDEF.partial"),  # not the pattern
        leftover("verification.0123456789abcdef.partial"),  # not hidden
        leftover(".verification.0123456789abcdef.partial.bak"),
        leftover(".confirmation.00000000000000aa.partial", when=4_000_000_000),  # newer
    ]
    (forms / ".confirmation.00000000000000bb.partial").mkdir()  # a folder
    kept.append(forms / ".confirmation.00000000000000bb.partial")
    (forms / ".verification.00000000000000cc.partial").symlink_to(tmp_path / "dossier.json")
    kept.append(forms / ".verification.00000000000000cc.partial")
    busy = leftover(".verification.00000000000000dd.partial")
    kept.append(busy)
    with busy.open("rb") as held:  # a print still writing it holds its lock
        fcntl.flock(held.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        doc = json_run(tmp_path, "print", "verification")
    assert len(doc["files"]) == 1
    assert [p.name for p in stale if os.path.lexists(p)] == []
    assert [p.name for p in kept if not os.path.lexists(p)] == []
    assert (tmp_path / "dossier.json").is_file()


def test_a_form_being_written_is_locked_against_that_clean_up(tmp_path: Path) -> None:
    """``write_aside`` (every print's writer) holds the lock of its temporary file."""
    with write_aside(tmp_path, "verification") as pending:
        with pending.temp.open("rb") as other, pytest.raises(BlockingIOError):
            fcntl.flock(other.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        pending.place(tmp_path / "verification-1.pdf", overwrite=False)
    assert [p.name for p in tmp_path.iterdir()] == ["verification-1.pdf"]
