import logging

from django.db import DatabaseError, connection
from django.http import JsonResponse
from django.utils import timezone
from django.views.decorators.http import require_GET

from project.models import Heartbeat

logger = logging.getLogger(__name__)


@require_GET
def healthz(request):
    """200 when the database answers, 503 otherwise (for load balancers)."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except DatabaseError as exc:
        logger.error("healthz: database unavailable: %s", exc.__class__.__name__)
        return JsonResponse({"status": "error", "database": "unavailable"}, status=503)

    worker = Heartbeat.objects.filter(name="worker").values_list("at", flat=True).first()
    return JsonResponse(
        {
            "status": "ok",
            "database": "ok",
            "time": timezone.now().isoformat(),
            "worker_last_seen": worker.isoformat() if worker else None,
        }
    )
