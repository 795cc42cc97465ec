"""The README's configuration table and the Settings class tell the same story."""

from __future__ import annotations

import re
from pathlib import Path

from backend.settings import Settings

README = Path(__file__).resolve().parents[1] / "README.md"


def test_readme_configuration_table_lists_exactly_the_settings() -> None:
    documented = set(re.findall(r"^\| `XLT_([A-Z_]+)` \|", README.read_text(), flags=re.MULTILINE))
    assert documented == {name.upper() for name in Settings.model_fields}
