"""The README's console transcripts, read and replayed the way a reader would type them.

A ```console block holds commands (`$ ` lines) each followed by what it prints; `…` in an output
line stands for any text, and an output line that is only `…` for any number of lines. A command
whose comment says `Ctrl-C stops it` runs until its output is shown, then gets Ctrl-C.
"""

import os
import re
import signal
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

LONG_RUNNING = "# Ctrl-C stops it"


@dataclass
class Step:
    command: str
    expected: list[str] = field(default_factory=list)

    @property
    def long_running(self) -> bool:
        return self.command.rstrip().endswith(LONG_RUNNING)


def readme_section(readme: Path, heading: str) -> str:
    """The text under `## heading`, up to the next heading of that level."""
    text = readme.read_text()
    start = text.index(f"\n## {heading}\n")
    end = text.find("\n## ", start + 1)
    return text[start : end if end != -1 else None]


def console_steps(section: str) -> list[list[Step]]:
    """Each ```console block of a section, as its commands and their documented output."""
    blocks = re.findall(r"^```console\n(.*?)^```", section, re.MULTILINE | re.DOTALL)
    result = []
    for block in blocks:
        steps: list[Step] = []
        for line in block.splitlines():
            if line.startswith("$ "):
                steps.append(Step(line[2:]))
            else:
                steps[-1].expected.append(line)
        result.append(steps)
    return result


def output_matches(expected: list[str], actual: list[str]) -> bool:
    """True when `actual` lines are the documented ones (with `…` wildcards)."""
    pattern = "".join(
        r"(?:[^\n]*\n)*?" if line == "…" else ".*?".join(map(re.escape, line.split("…"))) + r"\n" for line in expected
    )
    return re.fullmatch(pattern, "".join(f"{line}\n" for line in actual)) is not None


@dataclass
class Outcome:
    step: Step
    returncode: int
    output: list[str]


def run_transcript(steps: list[Step], *, cwd: Path, env: dict[str, str], timeout: float = 120) -> list[Outcome]:
    """Run the commands one after another in one shell (variables carry over), output per command."""
    marker = "@@readme-step-done"
    script = "exec 2>&1\n" + "".join(f"{step.command}\nprintf '\\n{marker} %s\\n' \"$?\"\n" for step in steps)
    done = subprocess.run(["bash", "-c", script], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    chunks = re.split(rf"\n?{marker} (\d+)\n", done.stdout)
    outcomes = []
    for index, step in enumerate(steps):
        text, code = chunks[2 * index], chunks[2 * index + 1]
        outcomes.append(Outcome(step, int(code), text.rstrip("\n").split("\n") if text.strip() else []))
    return outcomes


def run_until_shown(step: Step, *, cwd: Path, env: dict[str, str], timeout: float = 60) -> Outcome:
    """Run a long-running command until its documented output is shown, then press Ctrl-C."""
    process = subprocess.Popen(
        ["bash", "-c", f"exec {step.command}"],
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(line.rstrip("\n") for line in process.stdout), daemon=True)
    reader.start()
    deadline = time.monotonic() + timeout
    try:
        while not output_matches(step.expected, list(lines)) and time.monotonic() < deadline:
            if process.poll() is not None:
                break
            time.sleep(0.1)
        shown = list(lines)
    finally:
        os.killpg(process.pid, signal.SIGINT)
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        reader.join(5)
    if not output_matches(step.expected, shown):
        shown = list(lines)
    return Outcome(step, process.returncode, shown)
