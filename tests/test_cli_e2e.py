"""The whole collection through the console script alone (issue 13): a SQLite
file, a bureau whose state survives between processes (``local:DIR``), every
step with ``--format json`` parsed and checked against its schema, a worker
the bureau fails, the window visit and the re-collection."""

from __future__ import annotations

from pathlib import Path

from cli_collection_helpers import OTHER_UNIT, UNIT, at_bureau, json_run, run


def test_the_whole_collection_through_the_console_script(tmp_path: Path) -> None:
    # The bureau's side: the example employer and its three persons registered
    # at a bureau whose state is in ./bureau (what local:bureau opens).
    assert run(tmp_path, "example", "--out", "dossier.json").status == 0
    seeded = run(tmp_path, "bureau", "seed", "--data", "bureau", "dossier.json")
    assert seeded.status == 0, seeded.err
    assert "3 persons registered" in seeded.out
    moved = "37100200002"  # the example's second worker (李娜)

    doc = json_run(tmp_path, "status", status=2)  # no store: only start makes one
    assert (doc["code"], doc["exit_status"], doc["command"]) == ("cli.no-store", 2, "status")
    assert not (tmp_path / "collection.db").exists()
    doc = json_run(tmp_path, "start")
    assert (doc["unit_no"], doc["already_started"], doc["started_by"]) == (UNIT, False, "clerk-sun")
    assert doc["store"] == "sqlite:collection.db"
    assert doc["bureau"] == "local:bureau"
    assert (tmp_path / "collection.db").is_file()
    assert json_run(tmp_path, "start")["already_started"] is True

    doc = json_run(tmp_path, "status")
    assert doc["next"]["command"] == "pension-collect sync"
    assert doc["next"]["blocked_by"]["code"] == "workflow.sync-first"

    doc = json_run(tmp_path, "sync")
    assert (doc["sync_no"], doc["persons"], doc["employer_at_bureau"]) == (1, 3, True)

    doc = json_run(tmp_path, "employer", "dossier.json")
    assert doc["declaration"]["declaration"] == "employer-1"
    assert doc["declaration"]["kind"] == "employer"
    assert doc["declaration"]["bureau_id"]

    doc = json_run(tmp_path, "print", "verification", "--out", "forms")
    assert (doc["form"], doc["workers"], doc["copies"]) == ("verification", 3, 1)
    assert doc["files"] == ["forms/verification-1.pdf"]
    assert (tmp_path / "forms" / "verification-1.pdf").read_bytes()[:5] == b"%PDF-"

    doc = json_run(tmp_path, "collect", "dossier.json")
    assert [(s["index"], s["worker"], s["status"]) for s in doc["saved"]] == [
        (0, "371002********1239", "collected"),
        (1, "371082********2423", "collected"),
        (2, "371083********3516", "collected"),
    ]
    assert [s["person_no"] for s in doc["saved"][:2]] == ["37100200001", moved]
    assert doc["refused"] == []

    doc = json_run(tmp_path, "print", "confirmation")
    assert (doc["workers"], doc["copies"], doc["pages"]) == (3, 3, 9)
    doc = json_run(tmp_path, "status")
    assert doc["next"]["command"] == "pension-collect receive --all"
    doc = json_run(tmp_path, "receive", "--all")
    assert len(doc["workers"]) == 3
    assert doc["form"]
    assert doc["handbook"]
    doc = json_run(tmp_path, "print", "summary")
    assert (doc["form"], doc["workers"]) == ("summary", 3)

    # Only the bureau knows: another employer takes one worker over meanwhile.
    at_bureau(tmp_path, moved, OTHER_UNIT)
    doc = json_run(tmp_path, "submit")
    first = doc["declaration"]
    assert (first["declaration"], first["kind"], first["linked_to"]) == (
        "workers-1",
        "workers",
        None,
    )
    assert first["state"] in ("submitted", "processing")
    assert len(first["workers"]) == 3

    doc = json_run(tmp_path, "follow", "--interval", "0.05", "--timeout", "60", status=1)
    assert doc["timed_out"] is False
    by_key = {d["declaration"]: d for d in doc["declarations"]}
    assert by_key["employer-1"]["state"] == "succeeded"
    workers_1 = by_key["workers-1"]
    assert workers_1["state"] == "partially_succeeded"
    failed = [o for o in workers_1["outcomes"] if not o["succeeded"]]
    assert [(o["person_no"], o["code"]) for o in failed] == [(moved, "bureau.other-employer")]
    assert doc["failed_workers"] == [failed[0]["worker"]]

    doc = json_run(tmp_path, "status")
    assert doc["next"]["blocked_by"]["code"] == "workflow.window-visit-required"
    assert doc["next"]["command"] == "pension-collect recollect --window WORKER"
    # The clerk reads the command to run, not the library's method name.
    assert "record_window_visit" not in doc["next"]["blocked_by"]["message"]
    text = run(tmp_path, "status")
    assert text.status == 0, text.err
    (because,) = [ln for ln in text.out.splitlines() if ln.startswith("  because: ")]
    assert "record_window_visit" not in because
    assert "pension-collect recollect --window" in because
    assert "登记社保窗口办理" in because
    states = {w["person_no"]: w["status"] for w in doc["workers"]}
    assert sorted(states.values()) == ["accepted", "accepted", "failed"]
    assert states[moved] == "failed"

    # Saving again before the window is refused, naming why (exit 1).
    doc = json_run(tmp_path, "recollect", "dossier.json", status=1)
    assert [r["code"] for r in doc["refused"]] == ["workflow.window-visit-required"]

    # The transfer is done at the window; the clerk records the visit.
    at_bureau(tmp_path, moved, UNIT)
    doc = json_run(tmp_path, "recollect", "--window", moved, "--note", "transfer done")
    assert doc["window_visits"] == [failed[0]["worker"]]
    assert [(f["person_no"], f["window_visit_recorded"]) for f in doc["failed"]] == [(moved, True)]
    assert json_run(tmp_path, "status")["next"]["command"] == "pension-collect sync"
    assert json_run(tmp_path, "sync")["sync_no"] == 2
    doc = json_run(tmp_path, "status")
    assert doc["next"]["command"] == "pension-collect print verification"
    doc = json_run(tmp_path, "print", "verification", "--worker", moved)
    assert (doc["workers"], doc["files"]) == (1, ["forms/verification-2.pdf"])

    # The corrected data come as the clerk's workbook this time.
    assert run(tmp_path, "export-xlsx", "dossier.json", "dossier.xlsx").status == 0
    doc = json_run(tmp_path, "recollect", "dossier.xlsx")
    assert doc["source"] == "dossier.xlsx"
    assert [(s["index"], s["person_no"], s["failed_in"]) for s in doc["saved"]] == [
        (1, moved, "workers-1")
    ]
    assert doc["refused"] == []
    assert doc["missing"] == []
    assert json_run(tmp_path, "print", "confirmation")["workers"] == 1
    assert len(json_run(tmp_path, "receive", "--worker", moved)["workers"]) == 1
    assert json_run(tmp_path, "print", "summary")["workers"] == 1

    doc = json_run(tmp_path, "submit")
    second = doc["declaration"]
    assert (second["declaration"], second["linked_to"]) == ("workers-2", "workers-1")
    assert [w["person_no"] for w in second["workers"]] == [moved]
    doc = json_run(tmp_path, "follow", "--interval", "0.05", "--timeout", "60")
    assert [(d["declaration"], d["state"]) for d in doc["declarations"]] == [
        ("workers-2", "succeeded")
    ]
    assert doc["failed_workers"] == []

    doc = json_run(tmp_path, "status")
    assert doc["next"]["command"] is None
    assert {w["status"] for w in doc["workers"]} == {"accepted"}
    assert [d["state"] for d in doc["declarations"]] == [
        "succeeded",
        "partially_succeeded",
        "succeeded",
    ]

    doc = json_run(tmp_path, "audit", moved)
    actions = [e["action"] for e in doc["entries"]]
    assert actions[0] == "worker.saved"
    assert actions[-1] == "worker.accepted"
    assert "worker.failed" in actions
    assert "worker.window-visit" in actions
    assert actions.count("worker.saved") == 2
    assert all(e["actor"] == "clerk-sun" for e in doc["entries"])

    # Nothing left to declare: the step is refused with one line (exit 4).
    done = run(tmp_path, "submit")
    assert done.status == 4
    assert done.out == ""
    assert done.err.startswith("pension-collect: workflow.nothing-to-submit: [P3.6]")
    assert len(done.err.splitlines()) == 1

    # The dossier collected again once all is accepted: each worker refused,
    # named by its person number even where the dossier has none.
    doc = json_run(tmp_path, "collect", "dossier.json", status=1)
    assert doc["saved"] == []
    assert {r["code"] for r in doc["refused"]} == {"workflow.already-accepted"}
    assert all(r["person_no"] for r in doc["refused"]), doc["refused"]
