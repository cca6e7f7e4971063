import asyncio
import os
import signal

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from mono.management.cli import unreachable_message
from mono.temporal.client import TemporalUnavailable, platform_namespace
from mono.temporal.health import serve_health, serve_sdk_metrics
from mono.temporal.queues import QUEUES_BY_KEY
from mono.temporal.workers import Shard, TemporalWorkerManager, WorkerSelection
from tenants.selectors import active_tenant_refs, tenant_refs_changed_since


class Command(BaseCommand):
    help = (
        "Host the Temporal workers: the platform namespace and every active tenant's namespace. "
        "New tenants are picked up while running; SIGTERM/SIGINT shut down gracefully."
    )

    def add_arguments(self, parser):
        scope = parser.add_mutually_exclusive_group()
        scope.add_argument(
            "--platform-only",
            action="store_true",
            help="host only the platform namespace",
        )
        scope.add_argument("--tenants-only", action="store_true", help="host only tenant namespaces")
        parser.add_argument(
            "--namespace",
            action="append",
            default=[],
            help="host only this namespace (repeatable)",
        )
        parser.add_argument(
            "--queue",
            action="append",
            default=[],
            choices=sorted(QUEUES_BY_KEY),
            help="host only this queue (repeatable)",
        )
        parser.add_argument(
            "--shard",
            help="K/N: host only the tenants of shard K out of N (by tenant id)",
        )
        parser.add_argument(
            "--health-port",
            type=int,
            default=None,
            help="port of GET /healthz (0: off)",
        )
        parser.add_argument(
            "--sdk-metrics-port",
            type=int,
            default=None,
            help="port of the Temporal SDK's own GET /metrics (0: off)",
        )
        parser.add_argument("--health-host", default="0.0.0.0", help="address both ports listen on")

    def handle(
        self,
        *,
        platform_only,
        tenants_only,
        namespace,
        queue,
        shard,
        health_port,
        sdk_metrics_port,
        health_host,
        **options,
    ):
        selection = WorkerSelection(
            platform=not tenants_only,
            tenants=not platform_only,
            namespaces=frozenset(namespace),
            queues=frozenset(queue),
            shard=self._parse_shard(shard),
        )
        for name in namespace:
            if name != platform_namespace() and not name.startswith(settings.TEMPORAL_TENANT_NAMESPACE_PREFIX):
                raise CommandError(
                    f"--namespace {name!r} is neither {platform_namespace()!r} nor a "
                    f"{settings.TEMPORAL_TENANT_NAMESPACE_PREFIX}<id> namespace."
                )
        # Before the manager or anything else connects: clients keep the runtime they started with.
        sdk_port = settings.TEMPORAL_WORKER_SDK_METRICS_PORT if sdk_metrics_port is None else sdk_metrics_port
        if sdk_port and serve_sdk_metrics(host=health_host, port=sdk_port):
            self.stdout.write(f"Temporal SDK metrics: http://{health_host}:{sdk_port}/metrics")
        manager = TemporalWorkerManager(
            tenant_source=active_tenant_refs, tenant_changes=tenant_refs_changed_since, selection=selection
        )
        port = settings.TEMPORAL_WORKER_HEALTH_PORT if health_port is None else health_port
        health = (
            serve_health(manager.health, host=health_host, port=port, metrics_token=settings.METRICS_TOKEN)
            if port
            else None
        )
        if health:
            self.stdout.write(f"Worker health: http://{health_host}:{health.server_address[1]}/healthz")
        try:
            asyncio.run(self._run(manager))
        except TemporalUnavailable as exc:
            # Exit at once: after a failed connect the SDK's native threads can call back into
            # the interpreter while it finalises and abort the process (seen here, about 1 in 6).
            self.stderr.write(unreachable_message(exc))
            self.stderr.flush()
            self.stdout.flush()
            os._exit(1)
        finally:
            if health:
                health.shutdown()
        self.stdout.write("Workers stopped.")

    def _parse_shard(self, text: str | None) -> Shard | None:
        if text is None:
            return None
        try:
            return Shard.parse(text)
        except ValueError as exc:
            raise CommandError(str(exc)) from exc

    async def _run(self, manager: TemporalWorkerManager) -> None:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, manager.request_stop)
        runner = asyncio.create_task(manager.run())
        reconciled = asyncio.create_task(manager.reconciled.wait())
        await asyncio.wait([runner, reconciled], return_when=asyncio.FIRST_COMPLETED)
        if reconciled.done():
            hosted = sorted(manager.hosted)
            self.stdout.write(
                f"Hosting {len(hosted)} workers in {len({ns for ns, _ in hosted})} namespaces.",
                ending="\n",
            )
            self.stdout.flush()
        else:
            reconciled.cancel()
        await runner
