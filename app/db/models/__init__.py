"""Every table of the gateway; importing this package registers them all on `Base.metadata`."""

from app.db.models import (  # noqa: F401
    accounts,
    agreements,
    amnesty,
    core,
    court,
    debt_requests,
    exchange,
    houses,
    monitoring,
    writeoff,
)
from app.db.models.core import ApiKey, ApiKeyOrganisation, AuditEvent, Operation, Organisation

__all__ = ["ApiKey", "ApiKeyOrganisation", "AuditEvent", "Operation", "Organisation"]
