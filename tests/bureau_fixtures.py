"""Dossiers for the bureau server's tests: the bundled example (employer A) and
small made-up employers whose persons have known person numbers."""

from __future__ import annotations

import copy
import json
from typing import Any

from pension_collect.dossier import example_dossier_text
from pension_collect.identity import check_char


def example() -> dict[str, Any]:
    """The bundled example dossier (employer 10012345, three workers)."""
    data: dict[str, Any] = json.loads(example_dossier_text())
    return data


def id_number(area: str, birth: str, seq: int) -> str:
    """A valid 18-digit identity number (check character computed)."""
    first17 = f"{area}{birth}{seq:03d}"
    return first17 + check_char(first17)


def employer(unit_no: str, persons: int, *, prefix: str, birth: str = "19700101") -> dict[str, Any]:
    """A dossier of employer ``unit_no`` with ``persons`` workers numbered
    ``{prefix}0001`` ... (identity numbers from ``birth``), each a copy of the
    example's first worker."""
    base = example()
    template = base["workers"][0]
    workers = []
    for i in range(1, persons + 1):
        worker = copy.deepcopy(template)
        number = id_number("371002", birth, i)
        worker["person_no"] = f"{prefix}{i:04d}"
        worker["id_number"] = number
        worker["birth_date"] = f"{birth[:4]}-{birth[4:6]}-{birth[6:]}"
        worker["gender"] = "male" if i % 2 else "female"
        worker["bureau"]["id_number"] = number
        workers.append(worker)
    base["employer"] = {"unit_no": unit_no, "name": f"测试单位{unit_no}"}
    base["workers"] = workers
    return base


def signed_in_app(data_dir: Any, unit_no: str, new_password: str) -> tuple[Any, dict[str, str]]:
    """The bureau server's app over the bureau in ``data_dir`` (a Flask test
    client), its employer ``unit_no`` given an initial password, signed in and
    moved to ``new_password``: the client and the headers carrying its token."""
    from pathlib import Path

    from pension_collect.server.app import ServerConfig, create_app
    from pension_collect.server.auth import AuthStore

    store = AuthStore(Path(data_dir) / "bureau.db")
    initial = store.set_initial_password(unit_no)
    store.close()
    client = create_app(ServerConfig(data_dir=data_dir)).test_client()
    first = client.post("/api/v1/session", json={"unit_no": unit_no, "password": initial})
    token = client.post(
        "/api/v1/password",
        json={"old_password": initial, "new_password": new_password},
        headers={"Authorization": f"Bearer {first.json['token']}"},
    ).json["token"]
    return client, {"Authorization": f"Bearer {token}"}
