"""Routing rules: which service an event goes to, changed how, or whether it is dropped.

An integration's rules are tried by position and the first that matches
decides. A condition reads a dotted path of the event (`labels.team`,
`payload.source`, any key of a webhook body); a template such as
`{labels.alertname} on {labels.instance}` fills its placeholders from the same
paths (a missing one gives nothing) — plain substitution, never a template
language on what a client sent.

The rules are checked hard where they are written (`check_rule`, for the admin
form and the API serializer) and read at ingest time with the integration
(`Integration.by_key` says whether it has any, in the same query): an
integration without rules pays nothing.
"""

import hashlib
import json
import logging
import re
from dataclasses import dataclass

from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from incidents.models import Integration, RoutingRule, Service, Severity, SuppressedEvent, Urgency
from project.text import one_line

logger = logging.getLogger(__name__)

OPS = ("equals", "regex", "exists")
MODES = ("all", "any")
MAX_CONDITIONS = 20
MAX_PATTERN = 200  # Python's re has no timeout: patterns and the text they search are kept short
MAX_VALUE = 1000  # the characters of a field that a condition compares or searches
MAX_PATH = 200
MAX_TITLE = 1024
MAX_DEDUP_KEY = 255

# The roots a field path may start with, per kind; a webhook's rules read any key of its body.
ROOTS = {
    Integration.Kind.ALERTMANAGER: (
        "labels",
        "annotations",
        "status",
        "fingerprint",
        "generatorURL",
        "startsAt",
        "endsAt",
        "groupKey",
        "receiver",
        "externalURL",
        "groupLabels",
    ),
    Integration.Kind.EVENTS_V2: ("payload", "dedup_key", "event_action", "client", "client_url", "links", "images"),
}
_SEGMENT = re.compile(r"^[^.\s{}]+$")
_PLACEHOLDER = re.compile(r"\{\{|\}\}|\{([^{}]*)\}|[{}]")
# A quantified group that itself holds a quantifier, e.g. (a+)+ or (\w*)*: the classic catastrophic backtracking.
_NESTED_QUANTIFIER = re.compile(r"\([^)]*[+*][^)]*\)\s*[+*{]")
_MISSING = object()


class RuleError(ValueError):
    """A rule that cannot be saved; `errors` maps each bad field to what is wrong with it."""

    def __init__(self, errors):
        super().__init__("; ".join(f"{field}: {' '.join(messages)}" for field, messages in errors.items()))
        self.errors = errors


@dataclass(frozen=True)
class Route:
    """What the matching rule decided: each value empty means "as without rules"."""

    rule: int | None = None
    service: Service | None = None
    severity: str = ""
    urgency: str = ""
    title: str = ""
    dedup_key: str = ""
    drop: bool = False


NO_RULE = Route()


@dataclass(frozen=True)
class _Compiled:
    rule: RoutingRule
    mode: str
    conditions: tuple  # (path tuple, op, value or compiled pattern)


# --- checking a rule where it is written ----------------------------------------


def _check_path(path, kind, errors, field):
    if not isinstance(path, str) or not path or len(path) > MAX_PATH:
        errors.setdefault(field, []).append(
            _("Give a dotted field path of at most %(max)d characters.") % {"max": MAX_PATH}
        )
        return
    parts = path.split(".")
    if not all(_SEGMENT.match(part) for part in parts):
        errors.setdefault(field, []).append(_("%(path)s is not a dotted field path.") % {"path": path})
        return
    roots = ROOTS.get(kind)
    if roots is not None and parts[0] not in roots:
        errors.setdefault(field, []).append(
            _("Unknown field %(path)s: a path starts with one of %(roots)s.")
            % {"path": path, "roots": ", ".join(roots)}
        )


def check_pattern(pattern):
    """The compiled regular expression, or ValueError saying why it is refused."""
    if not isinstance(pattern, str) or not pattern:
        raise ValueError(_("Give a regular expression."))
    if len(pattern) > MAX_PATTERN:
        raise ValueError(_("A regular expression has at most %(max)d characters.") % {"max": MAX_PATTERN})
    if _NESTED_QUANTIFIER.search(pattern):
        raise ValueError(_("A repeated group that repeats inside, such as (a+)+, can take forever: simplify it."))
    try:
        return re.compile(pattern)
    except (re.error, RecursionError, OverflowError) as exc:
        raise ValueError(_("Not a valid regular expression: %(error)s") % {"error": exc}) from None


def check_match(match, kind):
    """The errors of a `{"all": [...]}` / `{"any": [...]}` block, by field ("match", "match.all[0].value" …)."""
    errors = {}
    if not isinstance(match, dict) or len(match) != 1 or next(iter(match)) not in MODES:
        return {"match": [_('Give {"all": [conditions]} or {"any": [conditions]}.')]}
    mode, conditions = next(iter(match.items()))
    if not isinstance(conditions, list) or not 1 <= len(conditions) <= MAX_CONDITIONS:
        return {"match": [_("Give between 1 and %(max)d conditions.") % {"max": MAX_CONDITIONS}]}
    for index, condition in enumerate(conditions):
        where = f"match.{mode}[{index}]"
        if not isinstance(condition, dict) or set(condition) - {"field", "op", "value"}:
            errors.setdefault(where, []).append(_('A condition is {"field": …, "op": …, "value": …}.'))
            continue
        _check_path(condition.get("field"), kind, errors, f"{where}.field")
        op, value = condition.get("op"), condition.get("value")
        if op not in OPS:
            errors.setdefault(f"{where}.op", []).append(
                _("Unknown operator %(op)s; use one of %(ops)s.") % {"op": op, "ops": ", ".join(OPS)}
            )
        elif op == "regex":
            try:
                check_pattern(value)
            except ValueError as exc:
                errors.setdefault(f"{where}.value", []).append(str(exc))
        elif op == "equals" and (not isinstance(value, str) or len(value) > MAX_VALUE):
            errors.setdefault(f"{where}.value", []).append(
                _("Give the text to compare, at most %(max)d characters.") % {"max": MAX_VALUE}
            )
    return errors


def placeholders(template):
    """The field paths of a template's placeholders; ValueError for a stray brace."""
    paths = []
    for found in _PLACEHOLDER.finditer(template):
        token = found.group(0)
        if token in ("{{", "}}"):
            continue
        if found.group(1) is None:
            raise ValueError(_("A lone brace: write {{ or }} for a brace itself."))
        paths.append(found.group(1).strip())
    return paths


def check_rule(*, kind, match, severity="", urgency="", title_template="", dedup_key_template="", drop=False):
    """Raise RuleError naming each bad field of a rule about to be saved."""
    errors = check_match(match, kind)
    if severity and severity not in Severity.values:
        errors["severity"] = [_("Unknown severity %(value)s; use one of SEV1–SEV4.") % {"value": severity}]
    if urgency and urgency not in Urgency.values:
        errors["urgency"] = [_("Unknown urgency %(value)s; use high or low.") % {"value": urgency}]
    for field, template in (("title", title_template), ("dedup_key", dedup_key_template)):
        if not template:
            continue
        try:
            for path in placeholders(template):
                _check_path(path, kind, errors, field)
        except ValueError as exc:
            errors.setdefault(field, []).append(str(exc))
    if errors:
        raise RuleError(errors)


# --- reading rules at ingest time -----------------------------------------------


def _compile(rule):
    mode, conditions = next(iter(rule.match.items()))
    compiled = []
    for condition in conditions:
        op, value = condition["op"], condition.get("value")
        compiled.append((tuple(condition["field"].split(".")), op, check_pattern(value) if op == "regex" else value))
    return _Compiled(rule=rule, mode=mode, conditions=tuple(compiled))


def rules_of(integration):
    """The integration's rules, compiled, kept with the cached integration (see Integration.by_key)."""
    if not getattr(integration, "has_routing_rules", True):
        return ()
    compiled = integration.__dict__.get("_routing_rules")
    if compiled is None:
        compiled = []
        for rule in (
            RoutingRule.objects.filter(integration=integration).select_related("service").order_by("position", "id")
        ):
            try:
                check_rule(kind=integration.kind, match=rule.match)
                compiled.append(_compile(rule))
            except (RuleError, ValueError, KeyError, TypeError, AttributeError, StopIteration):
                logger.warning("routing rule skipped: it does not check rule=%s", rule.pk)
        compiled = integration._routing_rules = tuple(compiled)
    return compiled


def lookup(context, path):
    """The value at a dotted path (a tuple of keys; digits index lists), or _MISSING."""
    value = context
    for part in path:
        if isinstance(value, dict):
            value = value.get(part, _MISSING)
        elif isinstance(value, list) and part.isdigit() and int(part) < len(value):
            value = value[int(part)]
        else:
            return _MISSING
        if value is _MISSING:
            return _MISSING
    return value


def as_text(value):
    """A field's value as the text that conditions compare and templates insert (bounded)."""
    if value is _MISSING or value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value[:MAX_VALUE]
    if isinstance(value, int | float):
        return str(value)[:MAX_VALUE]
    return json.dumps(value, sort_keys=True, ensure_ascii=False)[:MAX_VALUE]


def _holds(condition, context):
    path, op, value = condition
    found = lookup(context, path)
    if found is _MISSING or found is None:
        return False
    if op == "exists":
        return True
    if op == "equals":
        return as_text(found) == value
    return value.search(as_text(found)) is not None


def render(template, context):
    """A template with its placeholders filled from `context` (a missing field: nothing)."""

    def replace(found):
        token = found.group(0)
        if token in ("{{", "}}"):
            return token[0]
        if found.group(1) is None:
            return token
        return as_text(lookup(context, tuple(found.group(1).strip().split("."))))

    return _PLACEHOLDER.sub(replace, template)


def _dedup_key(text):
    text = one_line(text, 10_000)
    if len(text) <= MAX_DEDUP_KEY:
        return text
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()


def decide(rules, context):
    """The route of the first rule that matches `context`, or NO_RULE."""
    for compiled in rules:
        test = all if compiled.mode == "all" else any
        if test(_holds(condition, context) for condition in compiled.conditions):
            rule = compiled.rule
            return Route(
                rule=rule.pk,
                service=rule.service,
                severity=rule.severity,
                urgency=rule.urgency,
                title=one_line(render(rule.title_template, context), MAX_TITLE) if rule.title_template else "",
                dedup_key=_dedup_key(render(rule.dedup_key_template, context)) if rule.dedup_key_template else "",
                drop=rule.drop,
            )
    return NO_RULE


def route_event(integration, data):
    """The route of an Events API v2 event or a webhook body (NO_RULE, at no cost, without rules)."""
    rules = rules_of(integration)
    if not rules:
        return NO_RULE
    return decide(rules, data)


def _mapping(value):
    return value if isinstance(value, dict) else {}


def alert_context(data, alert):
    """What an Alertmanager alert's rules read: its labels and annotations over the group's common ones."""
    return {
        "labels": {**_mapping(data.get("commonLabels")), **_mapping(alert.get("labels"))},
        "annotations": {**_mapping(data.get("commonAnnotations")), **_mapping(alert.get("annotations"))},
        "status": alert.get("status", data.get("status")),
        "fingerprint": alert.get("fingerprint"),
        "generatorURL": alert.get("generatorURL"),
        "startsAt": alert.get("startsAt"),
        "endsAt": alert.get("endsAt"),
        "groupKey": data.get("groupKey"),
        "receiver": data.get("receiver"),
        "externalURL": data.get("externalURL"),
        "groupLabels": _mapping(data.get("groupLabels")),
    }


def split_alertmanager(integration, data):
    """An Alertmanager notification cut into parts, one per route: `[(route, part)]`, in the alerts' order.

    Each alert is routed on its own; the alerts of one route (and one rendered deduplication key) form a part,
    with that key as its groupKey, the route's title as its summary, and its own status (firing while one of its
    alerts fires). Without any matching rule the one part is the notification itself.
    """
    rules = rules_of(integration)
    parts = {}
    for alert in data["alerts"]:
        route = decide(rules, alert_context(data, alert)) if rules else NO_RULE
        parts.setdefault((route.rule, route.dedup_key), (route, []))[1].append(alert)
    if not parts or list(parts) == [(None, "")]:
        return [(NO_RULE, data)]
    split = []
    for route, alerts in parts.values():
        part = {**data, "alerts": alerts}
        firing = any(str(alert.get("status", data["status"])) == "firing" for alert in alerts)
        part["status"] = "firing" if firing else "resolved"
        if route.dedup_key:
            part["groupKey"] = route.dedup_key
        if route.title:
            part["commonAnnotations"] = {**(data.get("commonAnnotations") or {}), "summary": route.title}
        split.append((route, part))
    return split


def each_part(integration, data, process):
    """Each part of an Alertmanager notification (see split_alertmanager) processed with its route by `process`
    (incidents.ingest), or suppressed; the outcome of the first part that has an incident, else of the first."""
    outcome = None
    for route, part in split_alertmanager(integration, data):
        if route.drop:
            labels = alert_context(part, part["alerts"][0])["labels"]
            summary = (part.get("commonAnnotations") or {}).get("summary") or labels.get("alertname", "")
            suppress(integration, route, part, {"dedup_key": _dedup_key(part["groupKey"]), "summary": summary})
            continue
        result = process(integration, part, route=route)
        outcome = result if outcome is None or outcome.incident is None else outcome
    return outcome


def suppress(integration, route, data, event):
    """Keep an event that a drop rule suppressed (`event`: its dedup_key and summary), for a person to see;
    nobody is paged. The same event again (Alertmanager re-sends a group every group_interval) is counted on
    the row that keeps it, not kept twice."""
    dedup_key = str(event.get("dedup_key") or "")[:MAX_DEDUP_KEY]
    payload = {k: v for k, v in data.items() if k != "routing_key"}
    now = timezone.now()
    kept = SuppressedEvent.objects.filter(integration=integration, rule_id=route.rule, dedup_key=dedup_key)
    latest = kept.order_by("-id").values_list("pk", "payload")[:1]
    for pk, stored in latest:
        if stored == payload:
            SuppressedEvent.objects.filter(pk=pk).update(repeats=F("repeats") + 1, last_received_at=now)
            logger.info(
                "event suppressed again integration=%s rule=%s dedup_key=%s", integration.pk, route.rule, dedup_key
            )
            return SuppressedEvent(pk=pk, integration=integration, rule_id=route.rule, dedup_key=dedup_key)
    suppressed = SuppressedEvent.objects.create(
        integration=integration,
        rule_id=route.rule,
        dedup_key=dedup_key,
        summary=one_line(as_text(event.get("summary")), MAX_TITLE),
        payload=payload,
        received_at=now,
        last_received_at=now,
    )
    logger.info("event suppressed integration=%s rule=%s dedup_key=%s", integration.pk, route.rule, dedup_key)
    return suppressed


# --- conditions as lines a person writes (the admin) ----------------------------

_LINE_EXISTS = re.compile(r"^(?P<field>[^\s=~]+)\s+exists$")
_LINE_COMPARE = re.compile(r"^(?P<field>[^\s=~]+)\s*(?P<op>=|~)\s*(?P<value>.*)$")
_LINE_OPS = {"=": "equals", "~": "regex"}


def conditions_from_lines(text):
    """`labels.team = payments`, `labels.severity ~ ^crit`, `annotations.runbook exists`: one condition a line
    (empty lines and # comments skipped). ValueError naming the line it cannot read."""
    conditions = []
    for number, line in enumerate(str(text or "").splitlines(), start=1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if found := _LINE_EXISTS.match(line):
            conditions.append({"field": found["field"], "op": "exists"})
        elif found := _LINE_COMPARE.match(line):
            conditions.append({"field": found["field"], "op": _LINE_OPS[found["op"]], "value": found["value"].strip()})
        else:
            message = _("Line %(number)d: write field = text, field ~ regular expression, or field exists.")
            raise ValueError(message % {"number": number})
    return conditions


def conditions_to_lines(conditions):
    symbols = {op: symbol for symbol, op in _LINE_OPS.items()}
    lines = []
    for condition in conditions or ():
        if condition.get("op") == "exists":
            lines.append(f"{condition.get('field')} exists")
        else:
            lines.append(
                f"{condition.get('field')} {symbols.get(condition.get('op'), '=')} {condition.get('value', '')}"
            )
    return "\n".join(lines)
