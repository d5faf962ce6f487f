"""The report's age bands: read from the settings, refused in French when they cannot be used,
and every age placed in one of them (or apart)."""

from __future__ import annotations

import pytest

from casework.evaluation.bands import Band, band_label, parse_bands
from casework.settings import SettingsError, load_settings


def test_the_default_bands_place_every_age() -> None:
    bands = parse_bands(load_settings(environ={}).report.age_bands)
    assert bands == (Band(16, 17), Band(18, 25), Band(26, None))
    assert [band_label(bands, age) for age in (15, 16, 17, 18, 25, 26, 40)] == [
        "moins de 16 ans",
        "16–17 ans",
        "16–17 ans",
        "18–25 ans",
        "18–25 ans",
        "26 ans et plus",
        "26 ans et plus",
    ]
    assert band_label(parse_bands("16-17, 20-"), 18) == "autre âge"


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("16-17, dix-huit", "tranche « dix-huit » illisible"),
        ("18-16", "tranche « 18-16 » à l'envers"),
        ("16-20, 18-25", "tranche « 18-25 » : les tranches se suivent sans se chevaucher"),
    ],
)
def test_bands_that_cannot_be_used_stop_at_start(value: str, reason: str) -> None:
    with pytest.raises(SettingsError) as refused:
        load_settings(environ={"CASEWORK_REPORT_AGE_BANDS": value})
    assert refused.value.key == "report.age_bands"
    assert reason in refused.value.french()
