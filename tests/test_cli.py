"""The ``pension-collect`` command line, run as a real process (docs/cli.md).

``python -m pension_collect`` is the console script's twin; the main paths run
it through :mod:`subprocess` so that exit statuses, standard streams and the
absence of tracebacks are what a user sees. Variations of those paths and the
listing commands run in-process through :func:`pension_collect.cli.main`
(a process start costs more than half a second).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import pension_collect
from pension_collect.cli import main
from pension_collect.plugins import PluginHost

REPO = Path(__file__).resolve().parents[1]
#: CI checks the project out with a copy of shared/ beside it (<repo>/../shared).
SHARED_EXAMPLE = REPO.parent / "shared" / "spec" / "example-dossier.json"
EXAMPLE_PATH = Path(pension_collect.__file__).parent / "data" / "example-dossier.json"
EXAMPLE_TEXT = EXAMPLE_PATH.read_text(encoding="utf-8")
IDS = ("371002196503021239", "371082197011152423", "371083197506203516")
MASKED = ("371002********1239", "371082********2423", "371083********3516")
REPORT_KEYS = {"format", "version", "rule_pack", "summary", "findings", "segments", "workers"}
FINDING_KEYS = {
    "code",
    "severity",
    "path",
    "field",
    "related",
    "procedure",
    "message",
    "message_zh",
    "expected",
    "fix",
}


def cli(*args: str | Path, stdin: bytes | None = None) -> subprocess.CompletedProcess[str]:
    """Run ``python -m pension_collect ARGS`` and capture its output as UTF-8 text."""
    env = {**os.environ, "PYTHONIOENCODING": "utf-8"}
    done = subprocess.run(
        [sys.executable, "-m", "pension_collect", *map(str, args)],
        input=stdin,
        capture_output=True,
        env=env,
        timeout=120,
        check=False,
    )
    result = subprocess.CompletedProcess(
        done.args, done.returncode, done.stdout.decode("utf-8"), done.stderr.decode("utf-8")
    )
    assert "Traceback" not in result.stdout + result.stderr, result.stderr
    return result


InProcess = Callable[..., "subprocess.CompletedProcess[str]"]


@pytest.fixture
def inproc(capsys: pytest.CaptureFixture[str]) -> InProcess:
    """Run ``main(ARGS)`` in this process (cheaper) and capture it like :func:`cli`."""

    def run(*args: str | Path) -> subprocess.CompletedProcess[str]:
        try:
            status = main([str(a) for a in args])
        except SystemExit as exc:  # argparse's usage errors
            status = int(exc.code or 0)
        captured = capsys.readouterr()
        return subprocess.CompletedProcess(list(args), status, captured.out, captured.err)

    return run


def example_data() -> dict[str, Any]:
    """The example dossier's JSON data, fresh."""
    data: dict[str, Any] = json.loads(EXAMPLE_TEXT)
    return data


def write(tmp_path: Path, data: Any, name: str = "dossier.json") -> Path:
    """Write ``data`` as JSON (or text as is) to a file in ``tmp_path``."""
    path = tmp_path / name
    text = data if isinstance(data, str) else json.dumps(data, ensure_ascii=False)
    path.write_text(text, encoding="utf-8")
    return path


def with_errors(tmp_path: Path) -> Path:
    """The example with one error on worker 0 and two on worker 2, and the first
    spec example's credit code (its GB 11714 check fails: one employer warning)."""
    data = example_data()
    data["employer"]["credit_code"] = "91371000MA3C0EXA1W"
    data["workers"][0]["gender"] = "female"
    data["workers"][2]["birth_date"] = "1975-06-21"
    data["workers"][2]["history"][0]["start"] = "1994-12"  # before first work 1995-01
    return write(tmp_path, data)


def _groups(text: str) -> dict[str, list[str]]:
    """Text output: each group heading with the codes of the findings under it."""
    groups: dict[str, list[str]] = {}
    heading = None
    for line in text.splitlines()[1:]:
        if line and not line.startswith(" "):
            heading = line
            groups[heading] = []
        elif heading is not None and (found := re.match(r"  - \S+ (\S+)", line)):
            groups[heading].append(found.group(1))
    return groups


def error_lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if re.match(r"\s+- (错误|error) ", line)]


class TestValidateValid:
    """``validate`` on the valid example dossiers exits 0 with no error finding."""

    @pytest.mark.skipif(
        not SHARED_EXAMPLE.is_file(),
        reason=f"shared/ is not checked out beside the repository ({SHARED_EXAMPLE} is absent)",
    )
    @pytest.mark.parametrize("fmt", ["text", "json"])
    def test_shared_example(self, fmt: str) -> None:
        """The spec's example-dossier.json validates with status 0."""
        result = cli("validate", SHARED_EXAMPLE, "--format", fmt)
        assert result.returncode == 0, result.stdout + result.stderr
        self._assert_no_error(result.stdout, fmt)

    @pytest.mark.parametrize("fmt", ["text", "json"])
    def test_bundled_example(self, fmt: str) -> None:
        """``validate --example`` validates with status 0."""
        result = cli("validate", "--example", "--format", fmt)
        assert result.returncode == 0, result.stdout + result.stderr
        assert result.stderr == ""
        self._assert_no_error(result.stdout, fmt)

    def test_standard_input(self) -> None:
        """``validate -`` reads the dossier from standard input."""
        result = cli("validate", "-", "--format", "json", stdin=EXAMPLE_TEXT.encode("utf-8"))
        assert result.returncode == 0
        assert json.loads(result.stdout)["summary"] == {"workers": 3, "errors": 0, "warnings": 0}

    @staticmethod
    def _assert_no_error(stdout: str, fmt: str) -> None:
        if fmt == "json":
            report = json.loads(stdout)
            assert report["summary"]["errors"] == 0
            assert [f for f in report["findings"] if f["severity"] == "error"] == []
        else:
            assert "0 个错误" in stdout.splitlines()[0]
            assert error_lines(stdout) == []


class TestValidateErrors:
    """``validate`` on a readable dossier with error findings exits 1."""

    def test_exit_status_1(self, tmp_path: Path) -> None:
        """An error finding gives status 1 and the finding's code."""
        result = cli("validate", with_errors(tmp_path))
        assert result.returncode == 1
        assert "person.gender-mismatch" in result.stdout
        assert "3 个错误" in result.stdout.splitlines()[0]

    def test_warning_only_is_status_0(self, inproc: InProcess, tmp_path: Path) -> None:
        """Warnings alone give status 0."""
        data = example_data()
        data["workers"][0]["first_work"] = "1981-01"  # before the 16th birthday: a warning
        result = inproc("validate", write(tmp_path, data), "--format", "json")
        assert result.returncode == 0
        assert json.loads(result.stdout)["summary"] == {"workers": 3, "errors": 0, "warnings": 1}

    def test_text_groups_by_worker_with_masked_id(self, tmp_path: Path) -> None:
        """Text output groups findings under each worker's masked id, never the full id."""
        result = cli("validate", with_errors(tmp_path))
        out = result.stdout
        for number in IDS:
            assert number not in out
        groups = _groups(out)
        assert list(groups) == [
            "单位 / 档案:",
            "职工 #1 张伟(371002********1239):",
            "职工 #3 王强(371083********3516):",
        ]  # worker #2 has no finding: no heading
        assert groups["职工 #1 张伟(371002********1239):"] == ["person.gender-mismatch"]
        assert sorted(groups["职工 #3 王强(371083********3516):"]) == [
            "history.before-first-work",
            "person.birth-date-mismatch",
        ]

    def test_english(self, tmp_path: Path) -> None:
        """``--lang en`` writes the summary and messages in English."""
        result = cli("validate", with_errors(tmp_path), "--lang", "en")
        lines = result.stdout.splitlines()
        assert lines[0].startswith(
            "Rule pack weihai-2013, collection month 2013-08: 3 workers, 3 errors, 1 warning"
        )
        assert list(_groups(result.stdout))[1:] == [
            "Worker #1 张伟 (371002********1239):",
            "Worker #3 王强 (371083********3516):",
        ]
        assert len(error_lines(result.stdout)) == 3
        assert "The gender differs from the one the identity number gives (male)" in result.stdout
        assert "性别与身份证号码不符" not in result.stdout
        for number in IDS:
            assert number not in result.stdout

    def test_json_report_format(self, tmp_path: Path) -> None:
        """``--format json`` prints the report format of docs/report.md."""
        result = cli("validate", with_errors(tmp_path), "--format", "json")
        assert result.returncode == 1
        report = json.loads(result.stdout)
        assert set(report) >= REPORT_KEYS
        assert (report["format"], report["version"], report["rule_pack"]) == (
            "pension-collect/report",
            1,
            "weihai-2013",
        )
        assert report["summary"] == {"workers": 3, "errors": 3, "warnings": 1}
        for finding in report["findings"]:
            assert set(finding) <= FINDING_KEYS
            assert {"code", "severity", "path", "message", "message_zh"} <= set(finding)
            assert finding["severity"] in ("error", "warning")
        gender = next(f for f in report["findings"] if f["code"] == "person.gender-mismatch")
        assert (gender["path"], gender["expected"]) == ("$.workers[0]", "male")
        assert report["segments"][0] == {
            "path": "$.workers[0].history[0]",
            "box": "upper",
            "category": "deemed",
            "months": 114,
        }
        assert report["workers"][0] == {
            "path": "$.workers[0]",
            "id_number_18": IDS[0],
            "months": {"deemed": 114, "pre_account": 39, "post_account": 0},
        }


class TestValidateUnreadable:
    """Status 2: the input is not a readable dossier, or the command is misused."""

    def _junk(self, tmp_path: Path) -> Path:
        data = example_data()
        data["employer"]["fax"] = "0631-0000000"
        data["workers"][1]["history"][0]["end"] = "1994-13"
        data["workers"][2]["account"][0]["balance"] = 1056.0
        return write(tmp_path, data)

    JUNK_PATHS = (
        "$.employer.fax",
        "$.workers[1].history[0].end",
        "$.workers[2].account[0].balance",
    )

    @pytest.mark.parametrize("lang", ["zh", "en"])
    def test_lists_every_problem(self, tmp_path: Path, lang: str) -> None:
        """Every shape problem is printed with its path, status 2, no traceback."""
        result = cli("validate", self._junk(tmp_path), "--lang", lang)
        assert result.returncode == 2
        for path in self.JUNK_PATHS:
            assert f"  {path}: " in result.stdout
        header = result.stdout.splitlines()[0]
        assert ("共 3 处问题" if lang == "zh" else "not a readable dossier, 3 problems") in header

    def test_problems_document(self, tmp_path: Path) -> None:
        """With ``--format json`` the problems come as a pension-collect/problems document."""
        junk = self._junk(tmp_path)
        result = cli("validate", junk, "--format", "json")
        assert result.returncode == 2
        doc = json.loads(result.stdout)
        assert (doc["format"], doc["version"], doc["source"]) == (
            "pension-collect/problems",
            1,
            str(junk),
        )
        assert [p["path"] for p in doc["problems"]] == list(self.JUNK_PATHS)
        for problem in doc["problems"]:
            assert set(problem) == {"path", "message", "message_zh"}
            assert problem["message"]
            assert problem["message_zh"]

    @pytest.mark.parametrize("content", ["{", "[]", '{"format": "pension-collect/dossier"}'])
    def test_not_a_dossier(self, inproc: InProcess, tmp_path: Path, content: str) -> None:
        """Broken JSON, a list, a missing version: status 2 and the path ``$...``."""
        result = inproc("validate", write(tmp_path, content), "--lang", "en")
        assert result.returncode == 2
        assert re.search(r"^  \$(\.version)?: ", result.stdout, re.MULTILINE)

    def test_not_utf8(self, inproc: InProcess, tmp_path: Path) -> None:
        """A GBK-encoded file: status 2, "not UTF-8"."""
        path = tmp_path / "gbk.json"
        path.write_bytes(EXAMPLE_TEXT.encode("gbk"))
        result = inproc("validate", path, "--lang", "en")
        assert result.returncode == 2
        assert "not UTF-8" in result.stdout

    def test_missing_file(self, tmp_path: Path) -> None:
        """A file that does not exist: status 2 and a one-line reason on stderr."""
        result = cli("validate", tmp_path / "absent.json")
        assert result.returncode == 2
        assert result.stdout == ""
        assert "cannot read" in result.stderr
        assert "absent.json" in result.stderr

    def test_directory(self, inproc: InProcess, tmp_path: Path) -> None:
        """A directory given as the file: status 2, no traceback."""
        result = inproc("validate", tmp_path)
        assert result.returncode == 2
        assert "cannot read" in result.stderr

    def test_unknown_rule_pack(self) -> None:
        """An unknown ``--rule-pack``: status 2 naming it and the installed packs."""
        result = cli("validate", "--example", "--rule-pack", "acme-9999")
        assert result.returncode == 2
        assert "no rule pack named 'acme-9999'" in result.stderr
        assert "weihai-2013" in result.stderr

    def test_unknown_rule_pack_named_by_the_dossier(
        self, inproc: InProcess, tmp_path: Path
    ) -> None:
        """A dossier naming an unknown pack: status 2."""
        data = example_data()
        data["rule_pack"] = "acme-9999"
        result = inproc("validate", write(tmp_path, data))
        assert result.returncode == 2
        assert "acme-9999" in result.stderr

    def test_no_file(self, inproc: InProcess) -> None:
        """``validate`` with neither a file nor ``--example`` is a usage error (2):
        one line naming what is missing and where to look, no usage block."""
        result = inproc("validate")
        assert result.returncode == 2
        assert result.stderr.splitlines() == [
            "pension-collect validate: one of the arguments file --example is required "
            "(see 'pension-collect validate --help')"
        ]

    def test_no_command(self, inproc: InProcess) -> None:
        """No command is a usage error (2): one line listing the commands."""
        result = inproc()
        assert result.returncode == 2
        assert result.stdout == ""
        (line,) = result.stderr.splitlines()
        assert line.startswith("pension-collect: a command is needed: validate, example, rules")


class TestEntryPoints:
    """The ways of starting the command."""

    def test_module_version(self) -> None:
        """``python -m pension_collect --version`` prints the version."""
        result = cli("--version")
        assert result.returncode == 0
        assert result.stdout.strip() == f"pension-collect {pension_collect.__version__}"

    def test_console_script(self) -> None:
        """The installed ``pension-collect`` script runs the same main."""
        script = Path(sys.executable).parent / "pension-collect"
        if not script.exists():
            pytest.skip(f"no console script next to the interpreter ({script})")
        done = subprocess.run(
            [str(script), "validate", "--example", "--format", "json"],
            capture_output=True,
            timeout=120,
            check=False,
        )
        assert done.returncode == 0
        assert json.loads(done.stdout)["format"] == "pension-collect/report"


class TestOtherCommands:
    """``example``, ``rules`` and ``plugins``, run in-process."""

    def test_example_to_stdout(self, capsys: pytest.CaptureFixture[str]) -> None:
        """``example`` prints the bundled example dossier."""
        assert main(["example"]) == 0
        assert capsys.readouterr().out == EXAMPLE_TEXT

    def test_example_to_file(self, tmp_path: Path) -> None:
        """``example --out FILE`` writes it to FILE."""
        out = tmp_path / "example.json"
        assert main(["example", "--out", str(out)]) == 0
        assert out.read_text(encoding="utf-8") == EXAMPLE_TEXT

    def test_rules_text(self, capsys: pytest.CaptureFixture[str]) -> None:
        """``rules`` lists every code with severity and paragraph; inactive ones marked."""
        assert main(["rules"]) == 0
        out = capsys.readouterr().out
        pack = PluginHost(load_entry_points=False).rule_pack()
        assert out.startswith(f"weihai-2013: {pack.title}\n")
        listed = [line.split()[0] for line in out.splitlines()[1:]]
        assert listed == list(pack.codes)
        (rate,) = [line for line in out.splitlines() if "history.rate-reference" in line]
        assert rate.split()[1:] == ["warning", "P3.4d", "(inactive)"]

    def test_rules_json(self, capsys: pytest.CaptureFixture[str]) -> None:
        """``rules --format json`` gives each rule's code, severity, paragraph and messages."""
        assert main(["rules", "--format", "json"]) == 0
        doc = json.loads(capsys.readouterr().out)
        assert doc["rule_pack"] == "weihai-2013"
        by_code = {r["code"]: r for r in doc["rules"]}
        assert by_code["history.crosses-box"]["procedure"] == "P3.4a"
        assert by_code["history.crosses-box"]["uses"] == ["upper_box_last_month", "account_start"]
        assert by_code["collection.incomplete"]["severity"] == "error"
        assert all(r["message"] and r["message_zh"] for r in doc["rules"])

    def test_rules_unknown_pack(self, capsys: pytest.CaptureFixture[str]) -> None:
        """``rules --rule-pack`` with an unknown name exits 2 with the reason."""
        assert main(["rules", "--rule-pack", "acme-9999"]) == 2
        assert "no rule pack named 'acme-9999'" in capsys.readouterr().err

    def test_plugins(self, capsys: pytest.CaptureFixture[str]) -> None:
        """``plugins`` lists the built-in rule pack as a built-in plugin."""
        assert main(["plugins"]) == 0
        lines = capsys.readouterr().out.splitlines()
        assert "pension_collect.adapters.rule_packs\t(built-in)" in lines


# -- hostile arguments (issue 10, item 8) ---------------------------------------------------

#: (arguments, exit status) for every command. Placeholders: {ex} the example
#: dossier, {tmp} an empty folder, {file} a file, {link} a symbolic link to a
#: file, {verif} a folder holding a file named ``verification``, {resdir} a
#: folder whose result.json is a folder, {store} a folder with a clerk's store.
HOSTILE: list[tuple[tuple[str, ...], int]] = [
    ((), 2),
    (("--version",), 0),
    (("--help",), 0),
    (("frobnicate",), 2),
    (("--nope",), 2),
    (("\x1b[2J",), 2),
    (("validate",), 2),
    (("validate", "{ex}", "--format", "xml"), 2),
    (("validate", "{ex}", "--lang", "fr"), 2),
    (("validate", "{ex}", "--rule-pack", "acme-9999"), 2),
    (("validate", "{ex}", "extra", "\x1b[2J"), 2),
    (("validate", "--example", "{ex}"), 2),
    (("validate", "{tmp}/missing.json"), 2),
    (("validate", "{tmp}"), 2),
    (("validate", ""), 2),
    (("validate", "/"), 2),
    (("validate", "-"), 2),  # standard input cannot be read under capsys
    (("validate", "{ex}", "--format"), 2),
    (("example", "--out"), 2),
    (("example", "--out", "."), 2),
    (("example", "--out", ""), 2),
    (("example", "--out", "/"), 2),
    (("example", "--out", "{tmp}"), 2),
    (("example", "--out", "{tmp}/"), 2),
    (("example", "--out", "{tmp}/missing/x"), 2),
    (("example", "--out", "{link}"), 2),
    (("example", "--out", "{file}/x"), 2),
    (("example", "stray"), 2),
    (("rules", "--rule-pack", "acme-9999"), 2),
    (("rules", "--rule-pack", "\x1b[2J"), 2),
    (("rules", "--format", "yaml"), 2),
    (("plugins", "extra"), 2),
    (("render",), 2),
    (("render", "summary", "{ex}"), 2),
    (("render", "letter", "{ex}", "--out", "{tmp}/x.pdf"), 2),
    (("render", "summary", "{tmp}/missing.json", "--out", "{tmp}/x.pdf"), 2),
    (("render", "summary", "{tmp}", "--out", "{tmp}/x.pdf"), 2),
    (("render", "summary", "{ex}", "--out", "."), 2),
    (("render", "summary", "{ex}", "--out", ""), 2),
    (("render", "summary", "{ex}", "--out", "/"), 2),
    (("render", "summary", "{ex}", "--out", "{tmp}"), 2),
    (("render", "summary", "{ex}", "--out", "{tmp}/sub/"), 2),
    (("render", "summary", "{ex}", "--out", "{tmp}/missing/x.pdf"), 2),
    (("render", "summary", "{ex}", "--out", "{link}"), 2),
    (("render", "summary", "{ex}", "--out", "{tmp}/x.pdf", "--worker", "¹"), 2),
    (("render", "summary", "{ex}", "--out", "{tmp}/x.pdf", "--worker", "０"), 2),
    (("render", "summary", "{ex}", "--out", "{tmp}/x.pdf", "--worker", "٣"), 2),
    (("render", "summary", "{ex}", "--out", "{tmp}/x.pdf", "--worker", "-1"), 2),
    (("render", "summary", "{ex}", "--out", "{tmp}/x.pdf", "--worker", "99"), 2),
    (("render", "summary", "{ex}", "--out", "{tmp}/x.pdf", "--worker", ""), 2),
    (("render", "summary", "{ex}", "--out", "{tmp}/x.pdf", "--worker", "\x1b[2J"), 2),
    (("render", "summary", "{ex}", "--out", "{tmp}/x.pdf", "--font", "{tmp}/none.ttf"), 2),
    (("render", "summary", "{ex}", "--out", "{tmp}/x.pdf", "--font", "{file}"), 2),
    (("render", "summary", "{ex}", "--out", "{tmp}/x.pdf", "--font", "{tmp}"), 2),
    (("render", "summary", "{ex}", "--out", "{tmp}/x.pdf", "--rule-pack", "acme-9999"), 2),
    (("verify",), 2),
    (("verify", "{tmp}/missing.json", "PC1/x"), 2),
    (("verify", "{ex}", "--format", "xml", "PC1/x"), 2),
    (("verify", "{ex}", "garbage"), 1),
    (("verify", "{ex}", "\x1b[2J\x00"), 1),
    (("demo", "--out"), 2),
    (("demo", "stray"), 2),
    (("demo", "--out", ""), 2),
    (("demo", "--out", "/"), 2),
    (("demo", "--out", "{file}"), 2),
    (("demo", "--out", "{link}"), 2),
    (("demo", "--out", "{verif}"), 2),
    (("demo", "--out", "{resdir}"), 2),
    (("demo", "--out", "{store}"), 2),
    (("demo", "--out", "{file}/sub"), 2),
]


@pytest.fixture
def hostile_places(tmp_path: Path) -> dict[str, str]:
    """The folders and files the hostile table's placeholders name."""
    (tmp_path / "tmp").mkdir()
    victim = tmp_path / "victim.txt"
    victim.write_text("victim\n", encoding="utf-8")
    link = tmp_path / "link.json"
    link.symlink_to(victim)
    verif = tmp_path / "verif"
    verif.mkdir()
    (verif / "verification").write_text("mine\n", encoding="utf-8")
    resdir = tmp_path / "resdir"
    (resdir / "result.json").mkdir(parents=True)
    store = tmp_path / "store"
    store.mkdir()
    (store / "collection.db").write_bytes(b"SQLite format 3\x00 a clerk's real store")
    return {
        "ex": str(EXAMPLE_PATH),
        "tmp": str(tmp_path / "tmp"),
        "file": str(victim),
        "link": str(link),
        "verif": str(verif),
        "resdir": str(resdir),
        "store": str(store),
    }


def _fill(args: tuple[str, ...], places: dict[str, str]) -> list[str]:
    out = []
    for a in args:
        for key, value in places.items():
            a = a.replace("{" + key + "}", value)
        out.append(a)
    return out


def _snapshot(root: Path) -> dict[str, bytes | None]:
    """Every path under ``root`` with a file's bytes (None for a folder or link)."""
    return {
        str(p.relative_to(root)): None if p.is_dir() or p.is_symlink() else p.read_bytes()
        for p in sorted(root.rglob("*"))
    }


def _check_hostile(status: int, out: str, err: str, expected: int) -> None:
    assert status == expected, err
    assert "Traceback" not in out + err
    assert "\x1b" not in out + err  # echoed back as an escape, never raw
    if expected == 2:
        lines = err.splitlines()
        assert len(lines) == 1, err
        assert lines[0].startswith("pension-collect")


class TestHostileArguments:
    """Every command over a table of hostile arguments: the documented exit
    status, one line on standard error for a refusal, never a traceback, and
    nothing changed on disk."""

    @pytest.mark.parametrize(("args", "expected"), HOSTILE, ids=[repr(a) for a, _ in HOSTILE])
    def test_in_process(
        self,
        args: tuple[str, ...],
        expected: int,
        hostile_places: dict[str, str],
        tmp_path: Path,
        capsys: pytest.CaptureFixture[str],
    ) -> None:
        if args[:1] == ("render",):
            pytest.importorskip("reportlab")
        before = _snapshot(tmp_path)
        status = main(_fill(args, hostile_places))
        captured = capsys.readouterr()
        _check_hostile(status, captured.out, captured.err, expected)
        assert _snapshot(tmp_path) == before  # nothing written, nothing deleted

    @pytest.mark.parametrize(
        "args",
        [
            (),
            ("render", "summary", "{ex}", "--out", "."),
            ("render", "summary", "{ex}", "--out", "{tmp}/x.pdf", "--worker", "¹"),
            ("example", "--out", "{tmp}/missing/x"),
            ("demo", "--out", "{file}"),
            ("demo", "--out", "{store}"),
            ("validate", "{ex}", "\x1b[2J"),
        ],
        ids=repr,
    )
    def test_console_script(
        self, args: tuple[str, ...], hostile_places: dict[str, str], tmp_path: Path
    ) -> None:
        """A few of them through the installed console script, in a fresh process."""
        script = Path(sys.executable).parent / "pension-collect"
        command = [str(script)] if script.exists() else [sys.executable, "-m", "pension_collect"]
        before = _snapshot(tmp_path)
        done = subprocess.run(
            [*command, *_fill(args, hostile_places)],
            capture_output=True,
            env={**os.environ, "PYTHONIOENCODING": "utf-8"},
            timeout=120,
            check=False,
        )
        out, err = done.stdout.decode(), done.stderr.decode()
        _check_hostile(done.returncode, out, err, 2)
        assert _snapshot(tmp_path) == before

    def test_unexpected_error_is_one_line(
        self, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """A bug (an exception nobody expected) is exit 3 with one line naming its
        type and asking for a report; never its message, which may hold personal
        data; the traceback only when asked for."""
        import pension_collect.cli.dossier as dossier_cli

        def broken(args: Any, out: Any) -> int:
            raise ValueError(f"{IDS[0]} 张伟")

        monkeypatch.setattr(dossier_cli, "_rules", broken)
        monkeypatch.delenv("PENSION_COLLECT_TRACEBACK", raising=False)
        assert main(["rules"]) == 3
        err = capsys.readouterr().err
        assert err.count("\n") == 1
        assert "internal error (ValueError)" in err
        assert "please report" in err
        assert IDS[0] not in err
        assert "张伟" not in err
        monkeypatch.setenv("PENSION_COLLECT_TRACEBACK", "1")
        assert main(["rules"]) == 3
        assert "Traceback" in capsys.readouterr().err

    def test_interrupted(
        self, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """Ctrl-C is exit 130 with one line, no traceback."""
        import pension_collect.cli.dossier as dossier_cli

        def interrupted(args: Any) -> int:
            raise KeyboardInterrupt

        monkeypatch.setattr(dossier_cli, "_plugins", interrupted)
        assert main(["plugins"]) == 130
        err = capsys.readouterr().err
        assert err == "pension-collect: interrupted (已中断)\n"

    def test_full_disk_on_standard_output(self) -> None:
        """Standard output on a full device: exit 2, one line, no traceback."""
        if not Path("/dev/full").exists():
            pytest.skip("no /dev/full here")
        with open("/dev/full", "wb") as full:
            done = subprocess.run(
                [sys.executable, "-m", "pension_collect", "example"],
                stdout=full,
                stderr=subprocess.PIPE,
                timeout=120,
                check=False,
            )
        err = done.stderr.decode()
        assert done.returncode == 2, err
        assert err.splitlines() == [
            "pension-collect: cannot write the output: No space left on device (无法写出结果)"
        ]

    def test_standard_output_closed(self) -> None:
        """Started with standard output closed (``>&-``): exit 2, one line."""
        done = subprocess.run(
            [sys.executable, "-m", "pension_collect", "rules"],
            stderr=subprocess.PIPE,
            preexec_fn=lambda: os.close(1),  # in the child, before it starts
            timeout=120,
            check=False,
        )
        err = done.stderr.decode()
        assert done.returncode == 2, err
        assert err.splitlines() == [
            "pension-collect: standard output is closed; nothing can be printed (标准输出已关闭)"
        ]
