"""``pension-collect demo [--out DIR]``: the whole collection loop on the example dossier.

The bundled example dossier's employer is carried through every step with a
SQLite store in DIR and the reference bureau in-process, as the sheet tells
it ([P3] .. [P3.7]). The bureau is seeded from the dossier's ``bureau`` blocks
with two faults only it knows:

* one worker's account was settled (养老账户已结清) and never un-settled, so
  the sync shows no account years for them and the save is refused
  ([P3.4e], ``account.not-in-bureau``): the account is un-settled at the
  bureau window, the employer syncs again, prints a new verification form and
  collects the worker;
* another worker is taken over by another employer at the bureau while the
  collection runs, so the bureau fails them (``bureau.other-employer``) and
  the first declaration partly succeeds; the transfer is done at the window,
  the employer syncs again, prints a new verification form, collects exactly
  that worker again and resubmits, linked to the first declaration
  ([P3.7]); the second declaration succeeds.

Every step is printed with its procedure paragraph and name in Chinese and
English; DIR/result.json records every declaration's final status and
per-worker outcomes (docs/workflow.md).
"""

from __future__ import annotations

import argparse
import datetime as _dt
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TextIO

from ..adapters.reference_bureau import ReferenceBureau
from ..dossier import example_dossier_text, loads
from ..identity import mask
from ..model import Dossier
from ..plugins import PluginHost
from ..workflow.guards import RuleErrors
from ..workflow.printing import FormsPrinted
from ..workflow.records import StoredDeclaration, WorkerStatus
from ..workflow.session import CollectionSession

__all__ = ["RESULT_FORMAT", "add_parser", "run_demo"]

#: The ``format`` of DIR/result.json.
RESULT_FORMAT = "pension-collect/demo-result"
_OTHER_UNIT = "10099999"


class _Clock:
    """A deterministic clock: 2013-08-20 09:00 UTC, one minute later per reading."""

    def __init__(self) -> None:
        self.now = _dt.datetime(2013, 8, 20, 9, 0, tzinfo=_dt.UTC)

    def __call__(self) -> _dt.datetime:
        self.now += _dt.timedelta(minutes=1)
        return self.now


def _decl_json(d: StoredDeclaration) -> dict[str, Any]:
    return {
        "declaration": d.key,
        "kind": d.kind.value,
        "bureau_id": d.bureau_id,
        "state": d.state.value,
        "state_zh": d.state.zh,
        "linked_to": d.linked_to,
        "message": d.message,
        "message_zh": d.message_zh,
        "workers": [
            {
                "worker": mask(o.key) if d.kind.value == "workers" else o.key,
                "succeeded": o.succeeded,
                "code": o.code,
                "message": o.message,
                "message_zh": o.message_zh,
            }
            for o in d.outcomes
        ],
    }


Step = Callable[[str, str, str, str], None]
Printed = Callable[[FormsPrinted], str]


def run_demo(
    out_dir: str | Path,
    *,
    out: TextIO | None = None,
    host: PluginHost | None = None,
) -> dict[str, Any]:
    """Run the demo into ``out_dir``; print the steps to ``out``; return result.json's content."""
    stream = out if out is not None else sys.stdout
    directory = Path(out_dir)
    directory.mkdir(parents=True, exist_ok=True)
    forms_dir = directory / "forms"
    db = directory / "collection.db"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    host = host if host is not None else PluginHost()
    dossier = loads(example_dossier_text(), source="<bundled example-dossier.json>")
    unit_no = dossier.employer.unit_no
    clock = _Clock()
    steps: list[dict[str, Any]] = []
    forms: list[str] = []
    notes: set[str] = set()

    def step(paragraph: str, zh: str, en: str, what: str) -> None:
        steps.append({"procedure": paragraph, "step_zh": zh, "step": en, "result": what})
        stream.write(f"[{paragraph}] {zh} / {en}: {what}\n")
        stream.flush()

    def printed(result: FormsPrinted) -> str:
        forms.extend(result.files)
        if result.files:
            copies = f", {result.copies} copies" if result.copies > 1 else ""
            return f"{result.workers} workers{copies}, {result.pages} pages -> " + ", ".join(
                str(Path(f).relative_to(directory)) for f in result.files
            )
        notes.add(result.note or "")
        return f"{result.workers} workers recorded as printed ({result.note})"

    bureau = ReferenceBureau(clock=clock, as_of=dossier.as_of)
    persons = bureau.seed_dossier(dossier)
    keys = [CollectionSession.key_of(w) for w in dossier.workers]
    # What only the bureau knows: one worker's account was settled (结清) and
    # never un-settled; another is about to be taken over by another employer.
    settled, moved = persons[keys[1]], persons[keys[2]]
    bureau.settle_account(settled.person_no)

    store = host.open_storage(f"sqlite://{db.resolve()}")
    transport = host.open_transport("local:", bureau=bureau)
    try:
        session = CollectionSession(
            store,
            transport,
            unit_no=unit_no,
            actor="demo-clerk",
            host=host,
            pack=dossier.rule_pack,
            as_of=dossier.as_of,
            clock=clock,
        )
        stream.write(f"pension-collect demo: unit {unit_no}, store {db}\n")
        session.start()
        step("P3", "开始数据质量工作", "Start data-quality work", "no pending declaration")
        synced = session.sync()
        step("P3.1", "数据同步", "Data sync", f"{len(synced.persons)} persons at the bureau")
        session.collect_employer(dossier.employer)
        step("P3.1", "单位信息采集", "Employer information collection", "collected")
        emp = session.submit_employer_declaration()
        step("P3.1", "提交单位信息申报", "Submit employer declaration", f"{emp.bureau_id}")
        bureau.settle()
        emp = session.refresh(emp.key)
        step("P3.7", "查看申报结果", "Declaration result", f"{emp.key}: {emp.state.value}")

        refused = _first_round(session, step, printed, dossier, keys, forms_dir)
        for key in refused:
            # [P3.4e] the handbook has account years the verification form does not show
            bureau.unsettle_account(persons[key].person_no)
            _window(
                session, step, key, "account.not-in-bureau", "account un-settled (养老账户取消结清)"
            )
        _collect_again(session, step, printed, dossier, refused, forms_dir)

        bureau.transfer_person(moved.person_no, _OTHER_UNIT)
        step(
            "bureau",
            "社保系统(仅社保知道)",
            "At the bureau (only it knows)",
            f"{mask(keys[2])} taken over by another employer ({_OTHER_UNIT})",
        )
        decl = _submit_and_follow(session, bureau, step, printed, forms_dir)

        failed = session.failed_workers()
        for key in failed:
            stored = session.worker(key)
            reason = stored.outcome.code if stored.outcome else None
            bureau.transfer_person(persons[key].person_no, unit_no)
            _window(session, step, key, reason, "employment transfer done (劳动关系转回)")
        _collect_again(session, step, printed, dossier, failed, forms_dir)
        decl2 = _submit_and_follow(session, bureau, step, printed, forms_dir)
        declarations = [_decl_json(d) for d in session.declarations()]
        log = session.audit()
    finally:
        transport.close()
        store.close()

    outcome = {
        "format": RESULT_FORMAT,
        "version": 1,
        "unit_no": unit_no,
        "store": str(db),
        "forms": forms,
        "forms_note": sorted(n for n in notes if n) or None,
        "audit_entries": len(log),
        "steps": steps,
        "first_declaration": decl.key,
        "recollection_declaration": decl2.key,
        "declarations": declarations,
    }
    (directory / "result.json").write_text(
        json.dumps(outcome, ensure_ascii=False, indent=2) + "\n", encoding="utf-8"
    )
    stream.write(f"result: {directory / 'result.json'} ({decl2.key}: {decl2.state.value})\n")
    return outcome


def _first_round(
    session: CollectionSession,
    step: Step,
    printed: Printed,
    dossier: Dossier,
    keys: list[str],
    forms_dir: Path,
) -> list[str]:
    """[P3.2] .. [P3.4] for every worker of the dossier; the keys of the workers
    whose save was refused."""
    result = session.print_verification_forms(keys, out_dir=forms_dir)
    step("P3.2", "打印核对表", "Print verification forms", printed(result))
    batch = session.save_workers(dossier.workers)
    saved = {w.key: w for w in batch.saved}
    refusals = {r.key: r.error for r in batch.refused}
    for key in keys:
        if key in saved:
            w = saved[key]
            warn = f", {len(w.warnings)} warnings kept" if w.warnings else ""
            step(
                "P3.4",
                "职工信息整理(个人信息、缴费历史、养老账户)",
                "Collect worker (personal info, history, account)",
                f"{mask(key)} saved (v{w.version}{warn})",
            )
            continue
        error = refusals[key]
        if not isinstance(error, RuleErrors):
            raise error
        first = error.errors[0]
        step(
            first.procedure or "P3.4",
            "职工信息整理:不能保存",
            "Collect worker: save refused",
            f"{mask(key)} {first.code} at {first.path}: {first.message_zh}",
        )
    return [key for key in keys if key in refusals]


def _window(
    session: CollectionSession, step: Step, key: str, reason: str | None, what: str
) -> None:
    """The worker has it sorted out at the bureau window; the visit is recorded."""
    session.record_window_visit(key, what)
    step("P3.3a", "社保窗口办理", "At the bureau window", f"{mask(key)} ({reason}): {what}")


def _collect_again(
    session: CollectionSession,
    step: Step,
    printed: Printed,
    dossier: Dossier,
    keys: list[str],
    forms_dir: Path,
) -> None:
    """[P3.3a] after the window: sync again, new verification forms, collect."""
    synced = session.sync()
    step("P3.3a", "重新数据同步", "Data sync again", f"{len(synced.persons)} persons")
    result = session.print_verification_forms(keys, out_dir=forms_dir)
    step("P3.2", "打印新的核对表", "Print new verification forms", printed(result))
    by_key = {CollectionSession.key_of(w): w for w in dossier.workers}
    for key in keys:
        again = any(w.key == key for w in session.workers())
        saved = session.save_worker(by_key[key])
        step(
            "P3.7" if again else "P3.4",
            "重新采集" if again else "职工信息整理",
            "Collect again" if again else "Collect worker",
            f"{mask(key)} saved (v{saved.version})",
        )


def _submit_and_follow(
    session: CollectionSession,
    bureau: ReferenceBureau,
    step: Step,
    printed: Printed,
    forms_dir: Path,
) -> StoredDeclaration:
    keys = [w.key for w in session.workers() if w.status is WorkerStatus.COLLECTED]
    result = session.print_confirmation_forms(keys, out_dir=forms_dir)
    step("P3.5", "打印确认表(一式三份)", "Print confirmation forms (3 copies)", printed(result))
    session.record_received(keys)
    step(
        "P3.4g",
        "收回签字确认表和养老手册",
        "Signed forms and handbooks received",
        f"{len(keys)} workers",
    )
    result = session.print_summary_sheet(out_dir=forms_dir)
    step("P3.6", "打印汇总表", "Print summary sheet", printed(result))
    decl = session.submit_declaration()
    linked = f", re-collecting {decl.linked_to}" if decl.linked_to else ""
    step(
        "P3.6",
        "提交申报",
        "Submit declaration",
        f"{decl.key} as {decl.bureau_id}, {len(decl.workers)} workers{linked}",
    )
    while not decl.state.concluded:
        bureau.tick()
        decl = session.refresh(decl.key)
        step("P3.7", "等待处理结果", "Follow the declaration", f"{decl.key}: {decl.state.value}")
    for o in decl.outcomes:
        verdict = "succeeded" if o.succeeded else f"failed ({o.code}): {o.message_zh}"
        step("P3.7", "职工处理结果", "Worker outcome", f"{mask(o.key)} {verdict}")
    return decl


def _run(args: argparse.Namespace) -> int:
    outcome = run_demo(args.out)
    last = outcome["declarations"][-1]
    return 0 if last["state"] == "succeeded" else 1


def add_parser(sub: Any) -> None:
    """Add the ``demo`` subcommand."""
    p = sub.add_parser(
        "demo",
        help="run the whole collection on the example dossier (演示完整采集流程)",
        description="Carry the bundled example dossier's employer through every step of "
        "the collection with a SQLite store in DIR and the reference bureau in-process; "
        "write DIR/result.json.",
    )
    p.add_argument(
        "--out",
        metavar="DIR",
        default="pension-collect-demo",
        help="directory for the store, the forms and result.json (default ./pension-collect-demo)",
    )
    p.set_defaults(run=_run)
