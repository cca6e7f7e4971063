import signal
import threading

from django.core.management.base import BaseCommand
from django.db import close_old_connections

from webhooks.services.events import event_relay_pending


class Command(BaseCommand):
    help = (
        "Start the workflows of webhook events still pending (Temporal was unreachable, or a web "
        "process stopped before starting them). With --loop, keep doing it every --interval seconds."
    )

    def add_arguments(self, parser):
        parser.add_argument("--loop", action="store_true", help="run until SIGTERM/SIGINT")
        parser.add_argument("--interval", type=float, default=5.0, help="seconds between passes (--loop)")
        parser.add_argument("--limit", type=int, default=100, help="events per pass")

    def handle(self, *, loop, interval, limit, **options):
        stop = threading.Event()
        if loop:
            for sig in (signal.SIGTERM, signal.SIGINT):
                signal.signal(sig, lambda *_: stop.set())
        while True:
            close_old_connections()
            started = event_relay_pending(limit=limit)
            if started or not loop:
                self.stdout.write(f"Started {started} pending webhook event(s).")
            if not loop or stop.wait(interval):
                break
