"""``hullscan.publish``: findings to AWS Security Hub and Amazon EventBridge through boto3.

    from hullscan.publish import publish_securityhub, publish_eventbridge
    res = publish_securityhub(result)          # BatchImportFindings, 100 findings a call
    res = publish_eventbridge(result)          # PutEvents, 10 events a call
    res.raise_for_failures()                   # PublishError naming what was not sent

boto3 (the ``aws`` extra) is imported when publishing, with the usual AWS configuration:
``AWS_PROFILE`` or ``profile=``, keys from the environment or files, ``AWS_ENDPOINT_URL`` /
``AWS_ENDPOINT_URL_SECURITYHUB`` / ``AWS_ENDPOINT_URL_EVENTS``, the region from ``region=``, else
the configuration, else ``us-east-1``; the account from ``account=`` else STS
``GetCallerIdentity``.

Retries: a call that fails with throttling, a 5xx answer or a broken connection is tried again,
and so is every item the API reports as failed with a transient code (Security Hub's
``FailedFindings``, EventBridge's ``Entries[].ErrorCode``), with exponential backoff, up to
``attempts`` tries. What still fails is listed in :attr:`PublishResult.failed` with the API's error
code: never dropped. Input the service refuses for good (``InvalidInput``, ``MalformedDetail``,
access denied) is not retried.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from hullscan.errors import PublishError
from hullscan.report.asff import AwsContext

#: Error codes worth another try (whole calls and items).
TRANSIENT = frozenset(
    {
        "ThrottlingException",
        "Throttling",
        "ThrottledException",
        "TooManyRequestsException",
        "RequestLimitExceeded",
        "LimitExceededException",
        "ProvisionedThroughputExceededException",
        "InternalFailure",
        "InternalError",
        "InternalException",
        "InternalServerError",
        "ServiceUnavailable",
        "ServiceUnavailableException",
        "RequestTimeout",
        "RequestTimeoutException",
    }
)


@dataclass(frozen=True, slots=True)
class Failure:
    """One finding or event that was not sent: its id, the API's error code and message."""

    id: str
    code: str
    message: str = ""

    def line(self) -> str:
        return f"{self.id}: {self.code}" + (f": {self.message}" if self.message else "")


@dataclass(slots=True)
class PublishResult:
    """What one publish did: ``sent`` items accepted, ``failed`` the ones that were not."""

    target: str
    sent: int = 0
    failed: list[Failure] = field(default_factory=list)
    #: API calls made (retries included), and how many of them were retries.
    calls: int = 0
    retries: int = 0

    @property
    def ok(self) -> bool:
        return not self.failed

    def raise_for_failures(self) -> None:
        if self.failed:
            raise PublishError(
                f"{self.target}: {len(self.failed)} item(s) not sent (first: {self.failed[0].line()})",
                tuple(self.failed),
            )


@dataclass(frozen=True, slots=True)
class Retry:
    """How often and how patiently to try: ``attempts`` tries in all, sleeping ``base * 2**n``
    (with jitter, at most ``cap`` seconds) between them."""

    attempts: int = 5
    base: float = 0.2
    cap: float = 5.0
    sleep: Callable[[float], None] = time.sleep

    def wait(self, n: int) -> None:
        if self.base > 0:
            self.sleep(min(self.cap, self.base * 2**n) * (0.5 + random.random() / 2))  # noqa: S311


def session(profile: str | None = None, region: str | None = None) -> Any:
    """A boto3 session from the usual AWS configuration (PublishError when boto3 is missing)."""
    try:
        import boto3
    except ImportError as e:
        raise PublishError("publishing to AWS needs boto3: pip install 'hullscan[aws]'") from e
    try:
        return boto3.Session(profile_name=profile, region_name=region)
    except Exception as e:  # botocore.exceptions.ProfileNotFound and kin
        raise PublishError(f"AWS configuration: {type(e).__name__}: {e}") from e


def client(sess: Any, service: str, region: str) -> Any:
    """A client that makes one attempt a call: the retries are :func:`call`'s, so that they are
    counted and reported."""
    from botocore.config import Config

    return sess.client(service, region_name=region, config=Config(retries={"total_max_attempts": 1}))


def aws_context(
    *,
    account: str | None = None,
    region: str | None = None,
    profile: str | None = None,
    sess: Any = None,
) -> AwsContext:
    """The account and region to publish as: the values given, else the session's region (else
    ``us-east-1``) and STS ``GetCallerIdentity``'s account."""
    from hullscan.report.asff import context

    sess = sess if sess is not None else session(profile, region)
    region = region or sess.region_name or "us-east-1"
    if account is None:
        sts = client(sess, "sts", region)
        account = str(call(lambda: sts.get_caller_identity(), Retry(), "STS GetCallerIdentity")["Account"])
    try:
        return context(None, account=account, region=region)
    except Exception as e:
        raise PublishError(str(e)) from e


def error_code(exc: BaseException) -> tuple[str, bool]:
    """The error code of a failed call and whether it is worth another try."""
    from botocore.exceptions import (
        ClientError,
        ConnectionClosedError,
        EndpointConnectionError,
        NoCredentialsError,
        ReadTimeoutError,
    )

    if isinstance(exc, ClientError):
        err = exc.response.get("Error", {})
        code = str(err.get("Code") or "ClientError")
        status = int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0)
        return code, code in TRANSIENT or status >= 500 or status == 429
    if isinstance(exc, ConnectionClosedError | EndpointConnectionError | ReadTimeoutError):
        return type(exc).__name__, True
    if isinstance(exc, NoCredentialsError):
        return "NoCredentials", False
    return type(exc).__name__, False


def call(fn: Callable[[], Any], retry: Retry, what: str, result: PublishResult | None = None) -> Any:
    """``fn()`` tried up to ``retry.attempts`` times while it fails transiently; PublishError
    after that (or at once for a permanent error)."""
    from botocore.exceptions import BotoCoreError, ClientError

    for n in range(retry.attempts):
        if result is not None:
            result.calls += 1
            if n:
                result.retries += 1
        try:
            return fn()
        except (ClientError, BotoCoreError) as e:
            code, transient = error_code(e)
            if not transient or n + 1 == retry.attempts:
                if code == "NoCredentials":
                    raise PublishError(f"{what}: no AWS credentials found") from e
                raise PublishError(f"{what}: {code} (after {n + 1} tries)") from e
            retry.wait(n)
    raise AssertionError("unreachable")  # pragma: no cover


def send_batches(
    items: Sequence[tuple[str, Any]],
    batches: Callable[[Sequence[tuple[str, Any]]], list[list[tuple[str, Any]]]],
    send: Callable[[list[Any]], list[tuple[str, str] | None]],
    retry: Retry,
    result: PublishResult,
    what: str,
) -> PublishResult:
    """Send (id, item) pairs batch by batch; ``send`` answers, per item in order, None (accepted)
    or (error code, message). Items failed transiently go again (up to ``retry.attempts`` tries);
    the rest, and a batch whose call kept failing, land in ``result.failed``."""
    from botocore.exceptions import BotoCoreError, ClientError

    for batch in batches(items):
        pending = batch
        for n in range(retry.attempts):
            result.calls += 1
            if n:
                result.retries += 1
            try:
                answers = send([item for _, item in pending])
            except (ClientError, BotoCoreError) as e:
                code, transient = error_code(e)
                if code == "NoCredentials":
                    raise PublishError(f"{what}: no AWS credentials found") from e
                if transient and n + 1 < retry.attempts:
                    retry.wait(n)
                    continue
                result.failed += [Failure(i, code, f"{what} failed after {n + 1} tries") for i, _ in pending]
                pending = []
                break
            again = []
            for (ident, item), answer in zip(pending, answers, strict=True):
                if answer is None:
                    result.sent += 1
                elif answer[0] in TRANSIENT and n + 1 < retry.attempts:
                    again.append((ident, item))
                else:
                    result.failed.append(Failure(ident, answer[0], answer[1]))
            pending = again
            if not pending:
                break
            retry.wait(n)
        for ident, _ in pending:  # pragma: no cover - every path above empties or fails them
            result.failed.append(Failure(ident, "NotSent"))
    return result


from hullscan.publish.eventbridge import delta_events, events, publish_deltas, publish_eventbridge  # noqa: E402
from hullscan.publish.securityhub import publish_securityhub  # noqa: E402

__all__ = [
    "Failure",
    "PublishResult",
    "Retry",
    "aws_context",
    "delta_events",
    "events",
    "publish_deltas",
    "publish_eventbridge",
    "publish_securityhub",
    "session",
]
