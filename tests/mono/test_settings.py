"""Configuration is documented: every variable the settings read is in `.env.example`."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_every_setting_variable_is_documented_in_env_example():
    read = set(re.findall(r'env(?:\.\w+)?\(\s*"([A-Z_][A-Z0-9_]*)"', (ROOT / "mono/settings.py").read_text()))
    documented = set(re.findall(r"^([A-Z_][A-Z0-9_]*)=", (ROOT / ".env.example").read_text(), re.MULTILINE))
    assert read, "settings.py reads no variables?"
    assert read - documented == set()


def _settings_error(**env) -> str:
    import os
    import subprocess
    import sys

    environment = {k: v for k, v in os.environ.items() if not k.startswith("PAYLOAD_MASTER_KEY")}
    environment.update(DJANGO_SETTINGS_MODULE="mono.settings", **env)
    script = "import django\ntry:\n    django.setup()\nexcept Exception as exc:\n    print(exc)"
    return subprocess.run([sys.executable, "-c", script], env=environment, capture_output=True, text=True).stdout


def test_missing_payload_master_key_stops_start_up_outside_debug_naming_it():
    assert "PAYLOAD_MASTER_KEY" in _settings_error(DEBUG="0", SECRET_KEY="x")
    assert "PAYLOAD_MASTER_KEY" in _settings_error(DEBUG="0", SECRET_KEY="x", PAYLOAD_MASTER_KEY="too-short")
    assert _settings_error(DEBUG="1", SECRET_KEY="x") == ""
