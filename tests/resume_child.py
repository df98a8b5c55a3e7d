"""The collection, step by step from what the store shows, and its child process
(tests/test_resume.py; run by path with tests/ on PYTHONPATH).

:func:`resume` is the table of docs/workflow.md ("Resuming after a restart"):
it looks at the store and runs the steps still to do, up to the concluded
workers' declaration. On an empty store that is the whole collection. Run as
a script (``resume_child.py URL DIR STOP``) it runs :func:`resume` and stops
at ``STOP``:

* a step name (``start``, ``sync``, ``employer``, ``employer-declared``,
  ``verification``, ``between-1``, ``between-2``, ``save``, ``confirmation``,
  ``received``, ``summary``): once that step has returned, it prints
  ``at STOP`` and waits;
* ``in:ACTION``: inside the transaction that appends the audit entry
  ``ACTION`` (after its writes, before its commit), it prints
  ``in-transaction`` and waits (workflow_child.HangingStorage).

The parent kills it there. The reference bureau lives in this process, so its
state is pickled to ``DIR/bureau.pickle`` when the child starts and after
every step (always at a boundary, never mid-write); :func:`open_bureau`
brings it back in the parent.
"""

from __future__ import annotations

import os
import pickle
import sys
from collections.abc import Callable
from pathlib import Path

from pension_collect.adapters.reference_bureau import ReferenceBureau
from pension_collect.model import Dossier
from pension_collect.plugins import PluginHost
from pension_collect.ports.storage import Storage
from pension_collect.ports.transport import DeclarationState
from pension_collect.workflow import CollectionSession, StoredDeclaration, WorkerStatus
from workflow_child import HangingStorage
from workflow_fixtures import Clock, example

AT = "at "
_BUREAU_STATE = ("_state",)


def save_bureau(bureau: ReferenceBureau, directory: Path) -> None:
    """Pickle the bureau's records and declarations (written aside, then moved)."""
    path = directory / "bureau.pickle"
    temp = path.with_suffix(".partial")
    temp.write_bytes(pickle.dumps({k: getattr(bureau, k) for k in _BUREAU_STATE}))
    os.replace(temp, path)


def open_bureau(directory: Path, dossier: Dossier, clock: Clock) -> ReferenceBureau:
    """The bureau as the child left it (seeded from the dossier when it left none)."""
    bureau = ReferenceBureau(clock=clock, as_of=dossier.as_of)
    path = directory / "bureau.pickle"
    if path.exists():
        for name, value in pickle.loads(path.read_bytes()).items():
            setattr(bureau, name, value)
    else:
        bureau.seed_dossier(dossier)
    return bureau


def open_session(
    storage: Storage, bureau: ReferenceBureau, dossier: Dossier, clock: Clock
) -> CollectionSession:
    host = PluginHost(load_entry_points=False)
    return CollectionSession(
        storage,
        host.open_transport("local:", bureau=bureau),
        unit_no=dossier.employer.unit_no,
        actor="clerk",
        host=host,
        as_of=dossier.as_of,
        clock=clock,
    )


def resume(
    session: CollectionSession,
    bureau: ReferenceBureau,
    dossier: Dossier,
    forms: Path,
    after: Callable[[str], None] = lambda step: None,
) -> StoredDeclaration:
    """Run what the store shows is still to do (docs/workflow.md, "Resuming after
    a restart"); ``after(step)`` is called once each step has returned."""
    if session.state() is None:
        session.start()
        after("start")
    state = session.state()
    assert state is not None
    if state.sync_no == 0 or state.needs_sync:
        session.sync()
        after("sync")
    state = session.state()
    assert state is not None
    if state.employer is None:
        session.collect_employer(dossier.employer)
        after("employer")
        state = session.state()
        assert state is not None
    if state.employer_declaration is None:
        session.submit_employer_declaration()
        state = session.state()
        assert state is not None
    assert state.employer_declaration is not None
    if not session.declaration(state.employer_declaration).state.concluded:
        bureau.settle()
        session.refresh(state.employer_declaration)
        after("employer-declared")

    keys = [session.key_of(w) for w in dossier.workers]
    stored = {w.key for w in session.workers()}
    printed = state.verification
    to_print = [k for k in keys if k not in stored and printed.get(k) != state.sync_no]
    if to_print:
        session.print_verification_forms(to_print, out_dir=forms)
        after("verification")
    todo = [w for w in dossier.workers if session.key_of(w) not in stored]
    if todo:

        def between(done: int, total: int | None) -> None:
            if done != total:
                after(f"between-{len(dossier.workers) - len(todo) + done}")

        batch = session.save_workers(todo, progress=between)
        assert not batch.refused, batch.refused
        after("save")
    collected = [w for w in session.workers() if w.status is WorkerStatus.COLLECTED]
    unprinted = [w.key for w in collected if not w.confirmation_printed]
    if unprinted:
        session.print_confirmation_forms(unprinted, out_dir=forms)
        after("confirmation")
    unreceived = [w.key for w in collected if not (w.form_received and w.handbook_received)]
    if unreceived:
        session.record_received(unreceived)
        after("received")
    if collected:
        session.print_summary_sheet(out_dir=forms)
        after("summary")
        session.submit_declaration()
    decl = session.declarations()[-1]
    if not decl.state.concluded:
        bureau.settle()
        decl = session.refresh(decl.key)
    assert decl.state is DeclarationState.SUCCEEDED, decl
    return decl


def main(url: str, directory: Path, stop: str) -> None:
    dossier = example()
    clock = Clock()
    bureau = open_bureau(directory, dossier, clock)
    save_bureau(bureau, directory)
    host = PluginHost(load_entry_points=False)
    storage: Storage = host.open_storage(url)
    if stop.startswith("in:"):
        storage = HangingStorage(storage, stop[3:])
    session = open_session(storage, bureau, dossier, clock)

    def after(step: str) -> None:
        save_bureau(bureau, directory)
        if step == stop:
            print(AT + step, flush=True)
            sys.stdin.read()  # returns only when the parent closes the pipe or dies
            os._exit(3)

    resume(session, bureau, dossier, directory / "forms", after)
    print("finished", flush=True)  # the parent kills before


if __name__ == "__main__":
    main(sys.argv[1], Path(sys.argv[2]), sys.argv[3])
