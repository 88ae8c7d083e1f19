"""Log hygiene: the SNILS mask in every URL spelling, and access lines with parameter names only."""

from __future__ import annotations

import pytest

from app.access_log import parameter_names
from app.logs import mask_pii


@pytest.mark.parametrize(
    "text",
    ["19000000099", "190-000-000 99", "190-000-000+99", "190-000-000%2099", "190%2D000%2D000%2099"],
)
def test_mask_pii_hides_snils_spellings(text: str) -> None:
    assert "99" not in mask_pii(f"GET /x?snils={text} 200")


def test_parameter_names_drop_values_and_odd_names() -> None:
    query = b"snils=190-000-000+99&last_name=%D0%9A&19000000099=x&limit=5&limit=6"
    assert parameter_names(query) == "?,last_name,limit,snils"


@pytest.mark.parametrize("text", ["+79123456789", "89123456789", "ivanov@example.ru", "почта@пример.рф"])
def test_mask_pii_hides_phones_and_emails(text: str) -> None:
    masked = mask_pii(f"notice to {text} failed")
    assert text not in masked and masked.startswith("notice to ") and masked.endswith(" failed")
