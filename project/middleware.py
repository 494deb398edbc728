"""Requests from machines skip the middleware work that only people's requests need.

Monitoring tools post to the ingestion endpoints (`project.rawjson.RawJSONView`)
in bursts: such a request has no session and no user (the integration key is
its credential) and writes no audited row, so it needs no audit context and no
viewer's time zone. Their paths are listed here (the apps above declare the
views; `tests/project/test_middleware.py` checks that the two agree).
"""

import re

from auditlog.middleware import AuditlogMiddleware as _AuditlogMiddleware

# The ingestion endpoints, by key or bearer header; not an integration's routing rules (people edit those).
INGEST_PATH = re.compile(
    r"^/(?:v2/enqueue|v2/change/enqueue|api/v1/events/|api/v1/integrations/(?:alertmanager|webhook)/"
    r"|api/v1/integrations/[^/]+/(?:alertmanager|heartbeat|webhook)/)$"
)


def is_ingest_path(path):
    return INGEST_PATH.match(path) is not None


def from_machine(request):
    """Whether the request is for an ingestion endpoint."""
    return is_ingest_path(request.path_info)


class AuditlogMiddleware(_AuditlogMiddleware):
    """django-auditlog's, which connects and disconnects a signal receiver on every request, but not for
    machines' requests: the ingestion endpoints change no audited model."""

    def __call__(self, request):
        if from_machine(request):
            return self.get_response(request)
        return super().__call__(request)
