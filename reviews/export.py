"""A review as one Markdown document: the sections, the record, the action items."""

from django.conf import settings
from django.utils import translation
from django.utils.translation import gettext as _

from people.models import display_name
from reviews.models import Review


def as_markdown(review, *, language=None):
    """The whole review in Markdown, in `language` (default: the installation's)."""
    with translation.override(language or settings.LANGUAGE_CODE):
        return _markdown(review)


def _markdown(review):
    incident = review.incident
    title = _("Post-incident review: #%(number)s %(title)s") % {"number": incident.number, "title": incident.title}
    state_label, service_label = _("State"), _("Service")
    lines = [
        f"# {title}",
        "",
        f"- {state_label}: {review.get_state_display()}",
        f"- {service_label}: {incident.service.name}",
    ]
    approvals = list(review.approvals.select_related("reviewer"))
    if approvals:
        reviewers_label = _("Reviewers")
        names = ", ".join(display_name(a.reviewer) + (" ✓" if a.approved_at else "") for a in approvals)
        lines.append(f"- {reviewers_label}: {names}")
    lines.append("")
    for name, label in Review.SECTIONS:
        text = (getattr(review, name) or "").strip()
        lines += [f"## {label}", "", text or "—", ""]
    if review.public_summary.strip():
        lines += ["## " + _("Public summary"), "", review.public_summary.strip(), ""]
    contributing = list(review.contributing_deployments.select_related("service"))
    if contributing:
        lines += ["## " + _("Contributing changes"), ""]
        lines += [f"- {d.deployed_at:%Y-%m-%d %H:%M} UTC {d.service.name} {d.version}".rstrip() for d in contributing]
        lines.append("")
    lines += ["## " + _("Action items"), ""]
    items = list(review.action_items.select_related("owner"))
    for item in items:
        status = item.get_status_display()
        ticket = f" <{item.ticket_url}>" if item.ticket_url else ""
        mark = "x" if item.status == item.Status.DONE else " "
        owner = display_name(item.owner)
        lines.append(f"- [{mark}] {item.title} — {owner}, {item.due:%Y-%m-%d} ({status}){ticket}")
    if not items:
        lines.append("—")
    lines += ["", "# " + _("Record"), "", review.record_markdown.strip(), ""]
    return "\n".join(lines)
