"""Security Hub: a scan's ASFF findings (:mod:`hullscan.report.asff`) through
``BatchImportFindings``, 100 findings a call (the API's limit), retried as
:mod:`hullscan.publish` says; findings Security Hub would refuse (:func:`asff.problems`) are
reported as failed without being sent."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from hullscan.publish import Failure, PublishResult, Retry, aws_context, client, send_batches, session
from hullscan.report import asff
from hullscan.report.asff import AwsContext
from hullscan.scan import ScanResult

#: BatchImportFindings takes at most 100 findings a call.
BATCH = 100


def import_findings(
    docs: Sequence[dict[str, Any]],
    *,
    ctx: AwsContext,
    sess: Any = None,
    profile: str | None = None,
    retry: Retry | None = None,
) -> PublishResult:
    """Import ASFF findings, ``BATCH`` a call."""
    retry = retry or Retry()
    sess = sess if sess is not None else session(profile, ctx.region)
    hub = client(sess, "securityhub", ctx.region)
    result = PublishResult("securityhub")
    good: list[tuple[str, Any]] = []
    for d in docs:
        bad = asff.problems([d])
        if bad:
            result.failed.append(Failure(str(d.get("Id", "?")), "InvalidInput", bad[0].splitlines()[0][:300]))
        else:
            good.append((str(d["Id"]), d))

    def batches(items: Sequence[tuple[str, Any]]) -> list[list[tuple[str, Any]]]:
        return [list(items[i : i + BATCH]) for i in range(0, len(items), BATCH)]

    def send(batch: list[Any]) -> list[tuple[str, str] | None]:
        resp = hub.batch_import_findings(Findings=batch)
        failed = {
            str(f.get("Id")): (str(f.get("ErrorCode") or "Failed"), str(f.get("ErrorMessage") or ""))
            for f in resp.get("FailedFindings") or []
        }
        answers: list[tuple[str, str] | None] = [failed.get(str(d["Id"])) for d in batch]
        # A FailedCount the list does not account for: the unnamed ones cannot be told apart, so
        # every finding of the batch goes again (re-importing a finding only updates it).
        if int(resp.get("FailedCount") or 0) > len(failed):
            answers = [a or ("InternalFailure", "FailedCount without FailedFindings") for a in answers]
        return answers

    return send_batches(good, batches, send, retry, result, "securityhub BatchImportFindings")


def publish_securityhub(
    result: ScanResult,
    *,
    account: str | None = None,
    region: str | None = None,
    profile: str | None = None,
    when: str | None = None,
    retry: Retry | None = None,
) -> PublishResult:
    """Every ASFF finding of ``result`` (vulnerabilities, suppressed ones, image checks) imported
    into Security Hub."""
    sess = session(profile, region)
    ctx = aws_context(account=account, region=region, sess=sess)
    docs = asff.findings(result, ctx=ctx, when=when)
    return import_findings(docs, ctx=ctx, sess=sess, retry=retry)


__all__ = ["BATCH", "import_findings", "publish_securityhub"]
