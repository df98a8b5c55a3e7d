"""``pension-collect export-xlsx`` and ``import-xlsx`` through the installed
console script, as a clerk runs them (docs/cli.md): outputs, exit statuses,
and that nothing is written on any problem."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import jsonschema
import openpyxl
import pytest

from pension_collect.dossier import example_dossier_text, load, loads

SCRIPT = Path(sys.executable).parent / "pension-collect"
SCHEMA = Path(__file__).resolve().parents[1] / "docs" / "xlsx-problems.v1.json"
EXAMPLE = loads(example_dossier_text())


def run(*args: str | Path, stdin: bytes | None = None) -> subprocess.CompletedProcess[str]:
    if not SCRIPT.exists():
        pytest.skip(f"no console script next to the interpreter ({SCRIPT})")
    env = {**os.environ, "PYTHONIOENCODING": "utf-8"}
    done = subprocess.run(
        [str(SCRIPT), *map(str, args)],
        input=stdin,
        capture_output=True,
        env=env,
        timeout=120,
        check=False,
    )
    return subprocess.CompletedProcess(
        done.args,
        done.returncode,
        done.stdout.decode("utf-8"),
        done.stderr.decode("utf-8"),
    )


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("cli")
    (folder / "example.json").write_text(example_dossier_text(), "utf-8")
    done = run("export-xlsx", folder / "example.json", folder / "example.xlsx")
    assert (done.returncode, done.stderr) == (0, "")
    assert done.stdout == f"{folder / 'example.xlsx'}: 3 workers\n"
    return folder / "example.xlsx"


def test_export_then_import(exported: Path, tmp_path: Path) -> None:
    done = run("import-xlsx", exported, tmp_path / "back.json")
    assert (done.returncode, done.stderr) == (0, "")
    assert done.stdout == f"{tmp_path / 'back.json'}: 3 workers\n"
    assert load(tmp_path / "back.json") == EXAMPLE
    # the rules see what they see in the JSON dossier: the same report
    reports = [
        run("validate", path, "--format", "json")
        for path in (exported.with_name("example.json"), tmp_path / "back.json")
    ]
    assert [r.returncode for r in reports] == [0, 0]  # the example: no error finding
    assert json.loads(reports[0].stdout) == json.loads(reports[1].stdout)


def test_import_to_standard_output_and_json(exported: Path, tmp_path: Path) -> None:
    done = run("import-xlsx", exported, "-")
    assert done.returncode == 0
    assert loads(done.stdout) == EXAMPLE
    done = run("import-xlsx", exported, tmp_path / "b.json", "--format", "json")
    assert json.loads(done.stdout) == {"out": str(tmp_path / "b.json"), "workers": 3}


def test_export_from_standard_input(tmp_path: Path) -> None:
    done = run("export-xlsx", "-", tmp_path / "s.xlsx", stdin=example_dossier_text().encode())
    assert done.returncode == 0
    assert openpyxl.load_workbook(tmp_path / "s.xlsx", read_only=True).sheetnames[1] == "单位"


def test_template(tmp_path: Path) -> None:
    done = run("export-xlsx", "--template", tmp_path / "t.xlsx")
    assert (done.returncode, done.stdout) == (0, f"{tmp_path / 't.xlsx'}: blank workbook\n")
    done = run("import-xlsx", tmp_path / "t.xlsx", tmp_path / "t.json", "--lang", "en")
    assert done.returncode == 2
    assert done.stdout.splitlines() == [
        f"{tmp_path / 't.xlsx'}: not a readable dossier, 1 problem:",
        "  单位!3:3: the sheet 单位 holds no employer; fill in its row 3 (单位编号, 单位名称 ...)",
    ]
    assert not (tmp_path / "t.json").exists()


def test_problems_name_their_cells_and_nothing_is_written(exported: Path, tmp_path: Path) -> None:
    wb = openpyxl.load_workbook(exported)
    wb["缴费历史"]["C3"] = "1993-13"
    wb["养老账户"]["E4"] = 1234.567
    wb["职工"]["D5"] = "=A1"
    wb.save(tmp_path / "bad.xlsx")
    old = tmp_path / "old.json"
    old.write_text("keep", "utf-8")
    done = run("import-xlsx", tmp_path / "bad.xlsx", old)
    assert done.returncode == 2
    assert old.read_text("utf-8") == "keep"
    lines = done.stdout.splitlines()
    assert lines[0] == f"{tmp_path / 'bad.xlsx'}:无法读取为采集档案,共 3 处问题:"
    assert [line.split(": ")[0] for line in lines[1:]] == [
        "  职工!D5 [参加工作时间]",
        "  缴费历史!C3 [起始年月]",
        "  养老账户!E4 [缴费基数]",
    ]
    done = run("import-xlsx", tmp_path / "bad.xlsx", tmp_path / "new.json", "--format", "json")
    assert done.returncode == 2
    assert not (tmp_path / "new.json").exists()
    doc = json.loads(done.stdout)
    jsonschema.validate(doc, json.loads(SCHEMA.read_text("utf-8")))
    assert (doc["format"], doc["version"], doc["source"]) == (
        "pension-collect/xlsx-problems",
        1,
        str(tmp_path / "bad.xlsx"),
    )
    assert [(p["code"], p["cell"], p["sheet"], p["row"], p["column"]) for p in doc["problems"]] == [
        ("xlsx.formula", "职工!D5", "职工", 5, "参加工作时间"),
        ("xlsx.month", "缴费历史!C3", "缴费历史", 3, "起始年月"),
        ("xlsx.money", "养老账户!E4", "养老账户", 4, "缴费基数"),
    ]
    assert all(p["path"] == p["cell"] and p["message_zh"] for p in doc["problems"])


def test_unreadable_inputs(tmp_path: Path) -> None:
    (tmp_path / "x.xlsx").write_text("not a workbook", "utf-8")
    done = run("import-xlsx", tmp_path / "x.xlsx", tmp_path / "x.json", "--lang", "en")
    assert done.returncode == 2
    assert done.stdout.splitlines()[1].startswith("  workbook: not an Excel workbook (.xlsx)")
    assert not (tmp_path / "x.json").exists()
    done = run("import-xlsx", tmp_path / "missing.xlsx", tmp_path / "x.json")
    assert (done.returncode, done.stdout) == (2, "")
    assert done.stderr == (
        f"pension-collect: cannot read {tmp_path / 'missing.xlsx'}: No such file or directory\n"
    )
    (tmp_path / "bad.json").write_text('{"format": "x"}', "utf-8")
    done = run("export-xlsx", tmp_path / "bad.json", tmp_path / "b.xlsx", "--lang", "en")
    assert done.returncode == 2
    assert "$.format" in done.stdout
    assert not (tmp_path / "b.xlsx").exists()


def test_unwritable_outputs_and_usage(exported: Path, tmp_path: Path) -> None:
    example = tmp_path / "e.json"
    example.write_text(example_dossier_text(), "utf-8")
    done = run("export-xlsx", example, tmp_path / "no" / "e.xlsx")
    assert done.returncode == 2
    assert "does not exist; create it first" in done.stderr
    done = run("import-xlsx", exported, tmp_path)
    assert done.returncode == 2
    assert "is a folder" in done.stderr
    done = run("export-xlsx", "--template", example, tmp_path / "t.xlsx")
    assert done.returncode == 2
    assert done.stderr.startswith("pension-collect export-xlsx: --template takes one argument")
    assert list(tmp_path.iterdir()) == [example]
