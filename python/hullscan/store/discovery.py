"""Discovery of images to scan in a registry: Amazon ECR through its API.

``ecr://ACCOUNT/REGION[/repo-prefix]``: DescribeRepositories then DescribeImages for each
repository, both paginated with boto3's paginators (the endpoint, profile and keys from the usual
AWS configuration: ``AWS_ENDPOINT_URL`` / ``AWS_ENDPOINT_URL_ECR``, ``AWS_PROFILE``, environment,
config files). Each image is one :class:`DiscoveredImage` per digest (its tags together).
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from hullscan.errors import AuthenticationError, RegistryError, StoreError

_ECR_TARGET = re.compile(
    r"^ecr://(?P<account>[0-9]{12})/(?P<region>[a-z]{2}(?:-[a-z]+)+-[0-9])(?:/(?P<prefix>.*))?$"
)
_DURATION = re.compile(r"^(\d+(?:\.\d+)?)([smhdw])$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
#: DescribeImages / DescribeRepositories page size (the API allows up to 1000).
PAGE_SIZE = 1000


@dataclass(frozen=True, slots=True)
class EcrTarget:
    account: str
    region: str
    prefix: str = ""

    @property
    def host(self) -> str:
        return f"{self.account}.dkr.ecr.{self.region}.amazonaws.com"

    def __str__(self) -> str:
        return f"ecr://{self.account}/{self.region}" + (f"/{self.prefix}" if self.prefix else "")


@dataclass(frozen=True, slots=True)
class DiscoveredImage:
    """One image (one digest) found by discovery."""

    host: str
    repository: str
    digest: str
    tags: tuple[str, ...] = ()
    pushed_at: datetime | None = None
    last_pulled_at: datetime | None = None
    media_type: str | None = None

    @property
    def name(self) -> str:
        """``HOST/REPOSITORY``: the store's repository column."""
        return f"{self.host}/{self.repository}"

    @property
    def reference(self) -> str:
        """The pull reference, by digest."""
        return f"registry:{self.host}/{self.repository}@{self.digest}"


@dataclass(frozen=True, slots=True)
class Filters:
    """Which discovered images to scan."""

    #: fnmatch patterns; an image is kept if any of its tags matches one (untagged images never).
    tags: tuple[str, ...] = ()
    pushed_since: datetime | None = None
    #: Kept if pulled (ECR's lastRecordedPullTime; an image never pulled counts its push time) since.
    pulled_since: datetime | None = None
    max_images: int | None = None

    def keep(self, img: DiscoveredImage) -> bool:
        if self.tags and not any(fnmatch.fnmatchcase(t, p) for t in img.tags for p in self.tags):
            return False
        if self.pushed_since is not None and (img.pushed_at is None or img.pushed_at < self.pushed_since):
            return False
        if self.pulled_since is not None:
            seen = img.last_pulled_at or img.pushed_at
            if seen is None or seen < self.pulled_since:
                return False
        return True


def parse_since(text: str, *, now: datetime | None = None) -> datetime:
    """``7d`` / ``12h`` / ``90m`` / ``30s`` / ``2w`` ago, or an ISO 8601 date or time (UTC if no
    zone)."""
    s = text.strip()
    m = _DURATION.match(s.lower())
    if m:
        return (now or datetime.now(UTC)) - timedelta(seconds=float(m.group(1)) * _UNITS[m.group(2)])
    try:
        t = datetime.fromisoformat(s)
    except ValueError as e:
        raise StoreError(f"{text!r} is neither a duration (7d, 12h, 90m) nor an ISO 8601 date") from e
    return t.replace(tzinfo=UTC) if t.tzinfo is None else t.astimezone(UTC)


def parse_duration(text: str) -> timedelta:
    m = _DURATION.match(text.strip().lower())
    if not m:
        raise StoreError(f"{text!r} is not a duration such as 24h, 30m or 7d")
    seconds = float(m.group(1)) * _UNITS[m.group(2)]
    if seconds <= 0:
        raise StoreError(f"{text!r}: the interval must be positive")
    return timedelta(seconds=seconds)


def parse_target(text: str) -> EcrTarget:
    m = _ECR_TARGET.match(text)
    if not m:
        raise StoreError(
            f"{text!r} is not a discovery target: use ecr://ACCOUNT/REGION[/repo-prefix] "
            "(a 12-digit account id and a region such as us-east-1)"
        )
    return EcrTarget(m.group("account"), m.group("region"), (m.group("prefix") or "").strip("/"))


def _client(target: EcrTarget, profile: str | None) -> Any:
    try:
        import boto3
    except ImportError as e:
        raise StoreError("ECR discovery needs boto3: pip install 'hullscan[ecr]'") from e
    return boto3.Session(profile_name=profile, region_name=target.region).client(
        "ecr", region_name=target.region
    )


def _aws_error(target: EcrTarget, call: str, e: Exception) -> Exception:
    import botocore.exceptions

    if isinstance(e, botocore.exceptions.NoCredentialsError):
        return AuthenticationError(
            f"no AWS credentials for Amazon ECR in {target.region} (environment, AWS_PROFILE, or the AWS "
            "config files)"
        )
    if isinstance(e, botocore.exceptions.ClientError):
        err = e.response.get("Error", {})
        code = str(err.get("Code", "error"))
        cls = AuthenticationError if "AccessDenied" in code or "Unrecognized" in code else RegistryError
        return cls(f"ecr:{call} for {target} failed: {code}: {str(err.get('Message', ''))[:200]}")
    return RegistryError(f"ecr:{call} for {target} failed: {type(e).__name__}")


def ecr_images(
    target: EcrTarget,
    *,
    profile: str | None = None,
    page_size: int = PAGE_SIZE,
) -> Iterator[DiscoveredImage]:
    """Every image of the target's repositories (those whose name starts with the prefix), one per
    digest, repository by repository."""
    import botocore.exceptions

    client = _client(target, profile)
    try:
        repos: list[str] = []
        for page in client.get_paginator("describe_repositories").paginate(
            registryId=target.account, PaginationConfig={"PageSize": page_size}
        ):
            repos += [str(r["repositoryName"]) for r in page.get("repositories", [])]
    except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as e:
        raise _aws_error(target, "DescribeRepositories", e) from e
    for repo in sorted(r for r in repos if r.startswith(target.prefix)):
        try:
            pages = client.get_paginator("describe_images").paginate(
                registryId=target.account, repositoryName=repo, PaginationConfig={"PageSize": page_size}
            )
            by_digest: dict[str, DiscoveredImage] = {}
            for page in pages:
                for d in page.get("imageDetails", []):
                    digest = str(d["imageDigest"])
                    prev = by_digest.get(digest)
                    tags = tuple(str(t) for t in d.get("imageTags") or ())
                    if prev is not None:
                        tags = tuple(sorted(set(prev.tags) | set(tags)))
                    by_digest[digest] = DiscoveredImage(
                        target.host,
                        repo,
                        digest,
                        tuple(sorted(tags)),
                        _utc(d.get("imagePushedAt")),
                        _utc(d.get("lastRecordedPullTime")),
                        d.get("imageManifestMediaType"),
                    )
        except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as e:
            raise _aws_error(target, "DescribeImages", e) from e
        yield from by_digest.values()


def _utc(t: Any) -> datetime | None:
    if isinstance(t, datetime):
        return t.replace(tzinfo=UTC) if t.tzinfo is None else t.astimezone(UTC)
    return None


def select(
    images: Iterator[DiscoveredImage] | list[DiscoveredImage], filters: Filters
) -> list[DiscoveredImage]:
    """The images the filters keep; with ``max_images``, the most recently pushed first."""
    kept = [i for i in images if filters.keep(i)]
    if filters.max_images is not None:
        epoch = datetime.min.replace(tzinfo=UTC)
        kept.sort(key=lambda i: (i.pushed_at or epoch, i.repository, i.digest), reverse=True)
        kept = kept[: max(filters.max_images, 0)]
    return kept


__all__ = [
    "DiscoveredImage",
    "EcrTarget",
    "Filters",
    "ecr_images",
    "parse_duration",
    "parse_since",
    "parse_target",
    "select",
]
