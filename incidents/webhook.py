"""The generic webhook integration: any JSON body, read with the integration's JMESPath expressions.

Title, severity, deduplication key and "this resolves" come from expressions
set per integration (checked when saved); the event then goes the way of an
Events API v2 event — routing rules (reading the body), deduplication, the
incident and its escalation — with the body kept as the alert's details.
"""

import hashlib
import json
from dataclasses import dataclass

import jmespath
from django.utils.translation import gettext as _

from incidents import ingest, routing
from incidents.models import Severity
from project.text import one_line

MAX_TITLE = 1024
MAX_DEDUP_KEY = 255
SEVERITY_WORDS = {
    "critical": Severity.SEV1,
    "error": Severity.SEV2,
    "warning": Severity.SEV3,
    "info": Severity.SEV4,
    **{value.lower(): value for value in Severity.values},
}
V2_SEVERITY = {sev: word for word, sev in list(SEVERITY_WORDS.items())[:4]}
EXPRESSIONS = ("title_expr", "severity_expr", "dedup_expr", "resolve_expr")
_COMPILED = {}


@dataclass(frozen=True)
class WebhookEvent:
    title: str
    severity: str
    dedup_key: str
    resolve: bool

    def as_dict(self):
        return {"title": self.title, "severity": self.severity, "dedup_key": self.dedup_key, "resolve": self.resolve}


def _compiled(expression):
    parsed = _COMPILED.get(expression)
    if parsed is None:
        parsed = jmespath.compile(expression)
        if len(_COMPILED) > 1000:
            _COMPILED.clear()
        _COMPILED[expression] = parsed
    return parsed


def evaluate(integration, name, body):
    """The value of one of the integration's expressions on `body` (None when it has none); InvalidEvent naming
    the expression when it cannot be evaluated on this body."""
    expression = getattr(integration, name)
    if not expression:
        return None
    try:
        return _compiled(expression).search(body)
    except (jmespath.exceptions.JMESPathError, ValueError, TypeError, KeyError, RecursionError, OverflowError) as exc:
        message = _("The %(name)s %(expression)s cannot be evaluated on this body: %(error)s")
        error = message % {"name": name, "expression": expression, "error": one_line(exc, 200)}
        raise ingest.InvalidEvent([error]) from None


def _text(value):
    """A result as text: strings as they are, anything else as compact JSON (None and false: nothing)."""
    if value is None or value is False:
        return ""
    if isinstance(value, str):
        return value
    return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"))[:10_000]


def _truthy(value):
    # JMESPath's truth: false, null and empty strings, lists and objects are false; 0 is true.
    return not (value is None or value is False or (isinstance(value, str | list | dict) and not value))


def extract(integration, body):
    """What the integration's expressions read from `body`; InvalidEvent if it is not an object or an expression
    fails on it."""
    if not isinstance(body, dict):
        raise ingest.InvalidEvent([_("The body must be a JSON object.")])
    title = one_line(_text(evaluate(integration, "title_expr", body)), MAX_TITLE)
    severity_word = _text(evaluate(integration, "severity_expr", body)).strip().lower()
    dedup_key = one_line(_text(evaluate(integration, "dedup_expr", body)), 10_000)
    if len(dedup_key) > MAX_DEDUP_KEY:
        dedup_key = "sha256:" + hashlib.sha256(dedup_key.encode()).hexdigest()
    return WebhookEvent(
        title=title or integration.name,
        severity=SEVERITY_WORDS.get(severity_word, integration.default_severity or Severity.SEV3),
        dedup_key=dedup_key,
        resolve=_truthy(evaluate(integration, "resolve_expr", body)),
    )


def as_event_v2(integration, event, body):
    """The Events API v2 event a webhook body stands for (the body kept as its custom details)."""
    data = {
        "event_action": "resolve" if event.resolve else "trigger",
        "payload": {
            "summary": event.title,
            "source": integration.name or "webhook",
            "severity": V2_SEVERITY[event.severity],
            "custom_details": body,
        },
    }
    if event.dedup_key:
        data["dedup_key"] = event.dedup_key
    return data


def process_webhook(integration, body):
    """Accept one webhook body; return what it did (ingest.Outcome), or InvalidEvent."""
    event = extract(integration, body)
    route = routing.route_event(integration, body)
    if event.resolve and not (route.dedup_key or event.dedup_key):
        raise ingest.InvalidEvent(
            [_("This body resolves, but the dedup_expr gives no key: nothing says which incident it resolves.")]
        )
    return ingest.process_event_v2(integration, as_event_v2(integration, event, body), route=route)
