"""Issue 8 (Inspector parity): ASFF output, Security Hub and EventBridge publishing, against the
``moto_server`` the session starts (tests/conftest.py).

- ASFF: a golden file of the two-layer Alpine image (``HULLSCAN_UPDATE_GOLDEN=1`` rewrites it);
  every finding validated against botocore's service model for ``BatchImportFindings`` (botocore's
  ``ParamValidator``) and Security Hub's documented limits.
- Security Hub: more than 100 findings imported (batches of 100, counted by a pass-through proxy),
  read back with GetFindings.
- EventBridge: a rule on the default bus with an SQS queue as its target; the queue is read.
- Interrupted publishing: a proxy between boto3 and moto answers 500 and 429 to first calls and
  fails some items of each batch (for a while, or for good): the transient ones are retried, the
  others reported (exit 2, stderr naming each), none dropped.
- The ECR image of tests/test_ecr.py scanned from its registry: the resource is the ECR image with
  its digest; rescan deltas published as ACTIVE / CLOSED events.
- The risky image of tests/test_image_checks.py: the image checks once each, the secrets in no
  ASFF finding, Security Hub finding or event.
"""

from __future__ import annotations

import http.client
import http.server
import json
import os
import threading
import urllib.parse
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import report_images
import test_ecr
import test_image_checks
from conftest import REPO
from hullscan import db as advisory_db
from hullscan.publish import Retry, aws_context, publish_eventbridge, publish_securityhub
from hullscan.publish.securityhub import import_findings
from hullscan.report import FORMATS, RenderOptions, asff, render
from hullscan.scan import ScanResult
from registry_servers import Moto
from test_ecr import ACCOUNT, HOST, REGION, Ecr, run_cli
from test_image_checks import SECRETS
from test_report import hostile

# The fixtures of those modules, used here too: the ECR images and AWS environment, the risky image.
ecr = test_ecr.ecr
aws_env = test_ecr.aws_env
risky_image = test_image_checks.risky_image
risky_scan = test_image_checks.risky_scan

GOLDEN = REPO / "tests" / "golden" / "report" / "alpine-app.asff.json"
WHEN = "2024-01-01T00:00:00.000Z"
NO_RETRY_WAIT = Retry(attempts=5, base=0.0)


@pytest.fixture(scope="session")
def report_scans(tmp_path_factory: pytest.TempPathFactory, edge_fixtures: Path) -> dict[str, ScanResult]:
    return report_images.report_scans(tmp_path_factory, edge_fixtures)


def boto(service: str, url: str, region: str) -> Any:
    import boto3

    return boto3.client(
        service,
        region_name=region,
        endpoint_url=url,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


def hub_findings(url: str, region: str) -> dict[str, dict[str, Any]]:
    """Every finding moto's Security Hub holds in ``region``, by Id (GetFindings, paginated)."""
    hub = boto("securityhub", url, region)
    out: dict[str, dict[str, Any]] = {}
    for page in hub.get_paginator("get_findings").paginate(PaginationConfig={"PageSize": 100}):
        for f in page["Findings"]:
            out[f["Id"]] = f
    return out


def event_queue(url: str, region: str, name: str, **pattern: Any) -> str:
    """An SQS queue receiving the ``source: hullscan`` events of the default bus of ``region``
    that match ``pattern`` too. (moto spends about half a second delivering one event to a queue,
    so the tests route a few events of each run to the queue, as rules in production do, and
    count every event through the proxy.)"""
    sqs = boto("sqs", url, region)
    q = sqs.create_queue(QueueName=name)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=q, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    events = boto("events", url, region)
    events.put_rule(Name=f"{name}-rule", EventPattern=json.dumps({"source": ["hullscan"], **pattern}))
    events.put_targets(Rule=f"{name}-rule", Targets=[{"Id": "q", "Arn": arn}])
    return q


def drain(url: str, region: str, queue: str) -> list[dict[str, Any]]:
    sqs = boto("sqs", url, region)
    out = []
    while True:
        msgs = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10).get("Messages", [])
        if not msgs:
            return out
        for m in msgs:
            out.append(json.loads(m["Body"]))
            sqs.delete_message(QueueUrl=queue, ReceiptHandle=m["ReceiptHandle"])


def assert_accepted(docs: list[dict[str, Any]]) -> None:
    problems = asff.problems(docs)
    assert not problems, "\n".join(problems[:5])


# --- the proxy that counts calls and injects faults -----------------------------------------------


class FaultProxy:
    """Forwards boto3's calls to moto. For BatchImportFindings and PutEvents it records each call's
    item count, answers the first ``errors`` calls with the given (status, error code) instead, and
    fails items whose text contains a ``broken`` word on every try and a ``flaky`` word on the first
    ``flaky_tries`` tries (those items are not forwarded; the answer names them as failed)."""

    def __init__(
        self,
        upstream: str,
        *,
        errors: tuple[tuple[int, str], ...] = (),
        broken: str | None = None,
        flaky: str | None = None,
        flaky_tries: int = 2,
    ) -> None:
        self.upstream = urllib.parse.urlsplit(upstream).netloc
        self.calls: list[tuple[str, int]] = []
        self.errors = list(errors)
        self.seen: dict[str, int] = {}
        #: The PutEvents entries moto accepted (answered with an EventId), in order.
        self.accepted: list[dict[str, Any]] = []
        proxy = self

        def failing(text: str) -> bool:
            if broken is not None and broken in text:
                return True
            if flaky is not None and flaky in text:
                proxy.seen[text] = proxy.seen.get(text, 0) + 1
                return proxy.seen[text] <= flaky_tries
            return False

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def forward(self, body: bytes) -> tuple[int, dict[str, str], bytes]:
                conn = http.client.HTTPConnection(proxy.upstream, timeout=60)
                headers = {
                    k: v for k, v in self.headers.items() if k.lower() not in ("host", "content-length")
                }
                conn.request(self.command, self.path, body=body, headers=headers)
                resp = conn.getresponse()
                data = resp.read()
                conn.close()
                return (
                    resp.status,
                    {"Content-Type": resp.headers.get("Content-Type", "application/json")},
                    data,
                )

            def reply(self, status: int, headers: dict[str, str], data: bytes) -> None:
                self.send_response(status)
                for k, v in headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:
                self.reply(*self.forward(b""))

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                target = self.headers.get("X-Amz-Target") or ""
                if self.path.startswith("/findings/import"):
                    op, key = "BatchImportFindings", "Findings"
                elif target.endswith(".PutEvents"):
                    op, key = "PutEvents", "Entries"
                else:
                    self.reply(*self.forward(body))
                    return
                req = json.loads(body)
                proxy.calls.append((op, len(req[key])))
                if proxy.errors:
                    status, code = proxy.errors.pop(0)
                    doc = {"__type": code, "message": f"injected {code}"}
                    self.reply(status, {"Content-Type": "application/json", "x-amzn-ErrorType": code},
                               json.dumps(doc).encode())  # fmt: skip
                    return
                items = req[key]
                fails = [failing(json.dumps(i)) for i in items]
                req[key] = [i for i, bad in zip(items, fails, strict=True) if not bad]
                status, headers, data = (
                    self.forward(json.dumps(req).encode())
                    if req[key]
                    else (200, {"Content-Type": "application/json"}, b"{}")
                )
                doc = json.loads(data or b"{}")
                if op == "BatchImportFindings":
                    failed = [
                        {"Id": i["Id"], "ErrorCode": "InternalFailure", "ErrorMessage": "injected"}
                        for i, bad in zip(items, fails, strict=True)
                        if bad
                    ]
                    doc["FailedFindings"] = list(doc.get("FailedFindings") or []) + failed
                    doc["FailedCount"] = int(doc.get("FailedCount") or 0) + len(failed)
                    doc["SuccessCount"] = int(doc.get("SuccessCount") or 0)
                else:
                    answers = iter(zip(req[key], doc.get("Entries") or [], strict=True))
                    entries = []
                    for bad in fails:
                        if bad:
                            entries.append({"ErrorCode": "InternalFailure", "ErrorMessage": "injected"})
                            continue
                        sent, answer = next(answers)
                        if "EventId" in answer:
                            proxy.accepted.append(sent)
                        entries.append(answer)
                    doc = {
                        "FailedEntryCount": sum(fails) + int(doc.get("FailedEntryCount") or 0),
                        "Entries": entries,
                    }
                self.reply(status, headers, json.dumps(doc).encode())

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def proxy_factory(moto: Moto, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    made: list[FaultProxy] = []

    def make(**kw: Any) -> FaultProxy:
        p = FaultProxy(moto.url, **kw)
        made.append(p)
        monkeypatch.setenv("AWS_ENDPOINT_URL", p.url)
        return p

    yield make
    for p in made:
        p.stop()


# --- ASFF -----------------------------------------------------------------------------------------


def test_asff_golden_and_shape(report_scans: dict[str, ScanResult]) -> None:
    """The two-layer Alpine image as ASFF, byte for byte; every finding of every report scan in
    the shape Security Hub takes."""
    result = report_scans["app"]
    work = str(Path(result.inventory.source.split(":", 1)[1]).parent)
    options = RenderOptions(aws_account=ACCOUNT, aws_region="eu-west-1", timestamp=WHEN)
    text = render(result, "asff", options=options).replace(work, "${WORK}")
    if os.environ.get("HULLSCAN_UPDATE_GOLDEN") == "1":
        GOLDEN.write_text(text)
    assert GOLDEN.is_file(), f"{GOLDEN} missing: run with HULLSCAN_UPDATE_GOLDEN=1"
    assert text == GOLDEN.read_text()
    assert "asff" in FORMATS

    doc = json.loads(text)
    docs = doc["Findings"]
    assert len(docs) == len(result.findings) + len(result.inventory.config_findings)
    assert_accepted(docs)
    assert len({d["Id"] for d in docs}) == len(docs)
    req = next(d for d in docs if d["Title"] == "CVE-2018-18074 - requests")
    assert req["Severity"] == {"Label": "HIGH", "Normalized": 70, "Original": "HIGH"}
    assert req["ProductArn"] == f"arn:aws:securityhub:eu-west-1:{ACCOUNT}:product/{ACCOUNT}/default"
    assert req["CreatedAt"] == req["UpdatedAt"] == WHEN
    vuln = req["Vulnerabilities"][0]
    assert vuln["FixAvailable"] == "YES"
    assert vuln["VulnerablePackages"][0]["FixedInVersion"] == "2.20.0"
    assert vuln["VulnerablePackages"][0]["PackageManager"] == "PYTHONPKG"
    assert vuln["Cvss"][0]["BaseVector"] == "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:N/A:N"
    assert vuln["Cvss"][0]["Version"] == "3.1"
    assert set(vuln["RelatedVulnerabilities"]) == {"GHSA-x84v-xcm2-53pg", "PYSEC-2018-28"}
    assert "2.20.0" in req["Remediation"]["Recommendation"]["Text"]
    # Not an ECR image: a Container resource named by its tag and image id.
    assert req["Resources"][0]["Type"] == "Container"
    busybox = next(d for d in docs if d["Title"].endswith(" - busybox"))
    pkg = busybox["Vulnerabilities"][0]["VulnerablePackages"][0]
    assert (pkg["PackageManager"], pkg["Release"]) == ("OS", "r29")
    assert busybox["Severity"]["Label"] == "INFORMATIONAL"
    assert busybox["Severity"]["Original"] == "UNTRIAGED"

    # The same finding gets the same Id in every run (Security Hub updates it, adds none).
    again = json.loads(render(result, "asff", options=RenderOptions(aws_account=ACCOUNT, timestamp=WHEN)))
    assert [d["Id"] for d in again["Findings"]] == [d["Id"] for d in docs]

    for name, scan in report_scans.items():
        docs = json.loads(render(scan, "asff", options=options))["Findings"]
        assert len(docs) == len(scan.findings) + len(scan.inventory.config_findings), name
        assert_accepted(docs)


def test_asff_triage_and_validation(report_scans: dict[str, ScanResult]) -> None:
    """EPSS, KEV and suppressions in ASFF; the validator catches what Security Hub refuses."""
    rich = report_images.enriched(report_scans["app"])
    docs = asff.findings(rich, ctx=asff.context(rich, account=ACCOUNT, region=REGION), when=WHEN)
    assert_accepted(docs)
    by_key = {
        (d["Vulnerabilities"][0]["Id"], d["ProductFields"]["hullscan/package/purl"]): d
        for d in docs
        if "Vulnerabilities" in d and d["Workflow"]["Status"] == "NEW"
    }
    for f in rich.findings:
        v = by_key[(f.id, f.package.purl)]["Vulnerabilities"][0]
        if f.epss is not None:
            assert v["EpssScore"] == f.epss.score
        assert v["ExploitAvailable"] == ("YES" if f.kev is not None else "NO")
    assert rich.suppressed
    for f in rich.suppressed:
        d = next(d for d in docs if d.get("Vulnerabilities", [{}])[0].get("Id") == f.id and "Note" in d)
        assert d["Workflow"]["Status"] == "SUPPRESSED"
        assert f.suppression is not None
        assert f.suppression.status in d["Note"]["Text"]

    bad = json.loads(json.dumps(docs[0]))
    bad["Description"] = "x" * 1025
    bad["Severity"]["Label"] = "SEVERE"
    bad["Title"] = " "
    del bad["ProductArn"]
    text = "\n".join(asff.problems([bad]))
    assert "ProductArn" in text  # botocore's shape: a required member missing
    assert "Description: longer than 1024" in text
    assert "Severity" in text
    assert "Title: blank string" in text


def test_asff_hostile_strings(report_scans: dict[str, ScanResult], moto: Moto, proxy_factory: Any) -> None:
    """Control characters and markup in names from the image: escaped, on one line, accepted."""
    result = hostile(report_scans["app"])
    text = render(result, "asff", options=RenderOptions(aws_account=ACCOUNT, timestamp=WHEN))
    docs = json.loads(text)["Findings"]
    assert_accepted(docs)
    blob = json.dumps(docs, ensure_ascii=False)
    for bad in ("\x1b", "\r", "\n", "\x00", "\x07"):
        assert bad not in blob
    evil = docs[0]
    assert evil["Title"].startswith("CVE-2018-18074 - evil\\x1b[2J\\nCVE-0000-0000")
    assert evil["Vulnerabilities"][0]["VulnerablePackages"][0]["Name"].startswith("evil\\x1b")
    proxy_factory()
    ctx = asff.context(None, account=ACCOUNT, region="me-south-1")
    res = import_findings(asff.findings(result, ctx=ctx, when=WHEN), ctx=ctx, retry=NO_RETRY_WAIT)
    assert res.ok
    assert res.sent == len(docs)
    assert evil["Title"] in {f["Title"] for f in hub_findings(moto.url, "me-south-1").values()}


# --- Security Hub ---------------------------------------------------------------------------------


def test_securityhub_batches_and_get_findings(
    report_scans: dict[str, ScanResult], moto: Moto, proxy_factory: Any
) -> None:
    region = "eu-central-1"
    ctx = asff.context(None, account=ACCOUNT, region=region)
    docs = [d for scan in report_scans.values() for d in asff.findings(scan, ctx=ctx, when=WHEN)]
    assert len(docs) > 100  # two batches at least
    assert_accepted(docs)
    proxy = proxy_factory()
    res = import_findings(docs, ctx=ctx, retry=NO_RETRY_WAIT)
    assert res.ok
    assert res.sent == len(docs)
    sizes = [n for op, n in proxy.calls if op == "BatchImportFindings"]
    assert max(sizes) == 100
    assert sum(sizes) == len(docs)
    assert len(sizes) == -(-len(docs) // 100)
    stored = hub_findings(moto.url, region)
    assert set(stored) == {d["Id"] for d in docs}
    for d in docs[:: max(1, len(docs) // 20)]:
        assert stored[d["Id"]] == d


def test_interrupted_securityhub_publish_is_retried_and_reported(
    report_scans: dict[str, ScanResult], moto: Moto, proxy_factory: Any
) -> None:
    """500, then 429, then per-finding failures: the flaky findings arrive after retries, the
    broken ones are listed as not sent; sent + not sent is every finding."""
    region = "ap-southeast-2"
    proxy = proxy_factory(
        errors=((500, "InternalServerException"), (429, "TooManyRequestsException")),
        broken='"Name": "busybox"',
        flaky='"Name": "requests"',
    )
    res = publish_securityhub(report_scans["app"], region=region, when=WHEN, retry=NO_RETRY_WAIT)
    docs = asff.findings(
        report_scans["app"], ctx=asff.context(None, account=ACCOUNT, region=region), when=WHEN
    )
    broken = {
        d["Id"]
        for d in docs
        if d.get("Vulnerabilities", [{}])[0].get("VulnerablePackages", [{}])[0].get("Name") == "busybox"
    }
    flaky = {d["Id"] for d in docs if d["Title"].endswith(" - requests")}
    assert broken
    assert flaky
    assert {f.id for f in res.failed} == broken
    assert {f.code for f in res.failed} == {"InternalFailure"}
    assert res.sent + len(res.failed) == len(docs)
    assert res.retries >= 2 + 2  # the two refused calls, and two more tries of the flaky findings
    stored = hub_findings(moto.url, region)
    assert set(stored) == {d["Id"] for d in docs} - broken
    assert flaky <= set(stored)
    with pytest.raises(Exception, match="not sent") as info:
        res.raise_for_failures()
    assert {f.id for f in info.value.failures} == broken  # type: ignore[attr-defined]
    assert proxy.calls[0][0] == "BatchImportFindings"


# --- ECR images: the CLI, EventBridge, deltas ------------------------------------------------------


@pytest.fixture
def ecr_db(ecr: Ecr) -> None:
    advisory_db.import_paths([ecr.advisories], name="alpine-3.20").close()


SSL_CVE = {"detail": {"packageVulnerabilityDetails": {"vulnerabilityId": ["CVE-2024-9143"]}}}


def test_cli_publishes_an_ecr_image_to_both(
    ecr: Ecr, ecr_db: None, moto: Moto, tmp_path: Path, proxy_factory: Any
) -> None:
    region = "ca-central-1"
    queue = event_queue(moto.url, region, "cli-findings", **SSL_CVE)
    proxy = proxy_factory()
    image = next(p for p in ecr.pushed if (p.repository, p.tag) == ("team-a/app", "1.0"))
    out = tmp_path / "report.asff"
    code, stdout, err = run_cli(
        "scan",
        f"{HOST}/team-a/app:1.0",
        "--registry-config",
        str(ecr.settings),
        "--format",
        "asff",
        "--output",
        str(out),
        "--publish",
        "securityhub",
        "--publish",
        "eventbridge",
        "--aws-region",
        region,
    )
    assert code == 0, err
    assert stdout == ""
    docs = json.loads(out.read_text())["Findings"]
    assert docs
    assert_accepted(docs)
    res = docs[0]["Resources"][0]
    assert res["Type"] == "AwsEcrContainerImage"
    assert res["Id"] == f"arn:aws:ecr:{REGION}:{ACCOUNT}:repository/team-a/app/{image.digest}"
    details = res["Details"]["AwsEcrContainerImage"]
    assert details == {
        "RegistryId": ACCOUNT,
        "RepositoryName": "team-a/app",
        "ImageDigest": image.digest,
        "ImageTags": ["1.0"],
        "Architecture": "amd64",
    }
    # The account is STS's (moto's), the region the one asked for.
    assert {d["AwsAccountId"] for d in docs} == {ACCOUNT}
    assert {d["Region"] for d in docs} == {region}
    assert f"published {len(docs)} to securityhub" in err
    assert f"published {len(docs)} to eventbridge" in err
    stored = hub_findings(moto.url, region)
    assert set(stored) == {d["Id"] for d in docs}
    assert all(stored[d["Id"]] == d for d in docs)  # the report is what was published, times too
    # Every event accepted, 10 a call; the rule's queue got the two CVE-2024-9143 ones.
    sizes = [n for op, n in proxy.calls if op == "PutEvents"]
    assert max(sizes) == 10
    assert len(sizes) == -(-len(docs) // 10)
    accepted = [json.loads(e["Detail"]) for e in proxy.accepted]
    assert sorted(e["findingArn"] for e in accepted) == sorted(d["Id"] for d in docs)
    assert {(e["Source"], e["DetailType"]) for e in proxy.accepted} == {("hullscan", "Hullscan Finding")}
    events = drain(moto.url, region, queue)
    want = {d["Id"] for d in docs if d.get("Vulnerabilities", [{}])[0].get("Id") == "CVE-2024-9143"}
    assert len(want) == 2
    assert sorted(e["detail"]["findingArn"] for e in events) == sorted(want)
    assert {e["source"] for e in events} == {"hullscan"}
    assert {e["detail-type"] for e in events} == {"Hullscan Finding"}
    assert all(e["resources"] == [res["Id"]] for e in events)
    ssl = next(e["detail"] for e in events if e["detail"]["title"] == "CVE-2024-9143 - libssl3")
    assert ssl["type"] == "PACKAGE_VULNERABILITY"
    assert ssl["status"] == "ACTIVE"
    assert ssl["fixAvailable"] == "YES"
    assert ssl["resources"][0]["type"] == "AWS_ECR_CONTAINER_IMAGE"
    assert ssl["resources"][0]["details"]["awsEcrContainerImage"]["imageHash"] == image.digest
    pkg = ssl["packageVulnerabilityDetails"]["vulnerablePackages"][0]
    assert pkg["name"] == "libssl3"
    assert pkg["fixedInVersion"] != "NotAvailable"


def test_cli_reports_what_was_not_sent(
    ecr: Ecr, ecr_db: None, moto: Moto, tmp_path: Path, proxy_factory: Any
) -> None:
    """EventBridge throttles the first call and keeps failing the busybox events: exit 2, one
    stderr line per event not sent, every other event in the queue."""
    region = "sa-east-1"
    queue = event_queue(moto.url, region, "faulty", **SSL_CVE)
    proxy = proxy_factory(errors=((400, "ThrottlingException"),), broken='\\"name\\":\\"busybox\\"')
    out = tmp_path / "r.asff"
    code, _, err = run_cli(
        "scan",
        f"{HOST}/team-a/app:1.0",
        "--registry-config",
        str(ecr.settings),
        "-o",
        f"asff={out}",
        "--format",
        "json",
        "--publish",
        "eventbridge",
        "--aws-region",
        region,
    )
    assert code == 2
    docs = json.loads(out.read_text())["Findings"]
    broken = {
        d["Id"]
        for d in docs
        if d.get("Vulnerabilities", [{}])[0].get("VulnerablePackages", [{}])[0].get("Name") == "busybox"
    }
    assert broken
    lines = [line for line in err.splitlines() if line.startswith("hullscan: not published to eventbridge: ")]
    assert sorted(line.split(": ")[2] for line in lines) == sorted(broken)
    assert all(line.endswith(": InternalFailure: injected") for line in lines)
    assert f"published {len(docs) - len(broken)} to eventbridge, {len(broken)} not sent" in err
    accepted = {json.loads(e["Detail"])["findingArn"] for e in proxy.accepted}
    assert accepted == {d["Id"] for d in docs} - broken
    got = {e["detail"]["findingArn"] for e in drain(moto.url, region, queue)}
    assert got == {d["Id"] for d in docs if d.get("Vulnerabilities", [{}])[0].get("Id") == "CVE-2024-9143"}


def test_rescan_deltas_as_events(ecr: Ecr, moto: Moto, tmp_path: Path, proxy_factory: Any) -> None:
    """New findings after a database update are ACTIVE events, findings gone after the next one
    CLOSED, each image's delta one ``Hullscan Rescan Delta`` event."""
    region = "us-west-2"
    summary_queue = event_queue(moto.url, region, "deltas", **{"detail-type": ["Hullscan Rescan Delta"]})
    ssl_queue = event_queue(moto.url, region, "ssl", **SSL_CVE)
    store = tmp_path / "s.db"
    advisory_db.import_paths([ecr.old_advisories], name="alpine-3.20").close()
    code, _, err = run_cli(
        "scan-registry",
        f"ecr://{ACCOUNT}/{REGION}/team-a/",
        "--store",
        str(store),
        "--registry-config",
        str(ecr.settings),
    )
    assert code == 0, err
    advisory_db.import_paths([ecr.advisories], name="alpine-3.20").close()
    proxy = proxy_factory()
    code, out, err = run_cli(
        "rescan",
        "--store",
        str(store),
        "--format",
        "json",
        "--publish",
        "eventbridge",
        "--aws-region",
        region,
    )
    assert code == 0, err
    deltas = json.loads(out)["images"]
    new = {(d["digest"], f["id"], f["purl"]) for d in deltas for f in d["new"]}
    assert new
    sent = [(e["DetailType"], json.loads(e["Detail"])) for e in proxy.accepted]
    findings = [d for t, d in sent if t == "Hullscan Finding"]
    summaries = [d for t, d in sent if t == "Hullscan Rescan Delta"]
    assert len(findings) == len(new)
    assert {f["status"] for f in findings} == {"ACTIVE"}
    assert {f["rescan"]["change"] for f in findings} == {"new"}
    assert {s["imageDigest"] for s in summaries} == {d["digest"] for d in deltas if d["new"]}
    assert sum(s["counts"]["new"] for s in summaries) == len(new)
    # The finding ids are those a scan of the image reports (Security Hub and events join).
    for f in findings:
        digest = f["resources"][0]["details"]["awsEcrContainerImage"]["imageHash"]
        vid = f["packageVulnerabilityDetails"]["vulnerabilityId"]
        assert f["findingArn"] in {asff.stable_id(dg, p, i) for dg, i, p in new if (dg, i) == (digest, vid)}
    # Delivered through the rules: each summary, and the CVE-2024-9143 findings.
    got = drain(moto.url, region, summary_queue)
    assert sorted(e["detail"]["imageDigest"] for e in got) == sorted(s["imageDigest"] for s in summaries)
    got = drain(moto.url, region, ssl_queue)
    assert got
    assert sorted(e["detail"]["findingArn"] for e in got) == sorted(
        f["findingArn"]
        for f in findings
        if f["packageVulnerabilityDetails"]["vulnerabilityId"] == "CVE-2024-9143"
    )

    # Back to the old advisories: those findings are resolved, CLOSED events.
    advisory_db.import_paths([ecr.old_advisories], name="alpine-3.20").close()
    proxy.accepted.clear()
    code, out, err = run_cli(
        "rescan", "--store", str(store), "--publish", "eventbridge", "--aws-region", region
    )
    assert code == 0, err
    closed = [json.loads(e["Detail"]) for e in proxy.accepted if e["DetailType"] == "Hullscan Finding"]
    assert {f["status"] for f in closed} == {"CLOSED"}
    assert {f["rescan"]["change"] for f in closed} == {"resolved"}
    assert sorted(f["findingArn"] for f in closed) == sorted(f["findingArn"] for f in findings)
    assert {e["detail"]["status"] for e in drain(moto.url, region, ssl_queue)} == {"CLOSED"}
    assert len(drain(moto.url, region, summary_queue)) == len(summaries)


def test_monitor_publishes_each_cycle(ecr: Ecr, moto: Moto, tmp_path: Path, proxy_factory: Any) -> None:
    """``monitor --once --publish eventbridge``: the cycle's deltas (first scans: every finding new)
    as events; a publish that cannot happen is reported and the cycle's exit code is 2."""
    region = "eu-south-1"
    advisory_db.import_paths([ecr.advisories], name="alpine-3.20").close()
    proxy = proxy_factory()
    args = ["monitor", f"ecr://{ACCOUNT}/{REGION}/team-a/", "--once", "--store", str(tmp_path / "s.db")]
    args += ["--registry-config", str(ecr.settings), "--format", "json"]
    code, out, err = run_cli(*args, "--publish", "eventbridge", "--aws-region", region)
    assert code == 0, err
    doc = json.loads(out)
    deltas = [i["delta"] for i in doc["images"] if i["delta"]] + doc["rescanned"]
    changes = sum(len(d["new"]) + len(d["resolved"]) + len(d["changed"]) for d in deltas)
    assert changes
    kinds = [e["DetailType"] for e in proxy.accepted]
    assert kinds.count("Hullscan Finding") == changes
    assert kinds.count("Hullscan Rescan Delta") == sum(
        1 for d in deltas if d["new"] or d["resolved"] or d["changed"]
    )
    assert f"published {len(kinds)} to eventbridge" in err
    code, out, err = run_cli(*args, "--publish", "eventbridge", "--aws-region", "nowhere")
    assert code == 2
    assert json.loads(out)["cycle"] == 1
    assert err.startswith("hullscan: error: PublishError: AWS region 'nowhere' is not a region name")
    assert err.rstrip().endswith("(deltas of cycle 1 not published)")
    assert err.count("\n") == 1


# --- secrets ---------------------------------------------------------------------------------------


def test_image_checks_once_and_secrets_never_sent(
    risky_scan: ScanResult, moto: Moto, proxy_factory: Any
) -> None:
    region = "eu-west-3"
    queue = event_queue(moto.url, region, "risky", detail={"type": ["IMAGE_CONFIGURATION"]})
    proxy = proxy_factory()
    text = render(risky_scan, "asff", options=RenderOptions(aws_account=ACCOUNT, aws_region=region))
    docs = json.loads(text)["Findings"]
    assert_accepted(docs)
    checks = [d for d in docs if "hullscan/check" in d["ProductFields"]]
    assert sorted(d["ProductFields"]["hullscan/check"] for d in checks) == sorted(
        c.id for c in risky_scan.inventory.config_findings
    )
    assert len({d["Id"] for d in checks}) == len(checks) == 7
    assert all(
        not d["Types"][0].startswith("Software and Configuration Checks/Vulnerabilities") for d in checks
    )
    assert "AKIA****" in text
    hub = publish_securityhub(risky_scan, region=region, retry=NO_RETRY_WAIT)
    bus = publish_eventbridge(risky_scan, region=region, retry=NO_RETRY_WAIT)
    assert hub.ok
    assert bus.ok
    assert hub.sent == bus.sent == len(docs)
    delivered = drain(moto.url, region, queue)
    assert sorted(e["detail"]["imageCheckDetails"]["checkId"] for e in delivered) == sorted(
        c.id for c in risky_scan.inventory.config_findings
    )
    assert len(proxy.accepted) == len(docs)
    sent = [
        text,
        json.dumps(hub_findings(moto.url, region)),
        json.dumps(proxy.accepted),
        json.dumps(delivered),
    ]
    for secret in SECRETS:
        for where, blob in zip(("asff", "securityhub", "events", "queue"), sent, strict=True):
            assert secret not in blob, f"{secret[:4]}... leaked to {where}"
    assert "AKIA****" in sent[3]


def test_publish_errors_are_one_line(ecr: Ecr, ecr_db: None, monkeypatch: pytest.MonkeyPatch) -> None:
    archive = ecr.pushed[0].archive
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    code, out, err = run_cli("scan", archive, "--publish", "securityhub")
    assert code == 2
    assert out == ""
    assert err == "hullscan: error: PublishError: STS GetCallerIdentity: no AWS credentials found\n"
    code, _, err = run_cli("scan", archive, "--format", "asff", "--aws-account", "12")
    assert code == 2
    assert err.startswith("hullscan: error: ")
    assert err.count("\n") == 1
    with pytest.raises(Exception, match="region"):
        aws_context(account=ACCOUNT, region="not a region")


def test_event_entries_fit_the_size_limit(report_scans: dict[str, ScanResult]) -> None:
    """An entry over 256 KB has its description cut to fit; one that cannot fit is reported, not
    dropped (put_events fails it before any call)."""
    from hullscan.publish import eventbridge

    ctx = asff.context(None, account=ACCOUNT, region=REGION)
    doc = asff.findings(report_scans["app"], ctx=ctx, when=WHEN)[0]
    detail = eventbridge.detail_of(doc)
    detail["description"] = "\u00e9" * 200_000  # two bytes each in UTF-8
    entry = eventbridge._entry(detail, eventbridge.FINDING, [], "default")
    assert eventbridge.entry_size(entry) <= eventbridge.MAX_ENTRY
    cut = json.loads(entry["Detail"])["description"]
    assert cut.endswith("\u2026")
    assert eventbridge.MAX_ENTRY - eventbridge.entry_size(entry) < 10_000  # cut to fit, not to nothing
    huge = dict(entry, Resources=["arn:aws:ecr:x" * 30_000])
    res = eventbridge.put_events([("too-big", huge)], region=REGION, retry=NO_RETRY_WAIT)
    assert [(f.id, f.code) for f in res.failed] == [("too-big", "EntryTooLarge")]
    assert res.calls == 0
