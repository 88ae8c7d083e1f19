"""GIS exchanges as the domain sees them: the journal's read side and the audit of finished exchanges."""
