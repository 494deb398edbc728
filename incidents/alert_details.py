"""An alert's payload as a responder reads it: its details, labels and annotations as (name, value) rows.

Where they live (see incidents.ingest): an Events API v2 alert keeps the event, with `payload.custom_details` and
`links`; an Alertmanager alert keeps `{"alert": {labels, annotations, …}, "group": {…}}`; an Alertmanager group with
no incident keeps the whole webhook body. Values come from monitoring tools, that is from anyone who can reach
them: they are escaped, and only an http(s) URL becomes a link.
"""

import json
from urllib.parse import urlsplit

from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

MAX_ROWS = 100
MAX_VALUE = 2000


def is_web_url(value):
    """True for an absolute http or https URL (never javascript:, data: or a relative path)."""
    if not isinstance(value, str) or value != value.strip():
        return False
    try:
        parts = urlsplit(value)
    except ValueError:
        return False
    return parts.scheme.lower() in ("http", "https") and bool(parts.netloc)


def _text(value):
    if isinstance(value, str):
        text = value
    else:
        text = json.dumps(value, sort_keys=True, ensure_ascii=False)
    return text if len(text) <= MAX_VALUE else text[:MAX_VALUE] + "…"


def value_html(value, label=None):
    """The value escaped, as a link when it is a web URL."""
    if is_web_url(value) and len(value) <= MAX_VALUE:
        return format_html('<a href="{}" rel="noopener noreferrer" target="_blank">{}</a>', value, label or value)
    return format_html("{}", _text(value))


def _rows(mapping):
    if not isinstance(mapping, dict):
        return []
    return [(str(key)[:200], value_html(value)) for key, value in sorted(mapping.items(), key=lambda kv: str(kv[0]))]


def _links(links):
    rows = []
    for link in links if isinstance(links, list) else []:
        if isinstance(link, dict) and link.get("href"):
            text = link.get("text") if isinstance(link.get("text"), str) and link.get("text") else None
            rows.append((_text(text or link["href"])[:200], value_html(link["href"], label=link["href"])))
    return rows


def sections(payload):
    """[(title, [(name, html value)])] of the alert's readable parts, empty sections left out."""
    if not isinstance(payload, dict):
        return []
    found = []
    event = payload.get("payload")
    if isinstance(event, dict):
        found.append((_("Details"), _rows(event.get("custom_details"))))
        found.append((_("Links"), _links(payload.get("links"))))
    alert = payload.get("alert")
    if isinstance(alert, dict):
        found.append((_("Annotations"), _rows(alert.get("annotations"))))
        found.append((_("Labels"), _rows(alert.get("labels"))))
    elif isinstance(payload.get("alerts"), list):
        found.append((_("Annotations"), _rows(payload.get("commonAnnotations"))))
        found.append((_("Labels"), _rows(payload.get("commonLabels"))))
    return [(title, rows[:MAX_ROWS]) for title, rows in found if rows]


def pretty(payload):
    """The payload as indented JSON, for the raw view."""
    return json.dumps(payload, indent=2, sort_keys=True, ensure_ascii=False)
