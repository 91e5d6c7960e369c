"""Azure region spellings -> ARM region ids: the one table every ``location`` goes through.

Cost data spells a region many ways: the ARM id (``westus2``), the display name
(``West US 2``), the geography first (``US West 2``, ``EU North``), a country code
(``AU East``, ``ja west``), an abbreviation (``wus2``, ``neu``, ``uks``), a city
(``Sydney``, ``Amsterdam``), with spaces or underscores. :func:`region_id` maps all of them
to the ARM id, the way ARM compares regions (case and separators ignored). Hyphenated names
(``us-west-2``) are other clouds' regions (AWS Oregon is not West US 2): left as written.

The table is :data:`REGIONS` (one row per region: id, display name, geography words, cities),
and every spelling is *generated* from it by the rules of :func:`_spellings`, so adding a
region is one line. A spelling that two regions would both produce (``se``: Sweden or Korea?
``eu``: East US or Europe?) maps to neither: it is left as written, never guessed. A value that
is not a known spelling is lower-cased with separators removed (a region newer than this table
still compares equal to its ARM id), and :func:`is_known_region` tells the two apart.

Geographies that are not one region (``Europe``, ``Asia Pacific``, ``United States``,
``global``) stay what they are: they name no datacenter.

Example::

    >>> region_id("US West 2"), region_id("EU North"), region_id("australia_east")
    ('westus2', 'northeurope', 'australiaeast')
    >>> region_id("Sydney"), region_id("weu"), region_id("Brand New Region 9")
    ('australiaeast', 'westeurope', 'brandnewregion9')
"""

from __future__ import annotations

import re
from collections import defaultdict
from functools import lru_cache

__all__ = ["REGIONS", "is_known_region", "region_id", "region_names"]

# Geography words as display names write them -> the codes cost data writes instead.
_GEO_CODES: dict[str, tuple[str, ...]] = {
    "US": ("us",),
    "Europe": ("eu", "europe"),
    "Asia": ("asia", "ap"),
    "Australia": ("au", "australia"),
    "Austria": ("at",),
    "Belgium": ("be",),
    "Brazil": ("br",),
    "Canada": ("ca",),
    "Chile": ("cl",),
    "China": ("cn", "ch"),
    "Denmark": ("dk",),
    "Finland": ("fi",),
    "France": ("fr",),
    "Germany": ("de",),
    "Greece": ("gr",),
    "India": ("in",),
    "Indonesia": ("id",),
    "Israel": ("il",),
    "Italy": ("it",),
    "Japan": ("ja", "jp"),
    "Korea": ("kr",),
    "Malaysia": ("my",),
    "Mexico": ("mx",),
    "New Zealand": ("nz",),
    "Norway": ("no",),
    "Poland": ("pl",),
    "Qatar": ("qa",),
    "Saudi Arabia": ("sa",),
    "Singapore": ("sg",),
    "South Africa": ("za", "sa"),
    "Spain": ("es",),
    "Sweden": ("se",),
    "Switzerland": ("ch",),
    "Taiwan": ("tw",),
    "UAE": ("ae",),
    "UK": ("uk", "gb", "unitedkingdom"),
    "USGov": ("usgov",),
    "USDoD": ("usdod",),
    "USSec": ("ussec",),
}

REGIONS: tuple[tuple[str, str, str, tuple[str, ...]], ...] = (
    # (ARM id, display name, the geography word in it, cities and other names)
    ("eastus", "East US", "US", ("boydton",)),
    ("eastus2", "East US 2", "US", ()),
    ("eastus3", "East US 3", "US", ("atlanta",)),
    ("centralus", "Central US", "US", ("des moines",)),
    ("northcentralus", "North Central US", "US", ("chicago", "illinois")),
    ("southcentralus", "South Central US", "US", ("san antonio",)),
    ("westcentralus", "West Central US", "US", ("wyoming",)),
    ("westus", "West US", "US", ("silicon valley", "san jose")),
    ("westus2", "West US 2", "US", ("seattle", "quincy")),
    ("westus3", "West US 3", "US", ("phoenix",)),
    ("southeastus", "Southeast US", "US", ()),
    ("centraluseuap", "Central US EUAP", "US", ()),
    ("eastus2euap", "East US 2 EUAP", "US", ()),
    ("northeurope", "North Europe", "Europe", ("dublin", "ireland")),
    ("westeurope", "West Europe", "Europe", ("amsterdam", "netherlands")),
    ("eastasia", "East Asia", "Asia", ("hong kong", "hongkong", "hong kong sar")),
    ("southeastasia", "Southeast Asia", "Asia", ("singapore", "sea")),
    ("australiaeast", "Australia East", "Australia", ("sydney", "new south wales")),
    ("australiasoutheast", "Australia Southeast", "Australia", ("melbourne", "victoria")),
    ("australiacentral", "Australia Central", "Australia", ("canberra",)),
    ("australiacentral2", "Australia Central 2", "Australia", ("canberra 2",)),
    ("austriaeast", "Austria East", "Austria", ("vienna",)),
    ("belgiumcentral", "Belgium Central", "Belgium", ("brussels",)),
    ("brazilsouth", "Brazil South", "Brazil", ("sao paulo", "são paulo")),
    ("brazilsoutheast", "Brazil Southeast", "Brazil", ("rio", "rio de janeiro")),
    ("canadacentral", "Canada Central", "Canada", ("toronto",)),
    ("canadaeast", "Canada East", "Canada", ("quebec", "quebec city")),
    ("chilecentral", "Chile Central", "Chile", ("santiago",)),
    ("chinaeast", "China East", "China", ("shanghai",)),
    ("chinaeast2", "China East 2", "China", ("shanghai 2",)),
    ("chinaeast3", "China East 3", "China", ("shanghai 3",)),
    ("chinanorth", "China North", "China", ("beijing",)),
    ("chinanorth2", "China North 2", "China", ("beijing 2",)),
    ("chinanorth3", "China North 3", "China", ("hebei",)),
    ("denmarkeast", "Denmark East", "Denmark", ("copenhagen",)),
    ("finlandcentral", "Finland Central", "Finland", ("helsinki",)),
    ("francecentral", "France Central", "France", ("paris",)),
    ("francesouth", "France South", "France", ("marseille",)),
    ("germanywestcentral", "Germany West Central", "Germany", ("frankfurt",)),
    ("germanynorth", "Germany North", "Germany", ("berlin",)),
    ("germanycentral", "Germany Central", "Germany", ()),
    ("germanynortheast", "Germany Northeast", "Germany", ("magdeburg",)),
    ("greececentral", "Greece Central", "Greece", ("athens",)),
    ("centralindia", "Central India", "India", ("pune",)),
    ("southindia", "South India", "India", ("chennai",)),
    ("westindia", "West India", "India", ("mumbai",)),
    ("indiasouthcentral", "India South Central", "India", ("hyderabad",)),
    ("jioindiacentral", "Jio India Central", "India", ("nagpur",)),
    ("jioindiawest", "Jio India West", "India", ("jamnagar",)),
    ("indonesiacentral", "Indonesia Central", "Indonesia", ("jakarta",)),
    ("israelcentral", "Israel Central", "Israel", ("tel aviv",)),
    ("italynorth", "Italy North", "Italy", ("milan",)),
    ("japaneast", "Japan East", "Japan", ("tokyo", "saitama")),
    ("japanwest", "Japan West", "Japan", ("osaka",)),
    ("koreacentral", "Korea Central", "Korea", ("seoul",)),
    ("koreasouth", "Korea South", "Korea", ("busan",)),
    ("malaysiawest", "Malaysia West", "Malaysia", ("kuala lumpur",)),
    ("malaysiasouth", "Malaysia South", "Malaysia", ("johor",)),
    ("mexicocentral", "Mexico Central", "Mexico", ("queretaro", "querétaro")),
    ("newzealandnorth", "New Zealand North", "New Zealand", ("auckland",)),
    ("norwayeast", "Norway East", "Norway", ("oslo",)),
    ("norwaywest", "Norway West", "Norway", ("stavanger",)),
    ("polandcentral", "Poland Central", "Poland", ("warsaw",)),
    ("qatarcentral", "Qatar Central", "Qatar", ("doha",)),
    ("saudiarabiaeast", "Saudi Arabia East", "Saudi Arabia", ("dammam",)),
    ("singaporecentral", "Singapore Central", "Singapore", ()),
    ("southafricanorth", "South Africa North", "South Africa", ("johannesburg",)),
    ("southafricawest", "South Africa West", "South Africa", ("cape town",)),
    ("spaincentral", "Spain Central", "Spain", ("madrid",)),
    ("swedencentral", "Sweden Central", "Sweden", ("gavle", "gävle")),
    ("swedensouth", "Sweden South", "Sweden", ("staffanstorp",)),
    ("switzerlandnorth", "Switzerland North", "Switzerland", ("zurich", "zürich")),
    ("switzerlandwest", "Switzerland West", "Switzerland", ("geneva",)),
    ("taiwannorth", "Taiwan North", "Taiwan", ("taipei",)),
    ("taiwannorthwest", "Taiwan Northwest", "Taiwan", ()),
    ("uaenorth", "UAE North", "UAE", ("dubai",)),
    ("uaecentral", "UAE Central", "UAE", ("abu dhabi",)),
    ("uksouth", "UK South", "UK", ("london",)),
    ("ukwest", "UK West", "UK", ("cardiff",)),
    ("uksouth2", "UK South 2", "UK", ()),
    ("uknorth", "UK North", "UK", ()),
    ("usgovvirginia", "USGov Virginia", "USGov", ("usgov east", "usgoveast")),
    ("usgovarizona", "USGov Arizona", "USGov", ("usgov az", "usgov southwest")),
    ("usgovtexas", "USGov Texas", "USGov", ("usgov tx", "usgov south central")),
    ("usgoviowa", "USGov Iowa", "USGov", ("usgov central",)),
    ("usgovwyoming", "USGov Wyoming", "USGov", ()),
    ("usdodcentral", "USDoD Central", "USDoD", ()),
    ("usdodeast", "USDoD East", "USDoD", ()),
    ("usseceast", "USSec East", "USSec", ()),
    ("ussecwest", "USSec West", "USSec", ()),
    ("ussecwestcentral", "USSec West Central", "USSec", ()),
)
"""Every region the table knows: ``(ARM id, display name, geography word, other names)``."""

_SEPARATORS = re.compile(r"[\s_]+")


def _key(value: str) -> str:
    """A spelling as ARM compares it: lower-case, spaces and underscores removed."""
    return _SEPARATORS.sub("", value.strip().lower())


def _spellings(display: str, geo: str, others: tuple[str, ...]) -> set[str]:
    """Every spelling of one region that the rules produce (as keys)."""
    words = display.split()
    number = words[-1] if words[-1].isdigit() else ""
    rest = [w for w in (words[:-1] if number else words)]
    geo_words = geo.split()
    # the direction: what is left once the geography word(s) are taken out
    for i in range(len(rest) - len(geo_words) + 1):
        if rest[i : i + len(geo_words)] == geo_words:
            direction = rest[:i] + rest[i + len(geo_words) :]
            break
    else:  # pragma: no cover - every display name in REGIONS holds its geography word
        direction = rest
    dir_text = "".join(direction).lower()
    initials = "".join(
        part[0]
        for word in direction
        for part in re.findall(r"north|south|east|west|central|[a-z]+", word.lower())
    )
    out = {_key(display), _key(" ".join(rest) + number)}
    out.update(_key(o) for o in others)
    if "EUAP" in words:  # canary regions: their ids and display names only
        return out
    full = geo.replace(" ", "").lower()
    if geo not in ("US", "Europe"):
        out.add(full + initials + number)  # francec, germanywc, swedens
    for g in [full, *_GEO_CODES.get(geo, ())]:
        out.add(g + dir_text + number)  # US West 2, AU East, ja west
        out.add(dir_text + g + number)  # West US 2, East Asia
        if len(g) <= 3:
            # abbreviations: wus2, ncus, weu, neu (direction first, the US and Europe);
            # uks, aue, krc (code first, everywhere else)
            out.add(initials + g + number if geo in ("US", "Europe") else g + initials + number)
    return {s for s in out if len(s) >= 3}


@lru_cache(maxsize=1)
def _table() -> dict[str, str]:
    """key -> ARM id, holding only the spellings exactly one region produces."""
    claims: dict[str, set[str]] = defaultdict(set)
    for region, display, geo, others in REGIONS:
        for spelling in _spellings(display, geo, others):
            claims[spelling].add(region)
    ids = {region for region, *_ in REGIONS}
    table = {key: next(iter(owners)) for key, owners in claims.items() if len(owners) == 1}
    for region in ids:  # an ARM id always means itself, whatever else a rule produced
        table[region] = region
    for key, owners in claims.items():
        if len(owners) > 1 and key not in ids:
            table.pop(key, None)
    return table


@lru_cache(maxsize=4096)
def region_id(value: str) -> str:
    """The ARM region id a spelling means, or the spelling as ARM compares it (unknown).

    >>> region_id("West Europe"), region_id("eu west"), region_id("EUROPE")
    ('westeurope', 'westeurope', 'europe')
    """
    key = _key(value)
    return _table().get(key, key)


def is_known_region(value: str) -> bool:
    """True when the table maps ``value`` to a region (not merely normalised its spelling).

    >>> is_known_region("US East 2"), is_known_region("Atlantis North")
    (True, False)
    """
    return _key(value) in _table()


def region_names() -> dict[str, str]:
    """ARM id -> display name for every region of :data:`REGIONS` (for labels and docs).

    >>> region_names()["westus2"]
    'West US 2'
    """
    return {region: display for region, display, *_ in REGIONS}
