"""The web application `make run` serves, plus one bare view as the baseline for webhook ingest.

`POST /bench/bare-insert` is what a user would write without Mono: read the JSON body, insert it
as one row with one INSERT, answer 202. It runs in the same server process, through the same
middleware stack, so the only difference from ingest is Mono's own work.
"""

import json

from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.urls import include, path
from django.views.decorators.csrf import csrf_exempt

from mono.asgi import application  # noqa: F401  (served by uvicorn as bench._http_app:application)
from mono.wsgi import application as wsgi_application  # noqa: F401  (gunicorn: bench._http_app:wsgi_application)


@csrf_exempt
def bare_insert(request: HttpRequest) -> JsonResponse:
    body = json.loads(request.body)
    with connection.cursor() as cursor:
        cursor.execute("INSERT INTO bench_bare_event (body) VALUES (%s) RETURNING id", [json.dumps(body)])
        (row_id,) = cursor.fetchone()
    return JsonResponse({"id": row_id}, status=202)


urlpatterns = [path("bench/bare-insert", bare_insert), path("", include("mono.urls"))]
handler500 = "mono.views.server_error"


def _serve_bench_urls() -> None:
    from django.conf import settings

    settings.ROOT_URLCONF = __name__


_serve_bench_urls()
