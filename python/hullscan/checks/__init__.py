"""Checks beyond vulnerable packages: image configuration and secrets."""

from hullscan.checks.config import check as check_config
from hullscan.checks.config import file_secrets
from hullscan.checks.secrets import redact

__all__ = ["check_config", "file_secrets", "redact"]
