"""Piquet's URLs plus `POST /bench/insert`, a view that only parses JSON and inserts one row."""

import json

from django.db import connection, transaction
from django.http import JsonResponse
from django.urls import path
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt

from project.urls import urlpatterns as piquet_urlpatterns

BARE_TABLE = "bench_row"


@csrf_exempt
def bare_insert(request):
    data = json.loads(request.body)
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {BARE_TABLE} (received_at, body) VALUES (%s, %s)",  # noqa: S608 (constant name)
            [timezone.now(), json.dumps(data)],
        )
    return JsonResponse({"status": "success"}, status=202)


urlpatterns = [path("bench/insert", bare_insert, name="bench-insert"), *piquet_urlpatterns]
