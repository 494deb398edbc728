import logging

from django.http import JsonResponse
from django.views.decorators.http import require_GET

from worker import health

logger = logging.getLogger(__name__)


@require_GET
def healthz(request):
    """200 when Piquet can page, 503 with the reasons when it cannot (for load balancers and monitoring)."""
    healthy, details = health.report()
    if not healthy:
        logger.warning("healthz: %s", "; ".join(details["problems"]))
    return JsonResponse(details, status=200 if healthy else 503)
