"""The hostile-input suite (issue 10; docs/testing.md, "Hostile-input suite").

Every case of the corpus (tests/hostile/make_corpus.py, generated into a
temporary folder) goes through the real console script, ``pension-collect``,
in a child process whose resources are capped by rlimits set in the child
(``preexec_fn``): CPU seconds (RLIMIT_CPU), address space (RLIMIT_AS) and the
size of any file it writes (RLIMIT_FSIZE; its standard output and error are
files). A case that needs more is killed by the kernel or gets a
MemoryError: the limit is the assertion, not a clock in the test. A wall-clock
guard only catches a child blocked without using CPU.

Each run must end with an exit status documented in docs/cli.md (0, 1 or 2,
as the case says), print no traceback, say where the problem is (the file, or
the JSON path), keep its output within the case's bound, show no raw control
or invisible format character (an ANSI escape in a name must not reach the
clerk's terminal), and never echo a shifted column's identity number or name.

The children run in parallel (two at a time: CI has two cores) in one go the
first time a test asks for a result; each test then checks its run.
``HOSTILE_REPORT=FILE`` writes every run's outcome as JSON (for the closing
note of issue 10).
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import signal
import subprocess
import sys
import sysconfig
import time
import unicodedata
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from hostile.make_corpus import BASE_ID, CASES, KIB, MIB, Case, build, dossier, text

pytestmark = pytest.mark.slow

#: A worker's confirmation-form payload (docs/forms.md): well-formed, so
#: ``verify`` reads the dossier and compares.
PAYLOAD = "PC1/10012345/P37100200001/DECL-1/201112/AF280680461BDF7C95226ABCA1E2BFEA"

#: Per-child limits: (CPU seconds, address space) for ordinary and heavy cases.
#: The heavy inputs are 5-50 MB; json.load of the 23 MB one peaks at 180 MB.
LIMITS = {False: (10, 768 * MIB), True: (15, 1536 * MIB)}
#: No child may write a file (its stdout, a PDF) bigger than this.
FSIZE = 64 * MIB
#: Only catches a child blocked without using CPU (a FIFO nobody writes).
WALL_GUARD = 120.0
JOBS = min(2, os.cpu_count() or 1)

#: Characters that must never reach the output raw: control characters
#: (tab and newline aside), invisible format characters (bidi overrides,
#: zero-width ones), surrogates and the line/paragraph separators.
BAD_CATEGORIES = {"Cc", "Cf", "Cs", "Zl", "Zp"}
ALLOWED = {"\n", "\t"}

TEXT_KINDS = {"text", "privacy", "files", "endless", "limits"}


def _console_script() -> str:
    """The installed ``pension-collect`` beside this interpreter (CI's venv)."""
    name = "pension-collect.exe" if os.name == "nt" else "pension-collect"
    for folder in (Path(sys.executable).parent, Path(sysconfig.get_path("scripts"))):
        if (folder / name).exists():
            return str(folder / name)
    found = shutil.which(name)
    if found is None:  # not a skip: CI must run this suite
        pytest.fail("the pension-collect console script is not installed (pip install -e .)")
    return found


# -- running children under rlimits -------------------------------------------


@dataclass
class Spec:
    """One child: the argv after ``pension-collect``, and how it is run."""

    id: str
    case: str
    kind: str
    mode: str
    argv: list[str]
    expect: tuple[int, ...]
    heavy: bool = False
    stdin: str | None = None
    feed: str | None = None
    env: dict[str, str] = field(default_factory=dict)
    cwd: str | None = None
    out_dir: Path | None = None
    max_output: int = 256 * KIB
    encoding: str = "utf-8"
    where: str | None = None
    secrets: tuple[str, ...] = ()


@dataclass
class Result:
    status: int | None
    stdout: bytes
    stderr: bytes
    cpu: float
    wall: float
    hung: bool


def _limiter(cpu: int, memory: int) -> Callable[[], None]:
    def apply() -> None:  # runs in the child, between fork and exec
        resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 2))
        resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
        resource.setrlimit(resource.RLIMIT_FSIZE, (FSIZE, FSIZE))
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))

    return apply


FEEDER = """
import os, sys
fd = os.open(sys.argv[1], os.O_WRONLY)
chunk = bytes(1 << 16)
try:
    while True:
        os.write(fd, chunk)
except OSError:
    pass
"""


@dataclass
class _Running:
    spec: Spec
    proc: subprocess.Popen[bytes]
    out: Path
    err: Path
    started: float
    feeder: subprocess.Popen[bytes] | None


def run_all(specs: list[Spec], script: str, scratch: Path) -> dict[str, Result]:
    """Run every spec, ``JOBS`` at a time; the results by spec id."""
    results: dict[str, Result] = {}
    pending = list(reversed(specs))
    running: list[_Running] = []
    base_env = {k: v for k, v in os.environ.items() if not k.startswith("PENSION_COLLECT_")}
    # Third-party plugins installed beside the package are not under test
    # (CI installs none): leave them out so every machine runs the same code.
    base_env["PENSION_COLLECT_DISABLE_PLUGINS"] = "1"
    base_env.pop("PYTHONIOENCODING", None)
    # Byte code cached in the scratch folder (never in the tree): a third of
    # each child's start-up otherwise, where PYTHONDONTWRITEBYTECODE is set.
    base_env.pop("PYTHONDONTWRITEBYTECODE", None)
    base_env["PYTHONPYCACHEPREFIX"] = str(scratch / "pycache")
    while pending or running:
        while pending and len(running) < JOBS:
            spec = pending.pop()
            folder = scratch / "runs" / spec.id.replace("/", "_")
            folder.mkdir(parents=True)
            out, err = folder / "stdout", folder / "stderr"
            feeder = None
            if spec.feed:
                feeder = subprocess.Popen([sys.executable, "-c", FEEDER, spec.feed])
            cpu, memory = LIMITS[spec.heavy]
            with (
                open(out, "wb") as o,
                open(err, "wb") as e,
                open(spec.stdin or os.devnull, "rb") as i,
            ):
                proc = subprocess.Popen(
                    [script, *spec.argv],
                    stdin=i,
                    stdout=o,
                    stderr=e,
                    env={**base_env, **spec.env},
                    cwd=spec.cwd,
                    preexec_fn=_limiter(cpu, memory),
                    start_new_session=True,
                )
            running.append(_Running(spec, proc, out, err, time.monotonic(), feeder))
        time.sleep(0.01)
        for r in list(running):
            pid, status, usage = os.wait4(r.proc.pid, os.WNOHANG)
            hung = False
            if pid == 0:
                if time.monotonic() - r.started < WALL_GUARD:
                    continue
                os.killpg(r.proc.pid, signal.SIGKILL)
                pid, status, usage = os.wait4(r.proc.pid, 0)
                hung = True
            r.proc.returncode = os.waitstatus_to_exitcode(status)
            if r.feeder is not None:
                r.feeder.kill()
                r.feeder.wait()
            results[r.spec.id] = Result(
                status=r.proc.returncode,
                stdout=r.out.read_bytes(),
                stderr=r.err.read_bytes(),
                cpu=usage.ru_utime + usage.ru_stime,
                wall=time.monotonic() - r.started,
                hung=hung,
            )
            running.remove(r)
    return results


# -- what each case runs --------------------------------------------------------


def validate_modes(c: Case) -> list[str]:
    """The ``validate`` runs of a case: the clerk's text output (Chinese, the
    default) for the families whose text is the point, JSON for the others
    and the heavy inputs; both formats and both languages for the cases
    marked ``both_langs``."""
    if c.both_langs:
        return ["json", "text-zh", "text-en"]
    return ["text-zh"] if c.kind in TEXT_KINDS and not c.heavy else ["json"]


def _corpus_specs(corpus: Path, scratch: Path) -> Iterator[Spec]:
    for c in CASES:
        path = c.file if c.file == "-" or os.path.isabs(c.file) else str(corpus / c.file)
        stdin = c.stdin
        feed = str(corpus / c.file) if c.feed else None
        common = {
            "case": c.name,
            "kind": c.kind,
            "heavy": c.heavy,
            "stdin": stdin,
            "feed": feed,
            "max_output": c.max_output,
            "where": c.where,
            "secrets": c.secrets,
        }
        for mode in validate_modes(c):
            options = {"json": ["--format", "json"], "text-en": ["--lang", "en"], "text-zh": []}
            yield Spec(
                id=f"{c.name}/{mode}",
                mode=mode,
                argv=["validate", path, *options[mode], *c.args],
                expect=c.exits,
                **common,  # type: ignore[arg-type]
            )
        if c.verify:
            yield Spec(
                id=f"{c.name}/verify",
                mode="verify",
                argv=["verify", path, PAYLOAD],
                expect=(2,) if c.exits == (2,) else (0, 1, 2) if 2 in c.exits else (0, 1),
                **common,  # type: ignore[arg-type]
            )
        if c.render is not None:
            out_dir = scratch / "render" / c.name
            out_dir.mkdir(parents=True)
            yield Spec(
                id=f"{c.name}/render",
                mode="render",
                argv=["render", "confirmation", path, "--out", str(out_dir / "forms.pdf")],
                expect=c.render,
                out_dir=out_dir,
                **{**common, "max_output": 64 * KIB},  # type: ignore[arg-type]
            )
    # An old GBK console: what it cannot show is replaced, never a failure.
    for name in ("astral-name", "ansi-clear-screen", "format-char-rlo"):
        c = next(c for c in CASES if c.name == name)
        yield Spec(
            id=f"{name}/gbk-console",
            case=name,
            kind=c.kind,
            mode="text-zh",
            argv=["validate", str(corpus / c.file)],
            expect=c.exits,
            env={"PYTHONIOENCODING": "gbk"},
            encoding="gbk",
            where=c.where,
        )


@dataclass(frozen=True)
class Scenario:
    """A command with hostile arguments or a hostile output folder."""

    name: str
    what: str
    argv: list[str]
    expect: tuple[int, ...]
    #: files to lay in the scenario's folder before the run: name -> bytes,
    #: a symlink target (``"->target"``) or None for a folder
    setup: dict[str, bytes | str | None] = field(default_factory=dict)
    #: files that must hold the same bytes afterwards
    untouched: tuple[str, ...] = ()
    #: files that must not exist afterwards
    absent: tuple[str, ...] = ()
    stdin: str | None = None
    max_output: int = 64 * KIB


CLEAN = text(dossier())
VICTIM = b"the clerk's notes: keep me\n"
FOREIGN_DB = b"SQLite format 3\x00" + bytes(4080)

SCENARIOS = (
    Scenario(
        "render-out-missing-dir",
        "render --out into a folder that does not exist",
        ["render", "summary", "d.json", "--out", "missing/forms.pdf"],
        (2,),
        {"d.json": CLEAN},
    ),
    Scenario(
        "render-out-directory",
        "render --out an existing folder",
        ["render", "summary", "d.json", "--out", "folder"],
        (2,),
        {"d.json": CLEAN, "folder": None},
    ),
    Scenario(
        "render-out-dot",
        "render --out .",
        ["render", "summary", "d.json", "--out", "."],
        (2,),
        {"d.json": CLEAN},
    ),
    Scenario(
        "render-out-empty",
        'render --out ""',
        ["render", "summary", "d.json", "--out", ""],
        (2,),
        {"d.json": CLEAN},
    ),
    Scenario(
        "render-part-symlink",
        "forms.pdf.part is a symlink to the clerk's notes (must not become a PDF)",
        ["render", "summary", "d.json", "--out", "forms.pdf"],
        (0, 2),
        {"d.json": CLEAN, "victim.txt": VICTIM, "forms.pdf.part": "->victim.txt"},
        untouched=("victim.txt",),
    ),
    Scenario(
        "render-out-symlink",
        "forms.pdf is a symlink to the clerk's notes",
        ["render", "summary", "d.json", "--out", "forms.pdf"],
        (0, 2),
        {"d.json": CLEAN, "victim.txt": VICTIM, "forms.pdf": "->victim.txt"},
        untouched=("victim.txt",),
    ),
    Scenario(
        "render-part-directory",
        "forms.pdf.part is a folder",
        ["render", "summary", "d.json", "--out", "forms.pdf"],
        (0, 2),
        {"d.json": CLEAN, "forms.pdf.part": None, "forms.pdf.part/x": b"x"},
        untouched=("forms.pdf.part/x",),
    ),
    Scenario(
        "render-worker-superscript",
        "render --worker ¹ (isdigit() is true, int() fails)",
        ["render", "summary", "d.json", "--out", "f.pdf", "--worker", "¹"],
        (2,),
        {"d.json": CLEAN},
        absent=("f.pdf", "f.pdf.part"),
    ),
    Scenario(
        "render-worker-fullwidth",
        "render --worker ０ (a full-width zero must not mean worker 0)",
        ["render", "summary", "d.json", "--out", "f.pdf", "--worker", "０"],
        (2,),
        {"d.json": CLEAN},
        absent=("f.pdf", "f.pdf.part"),
    ),
    Scenario(
        "render-ansi-form",
        "render with an unknown form name holding ANSI escapes",
        ["render", "\x1b[2Jevil", "d.json", "--out", "f.pdf"],
        (2,),
        {"d.json": CLEAN},
        absent=("f.pdf", "f.pdf.part"),
    ),
    Scenario(
        "example-out-directory",
        "example --out an existing folder",
        ["example", "--out", "folder"],
        (2,),
        {"folder": None},
    ),
    Scenario(
        "example-out-missing-dir",
        "example --out into a folder that does not exist",
        ["example", "--out", "missing/x.json"],
        (2,),
    ),
    Scenario(
        "example-out-symlink",
        "example --out a symlink to the clerk's notes",
        ["example", "--out", "x.json"],
        (0, 2),
        {"victim.txt": VICTIM, "x.json": "->victim.txt"},
        untouched=("victim.txt",),
    ),
    Scenario(
        "demo-out-file",
        "demo --out an existing file",
        ["demo", "--out", "notes.txt"],
        (2,),
        {"notes.txt": VICTIM},
        untouched=("notes.txt",),
    ),
    Scenario(
        "demo-foreign-store",
        "demo --out a folder holding a clerk's real collection.db",
        ["demo", "--out", "work"],
        (2,),
        {"work": None, "work/collection.db": FOREIGN_DB, "work/collection.db-wal": b"wal"},
        untouched=("work/collection.db", "work/collection.db-wal"),
    ),
    Scenario(
        "demo-verification-file",
        "demo --out a folder holding a file named verification",
        ["demo", "--out", "work"],
        (2,),
        {"work": None, "work/verification": VICTIM},
        untouched=("work/verification",),
    ),
    Scenario(
        "demo-result-directory",
        "demo --out a folder whose result.json is a folder",
        ["demo", "--out", "work"],
        (2,),
        {"work": None, "work/result.json": None, "work/result.json/keep": VICTIM},
        untouched=("work/result.json/keep",),
    ),
    Scenario(
        "verify-ansi-payload",
        "verify a payload holding ANSI escapes",
        ["verify", "d.json", "PC1/\x1b[2J\x1b[H/P1/D/201112/00"],
        (1,),
        {"d.json": CLEAN},
    ),
    Scenario(
        "verify-long-payload",
        "verify a 1 MB payload line from standard input",
        ["verify", "d.json"],
        (1,),
        {"d.json": CLEAN, "payloads.txt": b"PC1/" + b"9" * MIB + b"\n"},
        stdin="payloads.txt",
    ),
    Scenario(
        "verify-zero-stdin",
        "verify with /dev/zero as the payloads",
        ["verify", "d.json"],
        (1, 2),
        {"d.json": CLEAN},
        stdin="/dev/zero",
    ),
    Scenario(
        "validate-two-files",
        "validate with two files (a usage error)",
        ["validate", "d.json", "d.json"],
        (2,),
        {"d.json": CLEAN},
    ),
    Scenario("unknown-command", "an unknown command", ["frobnicate"], (2,)),
)


def _scenario_specs(scratch: Path) -> Iterator[Spec]:
    for s in SCENARIOS:
        folder = scratch / "scenarios" / s.name
        folder.mkdir(parents=True)
        for name, content in s.setup.items():
            target = folder / name
            if content is None:
                target.mkdir()
            elif isinstance(content, str):
                target.symlink_to(content.removeprefix("->"))
            else:
                target.write_bytes(content)
        stdin = None if s.stdin is None else str(folder / s.stdin) if s.stdin[0] != "/" else s.stdin
        yield Spec(
            id=f"{s.name}/cli",
            case=s.name,
            kind="cli",
            mode="cli",
            argv=s.argv,
            expect=s.expect,
            stdin=stdin,
            cwd=str(folder),
            max_output=s.max_output,
        )


# -- the checks -----------------------------------------------------------------------


def _raw_characters(output: str) -> list[str]:
    return sorted(
        {
            f"U+{ord(ch):04X}"
            for ch in output
            if ch not in ALLOWED and unicodedata.category(ch) in BAD_CATEGORIES
        }
    )


def problems_of(spec: Spec, r: Result) -> list[tuple[str, str]]:
    """What is wrong with one run: (kind of failure, detail) pairs."""
    bad: list[tuple[str, str]] = []
    if r.hung:
        return [("hung", f"blocked for {WALL_GUARD:.0f} s without finishing")]
    assert r.status is not None
    if r.status < 0:
        sig = signal.Signals(-r.status).name
        kind = {"SIGXCPU": "cpu-limit", "SIGKILL": "cpu-limit", "SIGXFSZ": "output-limit"}
        return [(kind.get(sig, "signal"), f"killed by {sig} after {r.cpu:.1f} s CPU")]
    out = r.stdout.decode(spec.encoding, errors="replace")
    err = r.stderr.decode(spec.encoding, errors="replace")
    both = out + "\n" + err
    if "MemoryError" in both:
        bad.append(("memory-limit", "MemoryError under the address-space limit"))
    if "Traceback" in both:
        last = [line for line in err.splitlines() if line.strip()][-1:]
        bad.append(("traceback", f"a traceback: {last[0][:160] if last else ''}"))
    if "File too large" in both or max(len(r.stdout), len(r.stderr)) >= FSIZE:
        bad.append(("output-limit", "output reached the file-size limit"))
    if r.status == 3:
        bad.append(("internal-error", f"exit 3 (internal error): {err.strip()[:160]!r}"))
    elif r.status not in spec.expect:
        bad.append(("exit", f"exit {r.status}, documented {spec.expect}: {err[:200]!r}"))
    for label, data in (("stdout", r.stdout), ("stderr", r.stderr)):
        if len(data) > spec.max_output:
            bad.append(("output-size", f"{label} is {len(data):,} bytes (> {spec.max_output:,})"))
    raw = _raw_characters(both)
    if raw:
        bad.append(("raw-control", f"raw characters in the output: {', '.join(raw[:8])}"))
    for secret in spec.secrets:
        if secret in both:
            bad.append(("privacy", "a shifted column's personal data is echoed"))
    if spec.mode != "json" and BASE_ID in both:
        bad.append(("privacy", "the worker's whole identity number in text output"))
    if r.status == 2 and not bad:
        bad += _says_where(spec, out, err)
    if r.status in (0, 1) and spec.mode == "json":
        try:
            doc = json.loads(out)
        except ValueError:
            bad.append(("shape", "--format json printed no JSON report"))
        else:
            if doc.get("format") != "pension-collect/report":
                bad.append(("shape", f"--format json printed {doc.get('format')!r}"))
    if spec.out_dir is not None:
        left = sorted(p.name for p in spec.out_dir.iterdir())
        if r.status == 0:
            pdf = spec.out_dir / "forms.pdf"
            if left != ["forms.pdf"] or not pdf.read_bytes().startswith(b"%PDF"):
                bad.append(("leftover", f"render left {left} (expected one PDF)"))
        elif left:
            bad.append(("leftover", f"render failed and left {left}"))
    return bad


def _says_where(spec: Spec, out: str, err: str) -> list[tuple[str, str]]:
    """Status 2: one clear line on stderr, or the problems with their paths."""
    bad: list[tuple[str, str]] = []
    if not out.strip():
        lines = err.strip().splitlines()
        if not lines or not lines[0].startswith("pension-collect:"):
            bad.append(("message", f"status 2 without a 'pension-collect:' line: {err[:160]!r}"))
        elif spec.kind in ("files", "endless", "cli") and len(lines) > 3:
            bad.append(("message", f"{len(lines)} lines on stderr for one problem"))
    elif spec.mode == "json":
        try:
            doc = json.loads(out)
        except ValueError:
            return [("shape", "status 2 with --format json printed no JSON")]
        problems = doc.get("problems") or []
        if doc.get("format") != "pension-collect/problems" or not problems:
            bad.append(("shape", "status 2: not a problems document with problems"))
        elif not all(str(p.get("path", "")).startswith("$") and p.get("message") for p in problems):
            bad.append(("message", "a problem without a $ path or a message"))
    if spec.where is not None and spec.where not in out + err:
        bad.append(("where", f"the output does not say where ({spec.where!r})"))
    return bad


# -- the tests ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[Case]]:
    """The whole corpus, written into a temporary folder."""
    folder = tmp_path_factory.mktemp("hostile") / "corpus"
    folder.mkdir()
    return folder, build(folder)


@pytest.fixture(scope="module")
def outcomes(corpus: tuple[Path, list[Case]]) -> dict[str, tuple[Spec, Result]]:
    """Every run of the suite, done once: spec id -> (spec, result)."""
    folder = corpus[0]
    scratch = folder.parent
    specs = [*_corpus_specs(folder, scratch), *_scenario_specs(scratch)]
    results = run_all(specs, _console_script(), scratch)
    report = os.environ.get("HOSTILE_REPORT")
    if report:
        rows = [
            {
                "id": s.id,
                "kind": s.kind,
                "status": results[s.id].status,
                "cpu": round(results[s.id].cpu, 2),
                "wall": round(results[s.id].wall, 2),
                "failures": problems_of(s, results[s.id]),
            }
            for s in specs
        ]
        Path(report).write_text(json.dumps(rows, ensure_ascii=False, indent=1), "utf-8")
    return {s.id: (s, results[s.id]) for s in specs}


def _ids() -> list[str]:
    # the same ids _corpus_specs/_scenario_specs give, without building anything
    ids: list[str] = []
    for c in CASES:
        ids += [f"{c.name}/{mode}" for mode in validate_modes(c)]
        ids += [f"{c.name}/verify"] if c.verify else []
        ids += [f"{c.name}/render"] if c.render is not None else []
    ids += [f"{n}/gbk-console" for n in ("astral-name", "ansi-clear-screen", "format-char-rlo")]
    ids += [f"{s.name}/cli" for s in SCENARIOS]
    return ids


#: Runs whose failure is known and accepted for now: run id -> why. Each
#: stays a strict expected failure (it fails the suite once it passes, so
#: that the entry is removed). Empty: every case holds.
KNOWN_GAPS: dict[str, str] = {}


@pytest.mark.parametrize("run_id", _ids())
def test_hostile(run_id: str, outcomes: dict[str, tuple[Spec, Result]]) -> None:
    """One run of the console script on a hostile input: documented exit
    status, no traceback, says where, bounded, escaped, nothing leaked."""
    spec, result = outcomes[run_id]
    bad = problems_of(spec, result)
    if run_id in KNOWN_GAPS:
        assert bad != [], f"{run_id} holds now: remove it from KNOWN_GAPS"
        pytest.xfail(KNOWN_GAPS[run_id])
    assert bad == [], f"{' '.join(spec.argv)[:200]!r}: {bad}"


def test_known_gaps_are_runs() -> None:
    """Every KNOWN_GAPS entry names a run of the suite."""
    assert sorted(set(KNOWN_GAPS) - set(_ids())) == []


def test_every_run_has_a_test(outcomes: dict[str, tuple[Spec, Result]]) -> None:
    """The parametrized ids and the runs are the same set."""
    assert sorted(outcomes) == sorted(_ids())


def test_scenarios_keep_the_clerks_files(
    outcomes: dict[str, tuple[Spec, Result]], tmp_path_factory: pytest.TempPathFactory
) -> None:
    """No command wrote through a symlink, replaced a folder or deleted a store."""
    damaged: list[str] = []
    for s in SCENARIOS:
        spec, _ = outcomes[f"{s.name}/cli"]
        assert spec.cwd is not None
        folder = Path(spec.cwd)
        for name in s.untouched:
            before = s.setup[name]
            path = folder / name
            if not path.is_file() or path.read_bytes() != before:
                damaged.append(f"{s.name}: {name} changed or gone")
        damaged += [
            f"{s.name}: {name} left behind" for name in s.absent if (folder / name).exists()
        ]
    assert damaged == []


def test_the_corpus_is_deterministic(tmp_path: Path) -> None:
    """Two builds of the small cases give the same bytes (the seed is fixed)."""
    small = {c.name for c in CASES if not c.heavy and c.kind in ("text", "privacy", "numbers")}
    for run in ("a", "b"):
        (tmp_path / run).mkdir()
        build(tmp_path / run, small)
    files_a = sorted(p.name for p in (tmp_path / "a").iterdir())
    assert files_a == sorted(p.name for p in (tmp_path / "b").iterdir())
    assert len(files_a) > 30
    for name in files_a:
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes(), name


def test_the_corpus_has_the_cases_of_the_issue(corpus: tuple[Path, list[Case]]) -> None:
    """Issue 10's named inputs are in the table, with the sizes it names."""
    by_name: dict[str, Case] = {c.name: c for c in corpus[1]}
    sizes = {
        "segments-2000": (100_000, 130_000),  # "a 111 KB file"
        "workers-500k-malformed": (22_000_000, 24_000_000),  # "23 MB"
        "employer-keys-1m": (13_000_000, 15_000_000),  # "14 MB"
        "name-50mb": (50_000_000, 55_000_000),
        "sparse-16g": (16 << 30, 16 << 30),
    }
    for name, (low, high) in sizes.items():
        assert low <= by_name[name].size <= high, (name, by_name[name].size)
    assert os.stat(corpus[0] / by_name["sparse-16g"].file).st_blocks * 512 < MIB  # a hole
    for name in (
        "segments-2000",
        "workers-500k-malformed",
        "employer-keys-1m",
        "dev-zero",
        "fifo-endless",
        "sparse-16g",
        "lone-surrogate-name",
        "ansi-clear-screen",
        "bom-utf8",
        "utf16-bom",
        "gbk",
        "nesting-100k",
        "nan-version",
        "int-5000-version",
        "shifted-first_work-0",
        "name-50mb",
        "empty",
        "directory",
    ):
        assert name in by_name, name
