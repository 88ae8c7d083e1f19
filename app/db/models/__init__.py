"""Every table of the gateway; importing this package registers them all on `Base.metadata`."""

from app.db.models import accounts, core, court, debt_requests, exchange, monitoring  # noqa: F401
from app.db.models.core import ApiKey, ApiKeyOrganisation, AuditEvent, Operation, Organisation

__all__ = ["ApiKey", "ApiKeyOrganisation", "AuditEvent", "Operation", "Organisation"]
