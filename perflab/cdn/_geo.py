"""Small built-in geography tables for the CDN readers (private).

* :data:`AIRPORTS` — IATA airport (or metro) code → ISO 3166-1 alpha-2 country, for the
  codes CDNs name their edge locations after: CloudFront's ``x-edge-location``
  (``IAD89-C1`` → ``IAD``), Cloudflare's ``EdgeColoCode``, Fastly's POPs. About 140
  codes: the cities where the three providers run edges. An unknown code gives null.
* :data:`COUNTRIES` — alpha-2 → (alpha-3, English name) for about 110 countries, to
  turn Fastly's ``client.geo.country_code3`` and ``client.geo.country_name`` into
  alpha-2 codes.

Tables rather than a dependency: the readers need a few hundred fixed strings.
"""

from __future__ import annotations

__all__ = ["AIRPORTS", "ALPHA3", "COUNTRIES", "NAMES"]

_BY_COUNTRY = {
    "US": "ATL BNA BOS BUF CLT CMH DCA DEN DFW DTW EWR HIO HNL IAD IAH IND JAX JFK LAS "
    "LAX LGA MCI MEM MIA MSP OKC OMA ORD PDX PHL PHX PIT RDU SAN SAT SEA SFO SJC SLC "
    "SMF STL TLH TPA NYC CHI WAS",
    "CA": "YOW YUL YVR YWG YXE YYC YYZ YTO YHZ",
    "MX": "MEX QRO GDL MTY",
    "BR": "GRU GIG FOR POA BSB CNF CWB SSA VCP SAO RIO",
    "AR": "EZE",
    "CL": "SCL",
    "CO": "BOG MDE",
    "PE": "LIM",
    "GB": "LHR LON MAN EDI LCY BHX",
    "IE": "DUB ORK",
    "FR": "CDG PAR MRS LYS",
    "DE": "FRA MUC BER TXL DUS HAM STR",
    "NL": "AMS",
    "BE": "BRU",
    "LU": "LUX",
    "ES": "MAD BCN",
    "PT": "LIS",
    "IT": "MXP MIL FCO PMO",
    "CH": "ZRH GVA",
    "AT": "VIE",
    "PL": "WAW",
    "CZ": "PRG",
    "SE": "ARN STO GOT",
    "NO": "OSL",
    "DK": "CPH",
    "FI": "HEL",
    "HU": "BUD",
    "RO": "OTP",
    "BG": "SOF",
    "GR": "ATH SKG",
    "HR": "ZAG",
    "RS": "BEG",
    "UA": "KBP",
    "TR": "IST",
    "IL": "TLV",
    "AE": "DXB FJR",
    "SA": "JED RUH DMM",
    "QA": "DOH",
    "BH": "BAH",
    "OM": "MCT",
    "KW": "KWI",
    "ZA": "JNB CPT DUR",
    "KE": "NBO",
    "NG": "LOS",
    "EG": "CAI",
    "MA": "CMN",
    "IN": "BOM DEL MAA BLR HYD CCU CCJ PNQ",
    "SG": "SIN QPG",
    "JP": "NRT HND KIX ITM TYO OSA FUK",
    "KR": "ICN SEL",
    "HK": "HKG",
    "TW": "TPE KHH",
    "CN": "PEK PVG SHA CAN SZX",
    "AU": "SYD MEL PER BNE ADL",
    "NZ": "AKL",
    "ID": "CGK",
    "MY": "KUL",
    "TH": "BKK",
    "PH": "MNL",
    "VN": "HAN SGN",
}

AIRPORTS: dict[str, str] = {
    code: country for country, codes in _BY_COUNTRY.items() for code in codes.split()
}
"""IATA code → alpha-2 country."""

_COUNTRIES = """
AE ARE United Arab Emirates
AR ARG Argentina
AT AUT Austria
AU AUS Australia
BD BGD Bangladesh
BE BEL Belgium
BG BGR Bulgaria
BH BHR Bahrain
BO BOL Bolivia
BR BRA Brazil
BY BLR Belarus
CA CAN Canada
CH CHE Switzerland
CL CHL Chile
CN CHN China
CO COL Colombia
CR CRI Costa Rica
CY CYP Cyprus
CZ CZE Czechia
DE DEU Germany
DK DNK Denmark
DO DOM Dominican Republic
DZ DZA Algeria
EC ECU Ecuador
EE EST Estonia
EG EGY Egypt
ES ESP Spain
FI FIN Finland
FR FRA France
GB GBR United Kingdom
GE GEO Georgia
GH GHA Ghana
GR GRC Greece
GT GTM Guatemala
HK HKG Hong Kong
HR HRV Croatia
HU HUN Hungary
ID IDN Indonesia
IE IRL Ireland
IL ISR Israel
IN IND India
IQ IRQ Iraq
IR IRN Iran
IS ISL Iceland
IT ITA Italy
JM JAM Jamaica
JO JOR Jordan
JP JPN Japan
KE KEN Kenya
KH KHM Cambodia
KR KOR South Korea
KW KWT Kuwait
KZ KAZ Kazakhstan
LB LBN Lebanon
LK LKA Sri Lanka
LT LTU Lithuania
LU LUX Luxembourg
LV LVA Latvia
MA MAR Morocco
MT MLT Malta
MX MEX Mexico
MY MYS Malaysia
NG NGA Nigeria
NL NLD Netherlands
NO NOR Norway
NP NPL Nepal
NZ NZL New Zealand
OM OMN Oman
PA PAN Panama
PE PER Peru
PH PHL Philippines
PK PAK Pakistan
PL POL Poland
PR PRI Puerto Rico
PT PRT Portugal
PY PRY Paraguay
QA QAT Qatar
RO ROU Romania
RS SRB Serbia
RU RUS Russia
SA SAU Saudi Arabia
SE SWE Sweden
SG SGP Singapore
SI SVN Slovenia
SK SVK Slovakia
TH THA Thailand
TN TUN Tunisia
TR TUR Turkey
TW TWN Taiwan
TZ TZA Tanzania
UA UKR Ukraine
UG UGA Uganda
US USA United States
UY URY Uruguay
UZ UZB Uzbekistan
VE VEN Venezuela
VN VNM Vietnam
ZA ZAF South Africa
ZM ZMB Zambia
ZW ZWE Zimbabwe
"""

COUNTRIES: dict[str, tuple[str, str]] = {
    line[:2]: (line[3:6], line[7:]) for line in _COUNTRIES.strip().splitlines()
}
"""alpha-2 → (alpha-3, English name)."""

ALPHA3: dict[str, str] = {a3: a2 for a2, (a3, _) in COUNTRIES.items()}
"""alpha-3 → alpha-2."""

_ALIASES = {
    "united states of america": "US",
    "usa": "US",
    "great britain": "GB",
    "uk": "GB",
    "united kingdom of great britain and northern ireland": "GB",
    "russian federation": "RU",
    "korea, republic of": "KR",
    "republic of korea": "KR",
    "korea": "KR",
    "czech republic": "CZ",
    "viet nam": "VN",
    "turkiye": "TR",
    "türkiye": "TR",
    "the netherlands": "NL",
    "taiwan, province of china": "TW",
    "hong kong sar": "HK",
    "iran, islamic republic of": "IR",
}

NAMES: dict[str, str] = {
    **{name.lower(): a2 for a2, (_, name) in COUNTRIES.items()},
    **_ALIASES,
}
"""Lower-case English country name → alpha-2."""
