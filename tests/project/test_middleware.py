"""Machines' requests (the ingestion endpoints) skip the middleware work that only people's requests need."""

import re

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

from project import middleware
from project.rawjson import RawJSONView


def routes(patterns=None, prefix="/"):
    """Every URL pattern as (its route, its view class or None)."""
    for pattern in get_resolver().url_patterns if patterns is None else patterns:
        route = prefix + str(pattern.pattern).lstrip("^").rstrip("$")
        if isinstance(pattern, URLResolver):
            yield from routes(pattern.url_patterns, route)
        elif isinstance(pattern, URLPattern):
            yield route, getattr(pattern.callback, "view_class", None)


def test_the_ingestion_paths_are_exactly_the_machines_endpoints():
    found = list(routes())
    machines = [route for route, view in found if isinstance(view, type) and issubclass(view, RawJSONView)]
    assert machines, "no ingestion endpoint found"
    assert all(middleware.is_ingest_path(sample(route)) for route in machines), machines
    others = [route for route, view in found if middleware.is_ingest_path(sample(route)) and route not in machines]
    assert others == []


def sample(route):
    """A path a route answers: its converters filled in (`<int:pk>` → 1, `(?P<pk>[^/.]+)` → x)."""
    route = re.sub(r"<int:[^>]+>|\(\?P<[^>]+>\\d\+\)", "1", route)
    return re.sub(r"<[^>]+>|\(\?P<[^>]+>[^)]*\)", "x", route)


@pytest.mark.django_db
def test_an_event_gets_no_audit_context_and_a_person_does(integration, manager, monkeypatch):
    seen = []

    def audited(self, request):
        seen.append(request.path)
        return self.get_response(request)

    monkeypatch.setattr(middleware._AuditlogMiddleware, "__call__", audited)
    client = Client()
    event = {"routing_key": integration.key, "event_action": "trigger", "dedup_key": "a"}
    event["payload"] = {"summary": "Disk full", "source": "db-1", "severity": "error"}
    assert client.post("/v2/enqueue", event, content_type="application/json").status_code == 202
    assert seen == []
    client.force_login(manager)
    client.get("/admin/")
    assert seen == ["/admin/"]
