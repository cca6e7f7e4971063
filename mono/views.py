from django.http import JsonResponse


def healthz(request):
    """Liveness: the process is up and serving requests (no dependency is checked)."""
    return JsonResponse({"status": "ok"})
