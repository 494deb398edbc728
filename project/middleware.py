"""Requests from machines skip the middleware work that only people's requests need.

Monitoring tools post to the ingestion endpoints (`project.rawjson.RawJSONView`)
in bursts: such a request has no session and no user (the integration key is
its credential) and writes no audited row, so it needs no audit context and no
viewer's time zone. Their paths are listed here (the apps above declare the
views; `tests/project/test_middleware.py` checks that the two agree).
"""

from auditlog.middleware import AuditlogMiddleware as _AuditlogMiddleware

INGEST_PATHS = ("/v2/enqueue", "/v2/change/enqueue", "/api/v1/events/", "/api/v1/integrations/")


def from_machine(request):
    """Whether the request is for an ingestion endpoint."""
    return request.path_info.startswith(INGEST_PATHS)


class AuditlogMiddleware(_AuditlogMiddleware):
    """django-auditlog's, which connects and disconnects a signal receiver on every request, but not for
    machines' requests: the ingestion endpoints change no audited model."""

    def __call__(self, request):
        if from_machine(request):
            return self.get_response(request)
        return super().__call__(request)
