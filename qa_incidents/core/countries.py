"""Country codes and their names in the viewer's language (from Babel's CLDR data)."""

from __future__ import annotations

from functools import cache

from babel import Locale

#: CLDR territories that are no country: unknown, unions, outlying regions and the pseudo-locales' test regions.
NOT_COUNTRIES = frozenset({"ZZ", "EU", "EZ", "UN", "QO", "XA", "XB"})


@cache
def country_names(locale: str = "en") -> dict[str, str]:
    """ISO 3166-1 alpha-2 code → name, for real countries only (no regions like '001')."""
    territories = Locale.parse(locale).territories
    return {code: name for code, name in territories.items() if len(code) == 2 and code.isalpha() and code not in NOT_COUNTRIES}


@cache
def country_codes() -> frozenset[str]:
    """The ISO 3166-1 alpha-2 codes (CLDR data: fixed for the life of the process)."""
    return frozenset(country_names("en"))
