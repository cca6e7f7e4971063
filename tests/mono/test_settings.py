"""Configuration is documented: every variable the settings read is in `.env.example`."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_every_setting_variable_is_documented_in_env_example():
    read = set(re.findall(r'env(?:\.\w+)?\(\s*"([A-Z_][A-Z0-9_]*)"', (ROOT / "mono/settings.py").read_text()))
    documented = set(re.findall(r"^([A-Z_][A-Z0-9_]*)=", (ROOT / ".env.example").read_text(), re.MULTILINE))
    assert read, "settings.py reads no variables?"
    assert read - documented == set()
