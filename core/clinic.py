"""The clinic's contact details: CLINIC_NAME, CLINIC_PHONE and CLINIC_ADDRESS in `.env`."""

from __future__ import annotations

import re
from dataclasses import dataclass

from core.settings import settings


@dataclass(frozen=True)
class Clinic:
    """Who patients are handed to: name, phone number and address."""

    name: str
    phone: str
    address: str

    @property
    def tel_uri(self) -> str:
        """The phone number as a `tel:` URI, e.g. `tel:+17807613777`."""
        return phone_to_tel_uri(self.phone)

    @property
    def phone_link(self) -> str:
        """The phone number as a Markdown link that dials it when tapped."""
        return f"[{self.phone}]({self.tel_uri})"


def phone_to_tel_uri(phone: str) -> str:
    """Turn a North American number as people write it into a `tel:` URI.

    Ten digits get the +1 country code; numbers that already carry a `+` keep theirs.
    """
    digits = re.sub(r"\D", "", phone)
    if phone.strip().startswith("+"):
        return f"tel:+{digits}"
    if len(digits) == 10:
        return f"tel:+1{digits}"
    return f"tel:{digits}"


def load_clinic() -> Clinic:
    """The clinic's details from the settings (by default the values on the clinic's page)."""
    current = settings()
    return Clinic(name=current.clinic_name, phone=current.clinic_phone, address=current.clinic_address)
