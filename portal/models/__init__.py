from __future__ import annotations

from portal.models.audit import AuditLogEntry
from portal.models.aws import AwsAccount
from portal.models.jobs import Job, JobLog
from portal.models.scoping import OrganizationOwned, OrganizationScopedManager, UnscopedQueryError
from portal.models.sso import ExternalIdentity, GroupMapping
from portal.models.tenancy import Invitation, Membership, Organization
from portal.models.tokens import ApiToken

__all__ = [
    "ApiToken",
    "AuditLogEntry",
    "AwsAccount",
    "ExternalIdentity",
    "GroupMapping",
    "Invitation",
    "Job",
    "JobLog",
    "Membership",
    "Organization",
    "OrganizationOwned",
    "OrganizationScopedManager",
    "UnscopedQueryError",
]
