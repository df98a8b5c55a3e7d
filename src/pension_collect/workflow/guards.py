"""The typed errors a collection session raises when a step is out of order.

Each has a stable ``code`` (``workflow.*``), the ``procedure`` paragraph it
enforces, an English sentence and a Chinese one (``message_zh``), and
``keys``: the workers concerned, masked (never a full identity number or a
name).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, ClassVar

from ..errors import PensionCollectError
from ..identity import mask

__all__ = [
    "AlreadyAccepted",
    "ConfirmationFormMissing",
    "DeclarationInFlight",
    "EmployerFirst",
    "IncompleteWorker",
    "NotReceived",
    "NotStarted",
    "NothingToSubmit",
    "PendingDeclaration",
    "RecollectionIncomplete",
    "RuleErrors",
    "SyncFirst",
    "SyncRequired",
    "UnknownWorker",
    "VerificationFormMissing",
    "WindowOnlyChange",
    "WorkerLocked",
    "WorkflowError",
]


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
    """``findings`` holds every error finding (codes and paths, no personal data)."""

    code = "workflow.rule-errors"
    procedure = "P3.4"
    default = ("the data has errors; correct them and save again", "数据有错误,请更正后再保存")


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
