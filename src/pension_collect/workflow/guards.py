"""The guards of the collection's steps and the typed errors they raise.

Each error has a stable ``code`` (``workflow.*``), the ``procedure`` paragraph
it enforces, an English sentence and a Chinese one (``message_zh``), and
``keys``: the workers concerned, masked (never a full identity number or a
name).

The ``require_*`` functions are the guards themselves: each decides from what
the session read whether a step may go on, and raises the error when it may
not. They read and write nothing, so the session's steps are what remains:
read, guard, write.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from typing import Any, ClassVar, TypeAlias

from ..errors import PensionCollectError
from ..identity import canonical_id, canonical_name, mask
from ..model import BureauRecord, Employer, Worker
from ..ports.storage import Record
from ..ports.transport import DeclarationKind, DeclarationState, DeclarationStatus
from ..rules import Finding
from .records import StoredDeclaration, StoredWorker, WindowVisit, WorkerStatus, status_of

__all__ = [
    "AlreadyAccepted",
    "Cancelled",
    "ConfirmationFormMissing",
    "DeclarationInFlight",
    "EmployerFirst",
    "FormExists",
    "IncompleteWorker",
    "NotReceived",
    "NotStarted",
    "NothingToSubmit",
    "PendingDeclaration",
    "PersonNotSynced",
    "Progress",
    "RecollectionIncomplete",
    "RecordChangedOutside",
    "RuleErrors",
    "SessionClosed",
    "SignedFormMismatch",
    "SyncFirst",
    "SyncRequired",
    "UnknownDeclarationKey",
    "UnknownWorker",
    "VerificationFormMissing",
    "WindowOnlyChange",
    "WindowVisitRequired",
    "WorkerLocked",
    "WorkflowError",
]


Progress: TypeAlias = Callable[[int, int | None], bool | None]
"""A long step's progress callback: ``progress(done, total)`` after each worker
(``total`` is ``None`` when the step cannot know it in advance). Returning
``False`` (not merely a false value: ``None`` goes on) or raising
:class:`Cancelled` stops the step between workers."""


class WorkflowError(PensionCollectError):
    """A step of the procedure was tried out of order, or its data is refused."""

    code = "workflow.error"
    procedure: ClassVar[str] = ""
    default: ClassVar[tuple[str, str]] = ("the step is not allowed now", "当前不能进行此步骤")

    def __init__(
        self,
        message: str | None = None,
        message_zh: str | None = None,
        *,
        keys: Iterable[str] = (),
        details: Any = None,
    ) -> None:
        self.message = message or self.default[0]
        self.message_zh = message_zh or self.default[1]
        self.keys: tuple[str, ...] = tuple(mask(k) for k in keys)
        """The workers concerned, masked."""
        self.details = details
        where = f" [{self.procedure}]" if self.procedure else ""
        shown = ""
        if self.keys:
            more = f" and {len(self.keys) - 5} more" if len(self.keys) > 5 else ""
            shown = f" (workers: {', '.join(self.keys[:5])}{more})"
        super().__init__(f"{self.code}{where}: {self.message}{shown}")


class NotStarted(WorkflowError):
    code = "workflow.not-started"
    procedure = "P3"
    default = (
        "the collection has not been started; start it first",
        "尚未开始数据质量采集,请先开始",
    )


class SessionClosed(WorkflowError):
    code = "workflow.session-closed"
    procedure = "P3"
    default = (
        "this session is closed; open a new session on the same store to go on",
        "本采集会话已关闭,请在同一存储上新建会话继续",
    )


class PendingDeclaration(WorkflowError):
    code = "workflow.pending-declaration"
    procedure = "P3"
    default = (
        "the bureau shows a declaration in draft, submitted or processing; finish it first",
        "社保系统中还有草稿、已提交或正在处理的申报,须先处理完毕",
    )


class SyncFirst(WorkflowError):
    code = "workflow.sync-first"
    procedure = "P3.1"
    default = ("run a data sync first", "请先进行数据同步")


class EmployerFirst(WorkflowError):
    code = "workflow.employer-first"
    procedure = "P3.1"
    default = (
        "collect the employer information (and submit its declaration) first",
        "请先采集单位信息并提交单位信息申报",
    )


class VerificationFormMissing(WorkflowError):
    code = "workflow.verification-form"
    procedure = "P3.2"
    default = (
        "print the worker's verification form after the latest data sync first",
        "请先在最近一次数据同步后打印该职工的核对表",
    )


class IncompleteWorker(WorkflowError):
    code = "workflow.incomplete"
    procedure = "P3.4f"
    default = (
        "a worker is saved only when personal information, contribution history and "
        "pension account are all collected (an empty part is entered as empty)",
        "个人信息、缴费历史、养老账户三部分都采集后才能保存(没有数据的部分也要明确采集为空)",
    )


class RuleErrors(WorkflowError):
    """The rule set found errors in a worker being saved.

    :attr:`findings` holds the worker's findings as
    :func:`~pension_collect.rules.check` reports them (:class:`~pension_collect.rules.Finding`:
    code, severity, path, field, related, expected, fix, messages; errors and
    warnings), with paths where the caller has the worker: under
    ``$.workers[index]`` when the save was given ``index``, else relative to
    the worker (``$.history[2]``). :attr:`errors` are the ones that blocked the
    save; ``details`` is :attr:`errors`.
    """

    code = "workflow.rule-errors"
    procedure = "P3.4"
    default = ("the data has errors; correct them and save again", "数据有错误,请更正后再保存")

    findings: tuple[Finding, ...] = ()

    @property
    def errors(self) -> tuple[Finding, ...]:
        """The findings that are errors."""
        return tuple(f for f in self.findings if f.is_error)


class PersonNotSynced(WorkflowError):
    code = "workflow.person-not-synced"
    procedure = "P3.2"
    default = (
        "the latest data sync holds no such insured person of this employer, and only the "
        "bureau's persons are collected: have the person registered (or their transfer "
        "to this employer done) at the bureau window, run a data sync, then print the "
        "verification form",
        "最近一次数据同步中没有本单位的该参保人员,只能采集社保系统中的人员:"
        "请先到社保窗口办理参保登记(或转入本单位),重新数据同步后再打印核对表",
    )


class WindowVisitRequired(WorkflowError):
    code = "workflow.window-visit-required"
    procedure = "P3.7"
    default = (
        "the bureau failed this worker for a reason only its window can clear; after the "
        "visit, record it, run a data sync, print a new "
        "verification form, then collect the worker again",
        "该职工因须到社保窗口办理的原因处理失败:窗口办理后,请登记窗口办理、"
        "重新数据同步并打印新的核对表,再重新采集",
    )


class FormExists(WorkflowError):
    code = "workflow.form-exists"
    procedure = ""
    default = (
        "a form file of this name exists already and is not overwritten; give another "
        "name, leave the name out (the next free number is used), or pass overwrite=True",
        "同名的表格文件已存在,不会覆盖:请换一个文件名,或不指定文件名(自动编号),"
        "或明确要求覆盖(overwrite=True)",
    )


class Cancelled(WorkflowError):
    """A long step was cancelled between workers (its ``progress`` callback
    returned ``False`` or raised :class:`Cancelled`).

    :attr:`done` workers were finished and :attr:`committed` names those whose
    change is stored (a batch save commits the workers it has saved before it
    raises this); a print step that is cancelled writes and records nothing
    (``committed`` is empty).
    """

    code = "workflow.cancelled"
    procedure = ""
    default = (
        "the step was cancelled; what is listed as committed is stored, nothing else was",
        "操作已取消:已提交的部分已保存,其余未作任何改动",
    )

    done: int = 0
    total: int | None = None
    committed: tuple[str, ...] = ()


class WindowOnlyChange(WorkflowError):
    code = "workflow.window-only"
    procedure = "P3.3a"
    default = (
        "the identity number or name differs from the bureau's record; only the bureau "
        "window may change them (then sync again)",
        "身份证号码或姓名与社保数据不一致,只能由职工本人到社保窗口更正(更正后重新同步)",
    )


class SyncRequired(WorkflowError):
    code = "workflow.sync-required"
    procedure = "P3.3a"
    default = (
        "a correction was made at the bureau window; run a data sync and print new "
        "verification forms before the next batch",
        "已在社保窗口更正数据,须重新数据同步并打印新的核对表后才能继续采集",
    )


class ConfirmationFormMissing(WorkflowError):
    code = "workflow.confirmation-form"
    procedure = "P3.5"
    default = (
        "print the confirmation form (3 copies) of the worker's current data first",
        "请先打印该职工当前数据的确认表(一式三份)",
    )


class NotReceived(WorkflowError):
    code = "workflow.not-received"
    procedure = "P3.4g"
    default = (
        "every collected worker's signed confirmation form and handbook must be received "
        "before the declaration is submitted",
        "所有已采集职工的签字确认表和养老手册收齐后才能提交申报",
    )


class NothingToSubmit(WorkflowError):
    code = "workflow.nothing-to-submit"
    procedure = "P3.6"
    default = ("no collected worker to declare", "没有可申报的已采集职工")


class DeclarationInFlight(WorkflowError):
    code = "workflow.declaration-in-flight"
    procedure = "P3.7"
    default = (
        "a declaration is still submitted or processing; wait for its result",
        "还有已提交或正在处理的申报,请等待处理结果",
    )


class WorkerLocked(WorkflowError):
    code = "workflow.worker-locked"
    procedure = "P3.6"
    default = (
        "the worker is in a declaration being processed; wait for its result",
        "该职工所在的申报正在处理中,请等待处理结果",
    )


class AlreadyAccepted(WorkflowError):
    code = "workflow.already-accepted"
    procedure = "P3.7"
    default = (
        "the bureau has accepted this worker; only failed workers are collected again",
        "该职工已处理成功;只有处理失败的职工需要重新采集",
    )


class RecollectionIncomplete(WorkflowError):
    code = "workflow.recollection-incomplete"
    procedure = "P3.7"
    default = (
        "every worker the bureau failed must be collected again before resubmitting",
        "处理失败的职工须全部重新采集后才能再次申报",
    )


class UnknownWorker(WorkflowError):
    code = "workflow.unknown-worker"
    procedure = "P3.4"
    default = ("no collected worker with this key", "没有该职工的采集记录")


class UnknownDeclarationKey(WorkflowError, LookupError):
    """No declaration of this session has the key (``workers-1`` ...); also a
    :class:`LookupError`."""

    code = "workflow.unknown-declaration"
    procedure = "P3.7"
    default = (
        "this session has no declaration with this key; list the session's "
        "declarations (declarations()) and use one of their keys",
        "本次采集没有该申报,请查看本次采集的申报列表并使用其中的申报",
    )


# -- the guards ------------------------------------------------------------------------------


def require_started(rec: Record | None) -> Record:
    """[P3] The session record, which exists once the collection is started."""
    if rec is None:
        raise NotStarted()
    return rec


def require_no_pending(pending: Sequence[DeclarationStatus]) -> None:
    """[P3] The bureau shows no declaration in draft, submitted or processing."""
    if pending:
        raise PendingDeclaration(details=[p.id for p in pending])


def require_synced(sess: Mapping[str, Any]) -> None:
    """[P3.1]/[P3.3a] A data sync was run, and none is due after a window correction."""
    if not sess.get("sync_no"):
        raise SyncFirst()
    if sess.get("needs_sync"):
        raise SyncRequired()


def require_synced_once(sess: Mapping[str, Any]) -> None:
    """[P3.1] A data sync was run (a sync due after a window visit is no obstacle)."""
    if not sess.get("sync_no"):
        raise SyncFirst()


def require_own_unit(employer: Employer, unit_no: str) -> None:
    """The employer information is the session's employer's."""
    if employer.unit_no != unit_no:
        raise WorkflowError("the employer information names another unit number")


def require_employer(sess: Mapping[str, Any]) -> None:
    """[P3.1] The employer information is collected (before verification forms)."""
    if sess.get("employer") is None:
        raise EmployerFirst()


def require_employer_to_declare(sess: Mapping[str, Any]) -> None:
    """[P3.1] The employer information is collected (before its declaration)."""
    if sess.get("employer") is None:
        raise EmployerFirst("collect the employer information first", "请先采集单位信息")


def require_employer_declared(sess: Mapping[str, Any]) -> None:
    """[P3.1] The employer declaration was submitted (before the workers')."""
    if sess.get("employer_declaration") is None:
        raise EmployerFirst()


def require_complete(worker: Worker, key: str) -> None:
    """[P3.4f] All three parts are collected (an empty part is an empty tuple)."""
    if worker.history is None or worker.account is None:
        missing = [p for p in ("history", "account") if getattr(worker, p) is None]
        raise IncompleteWorker(keys=[key], details=missing)


def require_in_sync(keys: Iterable[str], synced: Collection[str]) -> None:
    """[P3.2] Every key names a person of the latest data sync (all others are named)."""
    missing = [k for k in keys if k not in synced]
    if missing:
        raise PersonNotSynced(keys=missing)


def require_person(key: str, synced: Collection[str], stored: Record | None) -> None:
    """[P3.3a] A window visit is recorded for a person of the latest sync or a
    stored worker."""
    if stored is None and key not in synced:
        raise PersonNotSynced(keys=[key])


def require_window_cleared(
    prev: StoredWorker | None, visit: WindowVisit | None, sync_no: int
) -> None:
    """[P3.7] A worker the bureau failed for a window-type reason is saved again
    only after a window visit recorded for that failure (``visit``, the latest
    one recorded for the worker) and a data sync newer than the visit
    (``sync_no``, the latest; the verification form of that sync is checked
    after this)."""
    if prev is None or not prev.needs_window:
        return
    assert prev.outcome is not None
    code = prev.outcome.code
    if visit is None or visit.failed_in != prev.declaration:
        raise WindowVisitRequired(
            f"the bureau failed this worker ({code}) for a reason only its window can "
            "clear; after the visit, record it, run a data sync, "
            "print a new verification form, then collect the worker again",
            f"该职工处理失败({code}),须到社保窗口办理:办理后请登记窗口办理、"
            "重新数据同步并打印新的核对表,再重新采集",
            keys=[prev.key],
            details=code,
        )
    if visit.sync_no >= sync_no:
        raise SyncRequired(keys=[prev.key])


def require_verification_form(printed: int | None, sync_no: int, key: str) -> None:
    """[P3.2] The worker's verification form was printed after the latest sync
    (``printed``: the sync of the worker's printed form, ``None`` for none)."""
    if printed != sync_no:
        raise VerificationFormMissing(keys=[key])


def require_bureau_identity(
    synced: Iterable[Record], sync_no: int, worker: Worker, key: str
) -> None:
    """[P3.3a] A worker the latest sync holds under their person number keeps the
    identity number the bureau holds."""
    for rec in synced:
        person = rec.data["record"]
        if rec.data["sync_no"] == sync_no and person.get("person_no") == worker.person_no:
            if rec.key != key:
                raise WindowOnlyChange(keys=[key], details=["id_number"])
            return


def require_bureau_name(bureau: BureauRecord | None, worker: Worker, key: str) -> None:
    """[P3.3a] The worker keeps the name the bureau holds, compared as the rules
    and the bureau compare it (:func:`~pension_collect.identity.canonical_name`:
    trimmed, full-width folded)."""
    if (
        bureau is not None
        and bureau.name is not None
        and canonical_name(bureau.name) != canonical_name(worker.name)
    ):
        raise WindowOnlyChange(keys=[key], details=["name"])


def require_no_rule_errors(findings: Sequence[Finding], key: str) -> None:
    """[P3.4] No finding of the rule set is an error (warnings are kept).
    ``findings`` are the worker's findings with the caller's paths; the error
    carries them all."""
    errors = tuple(f for f in findings if f.is_error)
    if not errors:
        return
    if any(f.code == "person.window-only-change" for f in errors):
        raise WindowOnlyChange(keys=[key], details=errors)
    codes = ", ".join(sorted({f.code for f in errors}))
    err = RuleErrors(
        f"the data has errors ({codes}); correct them and save again",
        f"数据有错误({codes}),请更正后再保存",
        keys=[key],
        details=errors,
    )
    err.findings = tuple(findings)
    raise err


def require_collectable(prev: StoredWorker | None) -> None:
    """[P3.6]/[P3.7] A stored worker is saved again only when it is not being
    processed and the bureau has not accepted it."""
    if prev is None:
        return
    if prev.status is WorkerStatus.SUBMITTED:
        raise WorkerLocked(keys=[prev.key])
    if prev.status is WorkerStatus.ACCEPTED:
        raise AlreadyAccepted(keys=[prev.key])


def require_worker(rec: Record | None, key: str) -> Record:
    """The worker record of ``key``, which must exist."""
    if rec is None:
        raise UnknownWorker(keys=[key])
    return rec


def require_known(keys: Iterable[str], known: Collection[str]) -> None:
    """Every key names a stored worker (all unknown ones are named)."""
    missing = [k for k in keys if k not in known]
    if missing:
        raise UnknownWorker(keys=missing)


def require_confirmation_printed(workers: Iterable[StoredWorker]) -> None:
    """[P3.5] Each worker's confirmation form was printed for their current data."""
    unprinted = [w.key for w in workers if not w.confirmation_printed]
    if unprinted:
        raise ConfirmationFormMissing(keys=unprinted)


def require_confirmation_printed_records(recs: Iterable[Record]) -> None:
    """:func:`require_confirmation_printed` on worker records as stored (only
    their status and print mark are read)."""
    unprinted = [
        r.key for r in recs if not (status_of(r) and r.data.get("confirmation_printed", False))
    ]
    if unprinted:
        raise ConfirmationFormMissing(keys=unprinted)


def require_nothing_in_flight(decls: Iterable[StoredDeclaration]) -> None:
    """[P3.7] No workers' declaration is submitted or processing."""
    in_flight = [
        d.key
        for d in decls
        if d.kind is DeclarationKind.WORKERS
        and d.state in (DeclarationState.SUBMITTED, DeclarationState.PROCESSING)
    ]
    if in_flight:
        raise DeclarationInFlight(details=in_flight)


def require_submittable(workers: Sequence[StoredWorker]) -> list[StoredWorker]:
    """[P3.6]/[P3.7] The workers to declare: every failed one collected again,
    someone collected, each one's confirmation printed [P3.5] and signed form
    and handbook received [P3.4g]. After a failure the batch is exactly the
    re-collected workers (those with ``failed_in``); workers never declared
    wait for the declaration after it."""
    failed = [w.key for w in workers if w.status is WorkerStatus.FAILED]
    if failed:
        raise RecollectionIncomplete(keys=failed)
    batch = [w for w in workers if w.status is WorkerStatus.COLLECTED]
    recollected = [w for w in batch if w.failed_in]
    if recollected:
        # [P3.7] a re-collection declaration holds exactly the failed workers;
        # a worker never declared waits for the next declaration.
        batch = recollected
    if not batch:
        raise NothingToSubmit()
    require_confirmation_printed(batch)
    missing = [w.key for w in batch if not (w.form_received and w.handbook_received)]
    if missing:
        raise NotReceived(keys=missing)
    return batch


def report_progress(progress: Progress | None, done: int, total: int | None) -> None:
    """Tell ``progress`` that ``done`` of ``total`` workers are finished; raise
    :class:`Cancelled` when it returns ``False`` (a :class:`Cancelled` it raises
    goes through as it is)."""
    if progress is not None and progress(done, total) is False:
        err = Cancelled()
        err.done, err.total = done, total
        raise err


# -- submitting exactly what was signed (appended with its errors) ---------------------------


class RecordChangedOutside(WorkflowError):
    """A stored record was changed outside the collection: a worker record whose
    identity number is not its key or whose data is not what its audit log
    says (a forged status or receipt, an edited amount), or a declaration
    draft whose payload is not the one created. ``keys`` are the workers
    (masked); ``details`` one entry each: ``worker`` (masked) or
    ``declaration``, ``problem`` (``identity``, ``audit``, ``payload``) and
    ``fields`` (the record's fields that differ, names only)."""

    code = "workflow.record-changed-outside"
    procedure = "P3.6"
    default = (
        "a stored record was changed outside the collection (it does not match its key "
        "or its audit log); nothing was submitted: restore the record from a backup or "
        "from its audit log (or, for a worker still to be declared, check the data and "
        "save the worker again), then print the confirmation form again, have it signed "
        "and record it received",
        "存储中的记录在采集流程之外被改动(与其键或审计日志不符),未提交申报:"
        "请从备份或审计日志恢复该记录(尚未申报的职工也可核对数据后重新保存),"
        "然后重新打印确认表、由职工签字并登记收回",
    )


class SignedFormMismatch(WorkflowError):
    """A worker's stored data no longer matches the digest of the confirmation
    form that was signed (or no digest of a printed form is stored). ``keys``
    are the workers (masked); ``details`` one entry each: ``worker`` (masked),
    ``signed`` and ``stored`` (the first 8 digits of each digest: the check
    code 校验码 printed on the form, to compare with the paper)."""

    code = "workflow.signed-form-mismatch"
    procedure = "P3.5"
    default = (
        "the worker's stored data no longer matches the confirmation form that was "
        "signed; nothing was submitted: print the confirmation form again, have it "
        "signed, record it received, then submit",
        "该职工存储的数据与已签字的确认表不一致,未提交申报:"
        "请重新打印确认表并由职工签字、登记收回后再提交",
    )


_NONE = object()


def require_as_logged(
    checks: Iterable[tuple[StoredWorker, Mapping[str, Any], Mapping[str, Any] | None]],
) -> None:
    """[P3.6] Every worker record is what the collection wrote. ``checks`` gives
    each stored worker with its record's data and the data its audit log gives
    (:func:`~pension_collect.workflow.records.logged_worker_data`): the worker's
    identity number must be its key, and the two data must be equal. All that
    are not are named in one :class:`RecordChangedOutside`."""
    keys: list[str] = []
    details: list[dict[str, Any]] = []
    for sw, data, logged in checks:
        if canonical_id(sw.worker.id_number) != sw.key:
            keys.append(sw.key)
            details.append({"worker": mask(sw.key), "problem": "identity", "fields": ["worker"]})
        elif logged is None or dict(logged) != dict(data):
            theirs = {} if logged is None else logged
            fields = sorted(
                f for f in set(data) | set(theirs) if data.get(f, _NONE) != theirs.get(f, _NONE)
            )
            keys.append(sw.key)
            details.append({"worker": mask(sw.key), "problem": "audit", "fields": fields})
    if keys:
        raise RecordChangedOutside(keys=keys, details=details)


def require_as_signed(
    batch: Sequence[StoredWorker], signed: Mapping[str, str | None], current: Mapping[str, str]
) -> None:
    """[P3.5]/[P3.6] Each worker to declare is what its signed confirmation form
    shows: ``signed`` is the digest stored when the form was printed (``None``:
    none), ``current`` the digest of the stored data printed again with the
    same cut-off month. All that differ are named in one :class:`SignedFormMismatch`."""
    wrong = [w.key for w in batch if signed.get(w.key) is None or signed[w.key] != current[w.key]]
    if wrong:
        raise SignedFormMismatch(
            keys=wrong,
            details=[
                {
                    "worker": mask(k),
                    "signed": (signed.get(k) or "")[:8] or None,
                    "stored": current[k][:8],
                }
                for k in wrong
            ],
        )


def require_draft_as_created(
    key: str, payload_digest: str, stored: str | None, logged: str | None
) -> None:
    """[P3.6] A declaration draft about to be sent (again) carries the payload it
    was created with: the digest of its payload, the one stored with it and the
    one its ``declaration.created`` audit entry logged agree."""
    if not (payload_digest == stored == logged):
        raise RecordChangedOutside(
            details=[{"declaration": key, "problem": "payload", "fields": ["payload"]}]
        )


def require_employer_declaration_settled(latest: StoredDeclaration | None) -> None:
    """[P3.1] Changed employer information is declared only when the bureau has
    finished with the previous employer declaration."""
    if latest is not None and latest.state in (
        DeclarationState.SUBMITTED,
        DeclarationState.PROCESSING,
    ):
        raise DeclarationInFlight(
            "the employer declaration is still submitted or processing; wait for its "
            "result before declaring changed employer information",
            "单位信息申报尚在处理中,请等待处理结果后再申报变更后的单位信息",
            details=[latest.key],
        )
