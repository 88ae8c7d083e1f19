"""The shared kernel of the domain: calendar, SNILS, access, audit, operations, errors, rules."""
