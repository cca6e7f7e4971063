import signal
import threading

from django.core.management.base import BaseCommand
from django.db import close_old_connections

from mono.starts import relay_all


class Command(BaseCommand):
    help = (
        "Start the workflows of rows still pending because Temporal was unreachable, or a process "
        "stopped before starting them (runs, webhook events, images, e-mail campaigns, LLM batches). With --loop, "
        "keep doing it every --interval seconds."
    )

    def add_arguments(self, parser):
        parser.add_argument("--loop", action="store_true", help="run until SIGTERM/SIGINT")
        parser.add_argument("--interval", type=float, default=5.0, help="seconds between passes (--loop)")
        parser.add_argument("--limit", type=int, default=100, help="rows per relay and pass")

    def handle(self, *, loop, interval, limit, **options):
        stop = threading.Event()
        if loop:
            for sig in (signal.SIGTERM, signal.SIGINT):
                signal.signal(sig, lambda *_: stop.set())
        while True:
            close_old_connections()
            started = relay_all(limit=limit)
            if any(started.values()) or not loop:
                summary = ", ".join(f"{count} {name}" for name, count in started.items())
                self.stdout.write(f"Started {summary}.")
            if not loop or stop.wait(interval):
                break
