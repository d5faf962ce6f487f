"""Age bands, as the settings write them ("16-17, 18-25, 26-") and as a report names them."""

from __future__ import annotations

import re
from dataclasses import dataclass

_BAND = re.compile(r"^(\d{1,2})-(\d{1,2})?$")


class BandsError(ValueError):
    """Said in French: the settings' loader shows it as the key's reason."""


@dataclass(frozen=True)
class Band:
    low: int
    high: int | None  # None: and over

    @property
    def label(self) -> str:
        if self.high is None:
            return f"{self.low} ans et plus"
        return f"{self.low}–{self.high} ans"

    def holds(self, age: int) -> bool:
        return age >= self.low and (self.high is None or age <= self.high)


def parse_bands(text: str) -> tuple[Band, ...]:
    """ "16-17, 18-25, 26-" → three bands, in increasing order, not overlapping."""
    bands = []
    for part in (p.strip() for p in text.split(",")):
        found = _BAND.match(part)
        if found is None:
            raise BandsError(f"tranche « {part} » illisible (attendu par exemple « 16-17, 26- »)")
        low, high = int(found.group(1)), found.group(2)
        band = Band(low, None if high is None else int(high))
        if band.high is not None and band.high < band.low:
            raise BandsError(f"tranche « {part} » à l'envers")
        if bands and (bands[-1].high is None or band.low <= bands[-1].high):
            raise BandsError(f"tranche « {part} » : les tranches se suivent sans se chevaucher")
        bands.append(band)
    return tuple(bands)


def band_label(bands: tuple[Band, ...], age: int) -> str:
    """The band an age falls in; "moins de N ans" below the first, "autre âge" in a gap."""
    for band in bands:
        if band.holds(age):
            return band.label
    if bands and age < bands[0].low:
        return f"moins de {bands[0].low} ans"
    return "autre âge"


def band_order(bands: tuple[Band, ...]) -> list[str]:
    """Every label a table may show, in reading order."""
    first = [f"moins de {bands[0].low} ans"] if bands else []
    return [*first, *(b.label for b in bands), "autre âge"]
