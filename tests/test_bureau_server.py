"""The bureau server against the real process (``pension-collect bureau serve``
under gunicorn on 127.0.0.1), started once for the module: login and the
forced password change, sync pages, pending declarations, idempotent submit,
status advancing on its own, the sandbox's window services, a restart on
the same data folder; and the ``bureau`` command's own refusals."""

from __future__ import annotations

import json
import shutil
import signal
import socket
import ssl
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bureau_fixtures import employer, example, id_number
from bureau_server import (
    WINDOW_TOKEN,
    RunningBureau,
    call,
    console_script,
    login,
    ready_session,
    running_bureau,
    start_bureau,
)
from pension_collect._version import __version__
from pension_collect.cli import main

A = "10012345"  # the example's employer: persons 37100200001..3
B = "20054321"  # 12 persons B0001..B0012
C = "30077777"  # seeded while the server runs
WINDOW = {"X-Window-Token": WINDOW_TOKEN}


@pytest.fixture(scope="module")
def bureau(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningBureau]:
    root = tmp_path_factory.mktemp("bureau")
    server = start_bureau(root / "data", [example(), employer(B, 12, prefix="B")], sandbox=True)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def token_a(bureau: RunningBureau) -> str:
    return ready_session(bureau, A)[0]


@pytest.fixture(scope="module")
def token_b(bureau: RunningBureau) -> str:
    return ready_session(bureau, B)[0]


def _error(answer: Any) -> str:
    assert set(answer) == {"error"}, answer
    assert {"code", "message", "message_zh"} <= set(answer["error"])
    code: str = answer["error"]["code"]
    return code


def _sync_all(bureau: RunningBureau, unit_no: str, token: str, size: int) -> list[dict[str, Any]]:
    pages, cursor = [], None
    for _ in range(100):
        query = f"?page_size={size}" + (f"&cursor={cursor}" if cursor else "")
        status, _, page = call(
            bureau, "GET", f"/api/v1/employers/{unit_no}/sync{query}", token=token
        )
        assert status == 200, page
        pages.append(page)
        cursor = page["next_cursor"]
        if cursor is None:
            return pages
    raise AssertionError("the sync never ended")


# -- login --------------------------------------------------------------------------------------


def test_health_needs_no_token(bureau: RunningBureau) -> None:
    status, headers, answer = call(bureau, "GET", "/api/v1/health")
    assert (status, answer) == (200, {"status": "ok", "version": __version__})
    assert headers["content-type"] == "application/json"


def test_seed_prints_each_new_initial_password_once(bureau: RunningBureau) -> None:
    new = bureau.seed([employer(C, 2, prefix="C", birth="19800202")])
    assert list(new) == [C]
    assert len(new[C]) >= 10
    again = bureau.seed([employer(C, 2, prefix="C", birth="19800202")])
    assert again == {}  # the account is kept: no password printed


def test_initial_password_must_be_changed_first(bureau: RunningBureau) -> None:
    first = login(bureau, C, bureau.passwords[C])
    assert first["must_change_password"] is True
    status, _, answer = call(bureau, "GET", f"/api/v1/employers/{C}/sync", token=first["token"])
    assert (status, _error(answer)) == (403, "auth.password-change-required")
    status, _, answer = call(
        bureau, "GET", f"/api/v1/employers/{C}/declarations", token=first["token"]
    )
    assert (status, _error(answer)) == (403, "auth.password-change-required")

    status, _, changed = call(
        bureau,
        "POST",
        "/api/v1/password",
        {"old_password": bureau.passwords[C], "new_password": "Another-good-one-77"},
        token=first["token"],
    )
    assert status == 200
    assert changed["must_change_password"] is False
    assert changed["token"] != first["token"]
    status, _, page = call(bureau, "GET", f"/api/v1/employers/{C}/sync", token=changed["token"])
    assert status == 200
    assert [p["person_no"] for p in page["persons"]] == ["C0001", "C0002"]
    # the initial password is gone; the new one logs in without a change
    status, _, answer = call(
        bureau, "POST", "/api/v1/session", {"unit_no": C, "password": bureau.passwords[C]}
    )
    assert (status, _error(answer)) == (401, "auth.invalid-credentials")
    assert login(bureau, C, "Another-good-one-77")["must_change_password"] is False


# -- sync ----------------------------------------------------------------------------------------


def test_sync_in_pages_with_a_cursor(bureau: RunningBureau, token_b: str) -> None:
    pages = _sync_all(bureau, B, token_b, 5)
    assert [len(p["persons"]) for p in pages] == [5, 5, 2]
    assert [p["next_cursor"] is None for p in pages] == [False, False, True]
    numbers = [person["person_no"] for page in pages for person in page["persons"]]
    assert numbers == [f"B{i:04d}" for i in range(1, 13)]
    for page in pages:
        assert page["unit_no"] == B
        assert page["employer"] == {"unit_no": B, "name": f"测试单位{B}"}
    one_page = _sync_all(bureau, B, token_b, 1000)
    assert len(one_page) == 1
    assert [p["person_no"] for p in one_page[0]["persons"]] == numbers
    default = call(bureau, "GET", f"/api/v1/employers/{B}/sync", token=token_b)[2]
    assert len(default["persons"]) == 12
    assert default["next_cursor"] is None


def test_sync_shows_the_bureau_blocks(bureau: RunningBureau, token_a: str) -> None:
    (page,) = _sync_all(bureau, A, token_a, 500)
    seeded = {w["id_number"]: w for w in example()["workers"]}
    numbers = [p["person_no"] for p in page["persons"]]
    assert numbers == sorted(numbers)
    assert sorted(p["id_number"] for p in page["persons"]) == sorted(seeded)
    for person in page["persons"]:
        worker = seeded[person["id_number"]]
        assert person["person_no"] == worker.get("person_no", person["person_no"])
        assert person["id_number"] == worker["bureau"]["id_number"]
        assert person["account"] == worker["bureau"]["account"]
    assert page["employer"] == example()["employer"]


@pytest.mark.parametrize("size", ["0", "1001", "-1", "abc", "", "1e3", "5.0", "%EF%BC%91%EF%BC%90"])
def test_page_size_out_of_range(bureau: RunningBureau, token_b: str, size: str) -> None:
    status, _, answer = call(
        bureau, "GET", f"/api/v1/employers/{B}/sync?page_size={size}", token=token_b
    )
    assert (status, _error(answer)) == (400, "request.page-size")


@pytest.mark.parametrize("cursor", ["nonsense!", "QUJD", "cDo%FF", "%00"])
def test_a_cursor_the_server_did_not_give(bureau: RunningBureau, token_b: str, cursor: str) -> None:
    status, _, answer = call(
        bureau, "GET", f"/api/v1/employers/{B}/sync?cursor={cursor}", token=token_b
    )
    assert (status, _error(answer)) == (400, "request.cursor")


# -- declarations ---------------------------------------------------------------------------------


def _submit(
    bureau: RunningBureau, token: str, unit_no: str, key: str, body: dict[str, Any]
) -> tuple[int, Any]:
    status, _, answer = call(
        bureau,
        "POST",
        f"/api/v1/employers/{unit_no}/declarations",
        body,
        token=token,
        headers={"Idempotency-Key": key},
    )
    return status, answer


def test_submit_once_per_idempotency_key(bureau: RunningBureau, token_a: str) -> None:
    body = {"kind": "employer", "payload": {"employer": example()["employer"]}}
    status, first = _submit(bureau, token_a, A, "employer-key-1", body)
    assert status == 201
    assert (first["unit_no"], first["kind"], first["state"]) == (A, "employer", "submitted")
    status, again = _submit(bureau, token_a, A, "employer-key-1", body)
    assert status == 200
    assert again["id"] == first["id"]
    status, other = _submit(bureau, token_a, A, "employer-key-2", body)
    assert status == 201
    assert other["id"] != first["id"]
    everything = call(bureau, "GET", f"/api/v1/employers/{A}/declarations", token=token_a)[2]
    ids = [d["id"] for d in everything["declarations"]]
    assert ids.count(first["id"]) == 1
    assert ids.count(other["id"]) == 1


def test_status_advances_when_read(bureau: RunningBureau, token_a: str) -> None:
    worker = example()["workers"][0]
    body = {
        "kind": "workers",
        "payload": {"workers": [{"key": worker["id_number"], "worker": worker}]},
        "linked_to": None,
    }
    status, submitted = _submit(bureau, token_a, A, "workers-key-1", body)
    assert (status, submitted["state"]) == (201, "submitted")
    path = f"/api/v1/employers/{A}/declarations"
    pending = call(bureau, "GET", f"{path}?state=pending", token=token_a)[2]["declarations"]
    mine = [d for d in pending if d["id"] == submitted["id"]]
    assert [d["state"] for d in mine] == ["processing"]  # advanced one stage by the read
    concluded = call(bureau, "GET", f"{path}/{submitted['id']}", token=token_a)[2]
    assert concluded["state"] in {"succeeded", "failed", "partially_succeeded"}
    assert concluded["concluded_at"] is not None
    assert [o["key"] for o in concluded["outcomes"]] == [worker["id_number"]]
    pending = call(bureau, "GET", f"{path}?state=pending", token=token_a)[2]["declarations"]
    assert submitted["id"] not in [d["id"] for d in pending]


def test_a_linked_declaration(bureau: RunningBureau, token_a: str) -> None:
    body = {"kind": "employer", "payload": {"employer": example()["employer"]}}
    first = _submit(bureau, token_a, A, "link-1", body)[1]
    status, linked = _submit(bureau, token_a, A, "link-2", {**body, "linked_to": first["id"]})
    assert (status, linked["linked_to"]) == (201, first["id"])
    status, answer = _submit(bureau, token_a, A, "link-3", {**body, "linked_to": "D999999"})
    assert (status, _error(answer)) == (404, "bureau.unknown-declaration")


@pytest.mark.parametrize("key", [None, "", "x" * 129, "with space", "tab\tkey", "é"], ids=repr)
def test_the_idempotency_key_is_required(
    bureau: RunningBureau, token_a: str, key: str | None
) -> None:
    headers = {} if key is None else {"Idempotency-Key": key}
    body = {"kind": "employer", "payload": {"employer": example()["employer"]}}
    try:
        status, _, answer = call(
            bureau,
            "POST",
            f"/api/v1/employers/{A}/declarations",
            body,
            token=token_a,
            headers=headers,
        )
    except ValueError:  # the client itself refuses the header (http.client)
        return
    assert (status, _error(answer)) == (400, "request.idempotency-key")


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"payload": {}}, "kind"),
        ({"kind": "other", "payload": {}}, "kind"),
        ({"kind": "workers"}, "payload"),
        ({"kind": "workers", "payload": []}, "payload"),
        ({"kind": "workers", "payload": {}, "linked_to": 5}, "linked_to"),
        # 300 KB of empty workers would be answered with 14 MB of outcomes
        ({"kind": "workers", "payload": {"workers": [{}] * 100_001}}, "payload.workers"),
    ],
)
def test_a_submission_of_the_wrong_shape(
    bureau: RunningBureau, token_a: str, body: dict[str, Any], field: str
) -> None:
    status, answer = _submit(bureau, token_a, A, f"shape-{field}", body)
    assert (status, _error(answer)) == (400, "request.invalid")
    assert repr(field) in answer["error"]["message"]


@pytest.mark.parametrize("state", ["concluded", "PENDING", ""])
def test_only_the_pending_filter(bureau: RunningBureau, token_a: str, state: str) -> None:
    status, _, answer = call(
        bureau, "GET", f"/api/v1/employers/{A}/declarations?state={state}", token=token_a
    )
    assert (status, _error(answer)) == (400, "request.state")


# -- the sandbox -----------------------------------------------------------------------------------


@pytest.mark.parametrize("headers", [{}, {"X-Window-Token": "wrong"}, {"Authorization": "x"}])
def test_window_services_need_the_window_token(
    bureau: RunningBureau, token_a: str, headers: dict[str, str]
) -> None:
    for path in ("/api/v1/sandbox/tick", "/api/v1/sandbox/persons/B0001/settle"):
        status, _, answer = call(bureau, "POST", path, headers=headers)
        assert (status, _error(answer)) == (401, "auth.invalid-window-token")
    # an employer's token is no window token
    status, _, answer = call(bureau, "POST", "/api/v1/sandbox/tick", token=token_a)
    assert (status, _error(answer)) == (401, "auth.invalid-window-token")


def test_window_services(bureau: RunningBureau, token_a: str, token_b: str) -> None:
    def persons(unit_no: str, token: str) -> dict[str, Any]:
        (page,) = _sync_all(bureau, unit_no, token, 1000)
        return {p["person_no"]: p for p in page["persons"]}

    account = persons(B, token_b)["B0003"]["account"]
    assert account != []
    sandbox = "/api/v1/sandbox/persons/B0003"
    status, _, done = call(bureau, "POST", f"{sandbox}/settle", headers=WINDOW)
    assert (status, done) == (200, {"person_no": "B0003", "unit_no": B, "account_settled": True})
    assert persons(B, token_b)["B0003"]["account"] == []
    status, _, done = call(bureau, "POST", f"{sandbox}/unsettle", headers=WINDOW)
    assert (status, done["account_settled"]) == (200, False)
    assert persons(B, token_b)["B0003"]["account"] == account

    status, _, done = call(bureau, "POST", f"{sandbox}/transfer", {"unit_no": A}, headers=WINDOW)
    assert (status, done["unit_no"]) == (200, A)
    assert "B0003" not in persons(B, token_b)
    assert "B0003" in persons(A, token_a)
    status, _, done = call(bureau, "POST", f"{sandbox}/transfer", {"unit_no": B}, headers=WINDOW)
    assert (status, done["unit_no"]) == (200, B)
    assert "B0003" in persons(B, token_b)

    status, _, done = call(
        bureau, "POST", f"{sandbox}/correct-identity", {"name": "王芳"}, headers=WINDOW
    )
    assert status == 200
    assert persons(B, token_b)["B0003"]["name"] == "王芳"

    status, _, answer = call(bureau, "POST", "/api/v1/sandbox/tick", headers=WINDOW)
    assert status == 200
    assert isinstance(answer["changed"], list)


def test_the_window_cannot_give_a_person_anothers_identity_number(
    bureau: RunningBureau, token_b: str
) -> None:
    """correct-identity to a number another person holds: 409
    bureau.id-held-by-other, nothing changed (one person per identity number)."""
    taken = id_number("371002", "19700101", 1)  # B0001's
    path = "/api/v1/sandbox/persons/B0002/correct-identity"
    status, _, answer = call(bureau, "POST", path, {"id_number": taken}, headers=WINDOW)
    assert (status, _error(answer)) == (409, "bureau.id-held-by-other")
    assert taken not in json.dumps(answer, ensure_ascii=False)
    (page,) = _sync_all(bureau, B, token_b, 1000)
    numbers = {p["person_no"]: p["id_number"] for p in page["persons"]}
    assert numbers["B0002"] == id_number("371002", "19700101", 2)
    assert list(numbers.values()).count(taken) == 1


def test_window_services_for_an_unknown_person(bureau: RunningBureau) -> None:
    for service in ("settle", "unsettle"):
        status, _, answer = call(
            bureau, "POST", f"/api/v1/sandbox/persons/NOBODY/{service}", headers=WINDOW
        )
        assert (status, _error(answer)) == (404, "bureau.unknown-person")
    status, _, answer = call(
        bureau, "POST", "/api/v1/sandbox/persons/B0001/transfer", {}, headers=WINDOW
    )
    assert (status, _error(answer)) == (400, "request.invalid")


# -- the command ---------------------------------------------------------------------------


def _bureau_command(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, *args: str
) -> tuple[int, str, str]:
    """``pension-collect bureau ARGS`` in this process (for what ends before serving)."""
    monkeypatch.delenv("PENSION_COLLECT_BUREAU_WINDOW_TOKEN", raising=False)
    capsys.readouterr()
    status = main(["bureau", *args])
    out, err = capsys.readouterr()
    return status, out, err


Command = tuple[pytest.CaptureFixture[str], pytest.MonkeyPatch]


@pytest.fixture
def command(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> Command:
    return capsys, monkeypatch


def test_sandbox_without_a_window_token_refuses_to_start(tmp_path: Path, command: Command) -> None:
    status, out, err = _bureau_command(
        *command, "serve", "--data", str(tmp_path / "d"), "--port", "0", "--sandbox"
    )
    assert (status, out) == (2, "")
    assert err.count("\n") == 1
    assert "PENSION_COLLECT_BUREAU_WINDOW_TOKEN" in err


def test_serve_refuses_a_folder_that_is_not_a_bureaus(tmp_path: Path, command: Command) -> None:
    (tmp_path / "bureau.db").write_text("a clerk's notes\n", encoding="utf-8")
    status, _, err = _bureau_command(*command, "serve", "--data", str(tmp_path), "--port", "0")
    assert status == 2
    assert err.startswith("pension-collect: ")
    assert err.count("\n") == 1
    assert "not a reference bureau's data file" in err
    assert (tmp_path / "bureau.db").read_text(encoding="utf-8") == "a clerk's notes\n"


def test_serve_refuses_a_port_in_use(tmp_path: Path, command: Command) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        status, _, err = _bureau_command(
            *command, "serve", "--data", str(tmp_path), "--port", str(port)
        )
    assert status == 2
    assert "in use" in err
    assert err.count("\n") == 1


@pytest.mark.parametrize(
    "args",
    [
        ["--workers", "0"],
        ["--port", "70000"],
        ["--token-ttl", "0"],
        ["--max-body", "0"],
        ["--certfile", "x.pem"],
        ["--port", "many"],
        ["--trusted-proxy", "proxy.example"],
    ],
)
def test_serve_refuses_bad_options(tmp_path: Path, command: Command, args: list[str]) -> None:
    status, _, err = _bureau_command(*command, "serve", "--data", str(tmp_path), *args)
    assert status == 2
    assert err.count("\n") == 1


def test_behind_a_trusted_proxy_login_limits_count_the_client(tmp_path: Path) -> None:
    """``serve --trusted-proxy 127.0.0.1``: logins from this machine carrying
    ``X-Forwarded-For`` (as a reverse proxy here adds it) are counted under
    the client's address: the client who earned a lock has it, the employer
    behind the same proxy signs in, and an address the client wrote in
    itself counts for nothing; the access log shows the client's address."""
    with running_bureau(
        tmp_path / "data", [example()], workers=1, extra_args=["--trusted-proxy", "127.0.0.1"]
    ) as bureau:
        password = bureau.passwords[A]

        def post(pw: str, forwarded: str) -> int:
            status, _, _ = call(
                bureau,
                "POST",
                "/api/v1/session",
                {"unit_no": A, "password": pw},
                headers={"X-Forwarded-For": forwarded},
            )
            return status

        mallory, owner = "203.0.113.66", "198.51.100.77"
        statuses = [post(f"guess-{i}-xx", f"{owner}, {mallory}") for i in range(5)]
        assert statuses == [401] * 4 + [423]
        assert post(password, mallory) == 423
        assert post(password, owner) == 200
        deadline = time.monotonic() + 15
        while owner not in bureau.logs() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert mallory in bureau.logs()
        assert owner in bureau.logs()


def test_bureau_needs_a_subcommand(command: Command) -> None:
    status, _, err = _bureau_command(*command)
    assert status == 2
    assert "serve, seed" in err


def test_seed_refuses_an_unreadable_dossier(tmp_path: Path, command: Command) -> None:
    (tmp_path / "broken.json").write_text("{", encoding="utf-8")
    data = str(tmp_path / "d")
    status, out, _ = _bureau_command(
        *command, "seed", "--data", data, str(tmp_path / "broken.json")
    )
    assert (status, out) == (2, "")
    missing = str(tmp_path / "missing.json")
    status, out, err = _bureau_command(*command, "seed", "--data", data, missing)
    assert (status, out) == (2, "")
    assert "cannot read" in err


def test_seed_counts_the_persons_it_holds(tmp_path: Path, command: Command) -> None:
    """A dossier whose workers share one identity number registers one person,
    and seed says one (not one a worker)."""
    doc = example()
    first = doc["workers"][0]
    doc["workers"] = [dict(first, person_no=None) for _ in range(3)]
    (tmp_path / "same.json").write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    data = str(tmp_path / "d")
    status, out, _ = _bureau_command(*command, "seed", "--data", data, str(tmp_path / "same.json"))
    assert status == 0
    assert f"employer {A}: 1 persons registered" in out


def test_seed_reset_password(bureau: RunningBureau) -> None:
    unit = "40088888"
    first = bureau.seed([employer(unit, 1, prefix="D", birth="19750505")])[unit]
    token = login(bureau, unit, first)["token"]
    second = bureau.seed([employer(unit, 1, prefix="D", birth="19750505")], reset_password=True)
    assert second[unit] != first
    status, _, answer = call(bureau, "DELETE", "/api/v1/session", token=token)
    assert (status, _error(answer)) == (401, "auth.invalid-token")  # revoked by the reset
    assert login(bureau, unit, second[unit])["must_change_password"] is True


# -- a restart (last: it stops the module's server and starts it again) ---------------------


def test_state_survives_a_restart_and_sandbox_needs_the_flag(
    bureau: RunningBureau, token_a: str
) -> None:
    body = {"kind": "employer", "payload": {"employer": example()["employer"]}}
    status, before = _submit(bureau, token_a, A, "before-restart", body)
    assert status == 201
    assert bureau.stop() == 0  # SIGTERM: a clean stop

    plain = start_bureau(bureau.data_dir, sandbox=False)
    try:
        status, _, answer = call(plain, "POST", "/api/v1/sandbox/tick", headers=WINDOW)
        assert (status, _error(answer)) == (404, "request.not-found")
        token = login(plain, A, bureau.changed[A])["token"]  # the changed password is kept
        status, _, again = call(
            plain,
            "POST",
            f"/api/v1/employers/{A}/declarations",
            body,
            token=token,
            headers={"Idempotency-Key": "before-restart"},
        )
        assert (status, again["id"]) == (200, before["id"])
        status, _, answer = call(plain, "GET", "/api/v1/health", token=token_a)
        assert status == 200
        status, _, answer = call(plain, "GET", f"/api/v1/employers/{A}/sync", token=token_a)
        assert status == 200  # a token outlives the restart (it is in the data file)
        process = plain.process
        assert process is not None
        process.send_signal(signal.SIGINT)  # Ctrl-C: a quick, clean stop
        assert process.wait(60) == 0
    finally:
        plain.stop()
        bureau.start()
    assert call(bureau, "GET", "/api/v1/health")[0] == 200


@pytest.mark.parametrize("kind", ["memory", "sqlite"])
def test_the_states_give_pages_of_persons(tmp_path: Path, kind: str) -> None:
    """The sync pages come from ``persons_of(unit_no, after=, limit=)`` of both states."""
    from pension_collect.adapters.reference_bureau import ReferenceBureau
    from pension_collect.dossier import from_dict

    bureau = ReferenceBureau() if kind == "memory" else ReferenceBureau.open(tmp_path)
    bureau.seed_dossier(from_dict(employer(B, 7, prefix="B")))
    bureau.seed_dossier(from_dict(employer(C, 2, prefix="C", birth="19800202")))
    with bureau.state.transaction(write=False):
        every = [p.person_no for p in bureau.state.persons_of(B)]
        pages = [
            [p.person_no for p in bureau.state.persons_of(B, after=after, limit=limit)]
            for after, limit in [("", 3), ("B0003", 3), ("B0006", 3), ("B0007", 3), ("A", None)]
        ]
    bureau.close()
    assert every == [f"B{i:04d}" for i in range(1, 8)]
    assert pages == [every[:3], every[3:6], every[6:], [], every]


def test_serve_over_tls(tmp_path: Path) -> None:
    """--certfile/--keyfile: gunicorn serves https:// (a self-signed certificate
    for 127.0.0.1, made by openssl; the client trusts exactly it)."""
    openssl = shutil.which("openssl")
    assert openssl is not None, "openssl is needed to make the test certificate"
    cert, key = tmp_path / "server.crt", tmp_path / "server.key"
    subprocess.run(
        [openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
         "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
         "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True, timeout=60,
    )  # fmt: skip
    process = subprocess.Popen(
        [console_script(), "bureau", "serve", "--data", str(tmp_path / "data"), "--port", "0",
         "--workers", "1", "--certfile", str(cert), "--keyfile", str(key)],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
    )  # fmt: skip
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        assert line.startswith("pension-collect bureau: serving https://127.0.0.1:")
        url = line.split()[3]
        trusted = ssl.create_default_context(cafile=str(cert))
        deadline = time.monotonic() + 30
        while True:  # the worker may still be booting
            try:
                with urllib.request.urlopen(f"{url}/api/v1/health", context=trusted) as got:
                    assert json.loads(got.read())["status"] == "ok"
                break
            except ConnectionError:
                assert time.monotonic() < deadline
                time.sleep(0.1)
        with pytest.raises(urllib.error.URLError, match="CERTIFICATE_VERIFY_FAILED"):
            urllib.request.urlopen(f"{url}/api/v1/health", context=ssl.create_default_context())
    finally:
        process.send_signal(signal.SIGTERM)
        assert process.wait(60) == 0
