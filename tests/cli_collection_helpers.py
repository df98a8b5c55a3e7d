"""Running the collection commands through the real console script (a
subprocess of the venv's ``pension-collect``) and checking their JSON against
the schemas in docs/schemas/."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from functools import cache
from pathlib import Path
from typing import Any

import attrs
from jsonschema import Draft202012Validator
from referencing import Registry, Resource

from pension_collect.adapters.reference_bureau import Person, ReferenceBureau
from pension_collect.dossier import example_dossier_text, loads

ROOT = Path(__file__).resolve().parents[1]
SCHEMAS = ROOT / "docs" / "schemas"
SCRIPT = Path(sys.executable).with_name("pension-collect")
UNIT = "10012345"
OTHER_UNIT = "10099999"
#: What must never be printed: the example's names and identity numbers.
SECRETS = (
    "张伟",
    "李娜",
    "王强",
    "371002196503021239",
    "371082197011152423",
    "371083197506203516",
)


@cache
def _registry() -> Registry[Any]:
    resources = []
    for path in sorted(SCHEMAS.glob("*.json")):
        schema = json.loads(path.read_text(encoding="utf-8"))
        resources.append((schema["$id"], Resource.from_contents(schema)))
    return Registry().with_resources(resources)


def schema(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((SCHEMAS / f"{name}.v1.json").read_text(encoding="utf-8"))
    return loaded


def validate(doc: dict[str, Any], name: str) -> None:
    """``doc`` is valid against docs/schemas/NAME.v1.json (raises otherwise)."""
    Draft202012Validator(schema(name), registry=_registry()).validate(doc)


def environment(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PENSION_COLLECT_")}
    env.update(PENSION_COLLECT_UNIT=UNIT, PENSION_COLLECT_ACTOR="clerk-sun", **extra)
    return env


@attrs.frozen
class Run:
    status: int
    out: str
    err: str

    @property
    def doc(self) -> dict[str, Any]:
        loaded: dict[str, Any] = json.loads(self.out)
        return loaded


def run(cwd: Path, *args: str, env: dict[str, str] | None = None, stdin: str = "") -> Run:
    """``pension-collect ARGS`` in ``cwd`` (its store collection.db, its bureau
    local:bureau), as a clerk's shell runs it."""
    done = subprocess.run(
        [str(SCRIPT), *args],
        cwd=cwd,
        env=env if env is not None else environment(),
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    for secret in SECRETS:
        personal = args[:1] == ("audit",) and "json" in args  # audit --format json: the data
        assert personal or secret not in done.stdout + done.stderr, (args, secret)
    return Run(done.returncode, done.stdout, done.stderr)


def json_run(cwd: Path, command: str, *args: str, status: int = 0, **kw: Any) -> dict[str, Any]:
    """``pension-collect COMMAND ARGS --format json``: its exit status is
    ``status`` and its document is valid against its schema."""
    done = run(cwd, command, *args, "--format", "json", **kw)
    assert done.status == status, (command, args, done.status, done.err)
    doc = done.doc
    kind = str(doc.get("format", "")).removeprefix("pension-collect/")
    validate(doc, kind if kind in ("error", "problems") else command)
    return doc


def seed_bureau(folder: Path) -> dict[str, Person]:
    """The example employer and its three workers at a bureau in ``folder``/bureau
    (its state in bureau/bureau.db, as ``local:bureau`` opens it); the example
    dossier written to ``folder``/dossier.json. Returns the persons by key."""
    (folder / "dossier.json").write_text(example_dossier_text(), encoding="utf-8")
    bureau = ReferenceBureau.open(folder / "bureau")
    try:
        return bureau.seed_dossier(loads(example_dossier_text()))
    finally:
        bureau.close()


def at_bureau(folder: Path, person_no: str, unit_no: str) -> None:
    """The bureau moves a person to an employer (what only the bureau knows)."""
    bureau = ReferenceBureau.open(folder / "bureau")
    try:
        bureau.transfer_person(person_no, unit_no)
    finally:
        bureau.close()
