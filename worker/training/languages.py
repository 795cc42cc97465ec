"""Language metadata: one table for every task, chart and resource-tier grouping.

Resource classes follow Joshi et al. (2020), "The State and Fate of Linguistic Diversity and
Inclusion in the NLP World": 0 (left-behinds) … 5 (winners). Tiers: low ≤ 2, mid = 3, high ≥ 4.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Tier = Literal["low", "mid", "high"]
TIERS: tuple[Tier, ...] = ("low", "mid", "high")


@dataclass(frozen=True)
class Language:
    code: str
    name: str
    script: str
    family: str
    resource_class: int  # Joshi et al. 2020, 0–5

    @property
    def tier(self) -> Tier:
        return tier_of_class(self.resource_class)


def tier_of_class(resource_class: int) -> Tier:
    if resource_class <= 2:
        return "low"
    if resource_class == 3:
        return "mid"
    return "high"


_TABLE: tuple[Language, ...] = (
    Language("en", "English", "Latn", "Indo-European", 5),
    Language("de", "German", "Latn", "Indo-European", 5),
    Language("fr", "French", "Latn", "Indo-European", 5),
    Language("es", "Spanish", "Latn", "Indo-European", 5),
    Language("ja", "Japanese", "Jpan", "Japonic", 5),
    Language("zh", "Chinese", "Hans", "Sino-Tibetan", 5),
    Language("ar", "Arabic", "Arab", "Afro-Asiatic", 5),
    Language("ru", "Russian", "Cyrl", "Indo-European", 4),
    Language("tr", "Turkish", "Latn", "Turkic", 4),
    Language("vi", "Vietnamese", "Latn", "Austroasiatic", 4),
    Language("hi", "Hindi", "Deva", "Indo-European", 4),
    Language("ko", "Korean", "Kore", "Koreanic", 4),
    Language("it", "Italian", "Latn", "Indo-European", 4),
    Language("nl", "Dutch", "Latn", "Indo-European", 4),
    Language("pl", "Polish", "Latn", "Indo-European", 4),
    Language("pt", "Portuguese", "Latn", "Indo-European", 4),
    Language("bg", "Bulgarian", "Cyrl", "Indo-European", 3),
    Language("el", "Greek", "Grek", "Indo-European", 3),
    Language("th", "Thai", "Thai", "Kra-Dai", 3),
    Language("ur", "Urdu", "Arab", "Indo-European", 3),
    Language("id", "Indonesian", "Latn", "Austronesian", 3),
    Language("et", "Estonian", "Latn", "Uralic", 3),
    Language("ta", "Tamil", "Taml", "Dravidian", 3),
    Language("sw", "Swahili", "Latn", "Niger-Congo", 2),
    Language("ht", "Haitian Creole", "Latn", "French Creole", 2),
    Language("qu", "Quechua", "Latn", "Quechuan", 1),
    # AmericasNLI (Ebrahimi et al. 2022): all low-resource.
    Language("aym", "Aymara", "Latn", "Aymaran", 1),
    Language("bzd", "Bribri", "Latn", "Chibchan", 0),
    Language("cni", "Asháninka", "Latn", "Arawakan", 0),
    Language("gn", "Guarani", "Latn", "Tupian", 1),
    Language("hch", "Wixarika", "Latn", "Uto-Aztecan", 0),
    Language("nah", "Nahuatl", "Latn", "Uto-Aztecan", 0),
    Language("oto", "Otomí", "Latn", "Oto-Manguean", 0),
    Language("quy", "Quechua (Ayacucho)", "Latn", "Quechuan", 1),
    Language("shp", "Shipibo-Konibo", "Latn", "Panoan", 0),
    Language("tar", "Rarámuri", "Latn", "Uto-Aztecan", 0),
)

LANGUAGES: dict[str, Language] = {lang.code: lang for lang in _TABLE}

# Languages of each dataset, in the order the benchmarks publish them.
DATASET_LANGUAGES: dict[str, tuple[str, ...]] = {
    "xnli": ("en", "ar", "bg", "de", "el", "es", "fr", "hi", "ru", "sw", "th", "tr", "ur", "vi", "zh"),
    "pawsx": ("en", "de", "es", "fr", "ja", "ko", "zh"),
    "americasnli": ("aym", "bzd", "cni", "gn", "hch", "nah", "oto", "quy", "shp", "tar"),
    "stsb": ("en", "de", "es", "fr", "it", "nl", "pl", "pt", "ru", "zh"),
}

# Extra evaluation sets that share a task's label space.
COMPATIBLE_EXTRA: dict[str, tuple[str, ...]] = {"xnli": ("americasnli",), "pawsx": ()}


def language(code: str) -> Language:
    """Metadata for `code`; unknown codes get a neutral low-resource entry rather than a crash."""
    found = LANGUAGES.get(code)  # not .get(code, Language(…)): that built a default on every call
    return found if found is not None else Language(code, code, "?", "?", 0)


def tier(code: str) -> Tier:
    return language(code).tier
