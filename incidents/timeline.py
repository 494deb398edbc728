"""The one writer of an incident's timeline.

Every entry, whichever app it comes from, is written by `record()` inside the
transaction of the change it tells of, with a kind that `TimelineEntry.Kind`
declares. An entry is written once and never changed.

Entries are stored untranslated: the message is an English msgid (marked
with `gettext_noop`) and `params` the values of its placeholders, so each
reader sees the entry in their own language (`TimelineEntry.text`). A
parameter that is itself a word to translate is passed as `translated(msgid)`
(a sentence with placeholders of its own as `translated(msgid, params)`), a
choice as `label(Model.Kind.X)`; a list of parameters is shown one per line.
"""

from django.utils import timezone, translation

from incidents.models import TimelineEntry
from project.rows import insert_soon, tied_to

Kind = TimelineEntry.Kind
_KINDS = frozenset(Kind.values)  # `Kind.values` builds its list again at every call
SYSTEM = "Piquet"


def translated(msgid, params=None):
    """A parameter shown in the reader's language (a role, a phase): pass the untranslated msgid, and the
    values of its own placeholders if it has some."""
    value = {"msgid": str(msgid)}
    if params is not None:
        value["params"] = params
    return value


def label(choice):
    """A choice (`Model.Kind.X`, `Model.Kind(value)`) as a parameter: its label in the reader's language."""
    with translation.override(None):
        return translated(str(choice.label))


def record(incident, kind, message, *, params=None, by=None, actor_name="", data=None, at=None):
    """Write one entry on the incident's timeline: by a person (`by`), else by `actor_name` (else Piquet).

    With `params`, `message` is an untranslated msgid with %(name)s placeholders; without, it is final text
    (what a person wrote, shown as written).
    """
    if kind not in _KINDS:
        raise ValueError(f"undeclared timeline kind {kind!r}")
    entry = TimelineEntry(
        **tied_to("incident", incident),
        kind=kind,
        message=str(message),
        params=params,
        data=data or {},
        at=at or timezone.now(),
        actor=by,
        actor_name="" if by else (actor_name or SYSTEM),
    )
    insert_soon([entry])  # inside `project.rows.together()`, with the other rows of the block
    return entry


def has(incident, kind):
    """Whether the incident's timeline holds an entry of this kind."""
    return TimelineEntry.objects.filter(incident_id=incident.pk, kind=kind).exists()
