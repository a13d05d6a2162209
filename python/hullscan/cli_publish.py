"""``--publish securityhub|eventbridge`` for ``hullscan scan`` and ``--publish eventbridge`` for
``hullscan rescan`` (:mod:`hullscan.publish`), and the AWS options of ``--format asff``.

After the report is written, each target is published to; every finding or event that could not
be sent (after retries) is one line on stderr (``hullscan: not published to TARGET: ID: CODE:
MESSAGE``) and the exit code is 2. A failure to publish at all (no boto3, no credentials, a
refused call) is the usual one-line error, also exit 2.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from typing import Any

from hullscan.errors import PublishError

EXIT_PUBLISH = 2


def add_arguments(
    p: argparse.ArgumentParser, *, targets: Sequence[str] = ("securityhub", "eventbridge")
) -> None:
    g = p.add_argument_group("AWS publishing (the usual AWS configuration; needs boto3: hullscan[aws])")
    what = {
        "securityhub": "AWS Security Hub (BatchImportFindings)",
        "eventbridge": "EventBridge (PutEvents, source hullscan)",
    }
    g.add_argument(
        "--publish",
        action="append",
        default=[],
        choices=tuple(targets),
        help=f"send the findings to {' or '.join(what[t] for t in targets)}; repeatable",
    )
    g.add_argument(
        "--aws-account", metavar="ID", help="AWS account of the findings (default: STS when publishing)"
    )
    g.add_argument("--aws-region", metavar="REGION", help="AWS region (default: the AWS configuration)")
    g.add_argument("--aws-profile", metavar="NAME", help="AWS profile (default: the usual AWS configuration)")
    g.add_argument(
        "--event-bus", default="default", metavar="NAME", help="EventBridge bus (default: default)"
    )


def render_options(args: argparse.Namespace) -> dict[str, Any]:
    """The ``--format asff`` options: the account and region given, else (when publishing) the
    ones publishing uses, and one timestamp, so the report and the published findings agree."""
    from hullscan.report.asff import timestamp

    account, region = getattr(args, "aws_account", None), getattr(args, "aws_region", None)
    args.asff_time = timestamp()
    if getattr(args, "publish", None):
        from hullscan.publish import aws_context

        ctx = aws_context(account=account, region=region, profile=args.aws_profile)
        args.aws_account, args.aws_region = ctx.account, ctx.region
        account, region = ctx.account, ctx.region
    return {"aws_account": account, "aws_region": region, "timestamp": args.asff_time}


def _report(results: list[Any], clean: Callable[[object], str]) -> int:
    code = 0
    for res in results:
        for f in res.failed:
            print(f"hullscan: not published to {res.target}: {clean(f.line())}", file=sys.stderr)
        if res.failed:
            code = EXIT_PUBLISH
        print(
            f"hullscan: published {res.sent} to {res.target}"
            + (f", {len(res.failed)} not sent" if res.failed else "")
            + (f" ({res.retries} retried call(s))" if res.retries else ""),
            file=sys.stderr,
        )
    return code


def run(result: Any, args: argparse.Namespace, clean: Callable[[object], str]) -> int:
    """Publish a scan's findings to every ``--publish`` target; 0, or 2 when any was not sent."""
    if not args.publish:
        return 0
    from hullscan.publish import publish_eventbridge, publish_securityhub

    results = []
    for target in dict.fromkeys(args.publish):
        common = {
            "account": args.aws_account,
            "region": args.aws_region,
            "profile": args.aws_profile,
            "when": getattr(args, "asff_time", None),
        }
        if target == "securityhub":
            results.append(publish_securityhub(result, **common))
        elif target == "eventbridge":
            results.append(publish_eventbridge(result, bus=args.event_bus, **common))
        else:  # pragma: no cover - argparse's choices
            raise PublishError(f"unknown --publish target {target!r}")
    return _report(results, clean)


def run_deltas(deltas: Sequence[Any], args: argparse.Namespace, clean: Callable[[object], str]) -> int:
    """Publish a rescan's deltas to EventBridge; 0, or 2 when any event was not sent."""
    if not args.publish:
        return 0
    from hullscan.publish import publish_deltas

    res = publish_deltas(
        deltas,
        account=args.aws_account,
        region=args.aws_region,
        profile=args.aws_profile,
        bus=args.event_bus,
    )
    return _report([res], clean)


__all__ = ["add_arguments", "render_options", "run", "run_deltas"]
