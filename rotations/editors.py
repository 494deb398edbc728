"""Form fields for the layer editors: restrictions as rows of pickers, participants as an ordered list of people.

Both clean into what the model stores (restrictions: their JSON form, see rotations/restrictions.py;
participants: users in rotation order, for Layer.set_participants); neither shows JSON. Rows are plain form
inputs repeated under one name, so the form works without JavaScript; rotations/editors.js adds, removes and
reorders rows.
"""

from django import forms
from django.contrib import admin
from django.contrib.admin.widgets import AutocompleteSelect
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.utils.text import capfirst
from django.utils.translation import gettext_lazy as _

from rotations.models import Participant
from rotations.restrictions import WEEKDAYS, ScheduleError, parse_restrictions

User = get_user_model()

WEEKDAY_LABELS = {
    "mon": _("Monday"),
    "tue": _("Tuesday"),
    "wed": _("Wednesday"),
    "thu": _("Thursday"),
    "fri": _("Friday"),
    "sat": _("Saturday"),
    "sun": _("Sunday"),
}
EVERY_DAY = ""
MAX_ROWS = 50
SUFFIXES = ("first", "last", "start", "end")


class Rows(list):
    """Rows as submitted (strings), kept to show them again with their errors."""


def _runs(days):
    """Weekday indices (sorted) as runs of consecutive days: [0, 1, 2, 4] → [(0, 2), (4, 4)]."""
    runs = []
    for index in days:
        if runs and index == runs[-1][1] + 1:
            runs[-1] = (runs[-1][0], index)
        else:
            runs.append((index, index))
    # A run that reaches Sunday and one that starts on Monday are one run across the weekend.
    if len(runs) > 1 and runs[0][0] == 0 and runs[-1][1] == 6:
        runs = [(runs[-1][0], runs[0][1]), *runs[1:-1]]
    return runs


def rows_from_restrictions(raw):
    """The stored JSON form as rows {first, last, start, end}; a non-consecutive set of days gives one row
    per run of consecutive days."""
    rows = Rows()
    for item in raw or []:
        if not isinstance(item, dict):
            continue
        days = item.get("days")
        start, end = item.get("start", ""), item.get("end", "")
        indices = sorted(
            {WEEKDAYS.index(d.lower()) for d in days or [] if isinstance(d, str) and d.lower() in WEEKDAYS}
        )
        if not days or len(indices) == 7:
            rows.append({"first": EVERY_DAY, "last": "", "start": start, "end": end})
            continue
        for low, high in _runs(indices):
            rows.append(
                {"first": WEEKDAYS[low], "last": WEEKDAYS[high] if high != low else "", "start": start, "end": end}
            )
    return rows


class RestrictionsWidget(forms.Widget):
    """Rows of "<first weekday or every day> to <last weekday> from <time> to <time>", add/remove buttons."""

    template_name = "rotations/widgets/restrictions.html"

    class Media:
        js = ["rotations/editors.js"]
        css = {"all": ["rotations/editors.css"]}

    def value_from_datadict(self, data, files, name):
        columns = [data.getlist(f"{name}_{suffix}") if hasattr(data, "getlist") else [] for suffix in SUFFIXES]
        count = max((len(column) for column in columns), default=0)
        rows = Rows()
        for index in range(min(count, MAX_ROWS + 1)):
            rows.append(
                {
                    suffix: (column[index] if index < len(column) else "").strip()
                    for suffix, column in zip(SUFFIXES, columns, strict=True)
                }
            )
        return rows

    def value_omitted_from_data(self, data, files, name):
        return False  # every row removed means no restrictions, not "keep what was stored"

    def get_context(self, name, value, attrs):
        context = super().get_context(name, value, attrs)
        rows = list(value) if isinstance(value, Rows) else rows_from_restrictions(value)
        if not rows or rows[-1].get("start") or rows[-1].get("end"):
            rows.append({"first": EVERY_DAY, "last": "", "start": "", "end": ""})  # a blank row: works without JS
        context["widget"].update(
            {
                "rows": rows,
                "weekdays": [(key, WEEKDAY_LABELS[key]) for key in WEEKDAYS],
                "every_day": EVERY_DAY,
            }
        )
        return context

    def format_value(self, value):
        return value


class RestrictionsField(forms.Field):
    """Restriction rows cleaned into the JSON list the Layer stores; a bad row is an error naming it."""

    widget = RestrictionsWidget
    default_help_text = _(
        "Optional: the layer covers only inside these hours, on the schedule's clock. Leave the days on "
        "“every day”, or choose the first and last day of a run (Friday to Monday wraps over the weekend). "
        "An end at or before the start runs past midnight; the same start and end is 24 hours. "
        "No rows: the layer covers all the time."
    )

    def __init__(self, **kwargs):
        kwargs.setdefault("required", False)
        kwargs.setdefault("help_text", self.default_help_text)
        kwargs.setdefault("label", capfirst(_("restrictions")))
        super().__init__(**kwargs)

    def to_python(self, value):
        if not isinstance(value, Rows):
            return list(value or [])
        if len(value) > MAX_ROWS:
            raise ValidationError(_("At most %(count)s restrictions.") % {"count": MAX_ROWS})
        raw, errors = [], []
        for number, row in enumerate(value, start=1):
            if not any(row.get(key) for key in ("start", "end", "last")):
                continue  # a blank row (its days select always has a value)
            try:
                raw.append(_restriction_of(row))
            except ValidationError as exc:
                errors.extend(
                    ValidationError(_("Row %(number)s: %(error)s") % {"number": number, "error": message})
                    for message in exc.messages
                )
        if errors:
            raise ValidationError(errors)
        return raw

    def validate(self, value):
        super().validate(value)
        try:
            parse_restrictions(value)
        except ScheduleError as exc:
            raise ValidationError(str(exc)) from None

    def has_changed(self, initial, data):
        try:
            new = self.to_python(data)
        except ValidationError:
            return True
        return _canonical(initial) != _canonical(new)


def _canonical(raw):
    try:
        return sorted((r.as_json()["days"], r.as_json()["start"], r.as_json()["end"]) for r in parse_restrictions(raw))
    except ScheduleError:
        return raw


def _hhmm(value, missing):
    text = (value or "").strip()
    if len(text) == 8 and text.endswith(":00"):
        text = text[:5]  # some browsers send seconds
    if len(text) == 4 and text[1] == ":":
        text = "0" + text
    if not text:
        raise ValidationError(missing)
    if len(text) != 5 or text[2] != ":" or not (text[:2] + text[3:]).isdigit():
        raise ValidationError(_("%(value)s is not a time (HH:MM).") % {"value": repr(value)})
    if int(text[:2]) > 23 or int(text[3:]) > 59:
        raise ValidationError(_("%(value)s is not a time (HH:MM).") % {"value": repr(value)})
    return text


def _restriction_of(row):
    first, last = row.get("first", ""), row.get("last", "")
    errors = []
    entry = {}
    if first == EVERY_DAY:
        if last:
            errors.append(_("choose a first day for the days up to %(day)s.") % {"day": WEEKDAY_LABELS.get(last, last)})
    elif first not in WEEKDAYS or (last and last not in WEEKDAYS):
        errors.append(_("choose weekdays from the lists."))
    else:
        low = WEEKDAYS.index(first)
        high = WEEKDAYS.index(last) if last else low
        span = range(low, high + 1) if low <= high else [*range(low, 7), *range(0, high + 1)]
        entry["days"] = [WEEKDAYS[i] for i in span]
    for key, missing in (("start", _("choose the start time.")), ("end", _("choose the end time."))):
        try:
            entry[key] = _hhmm(row.get(key), missing)
        except ValidationError as exc:
            errors.extend(exc.messages)
    if errors:
        raise ValidationError(errors)
    return {"days": entry["days"], "start": entry["start"], "end": entry["end"]} if "days" in entry else entry


class ParticipantsWidget(forms.Widget):
    """One row per turn, each a person picked with the admin's autocomplete; add, remove, move up and down."""

    template_name = "rotations/widgets/participants.html"

    def __init__(self, attrs=None):
        super().__init__(attrs)
        self.autocomplete = AutocompleteSelect(Participant._meta.get_field("user"), admin.site)

    @property
    def media(self):
        return self.autocomplete.media + forms.Media(
            js=["rotations/editors.js"], css={"all": ["rotations/editors.css"]}
        )

    def value_from_datadict(self, data, files, name):
        values = data.getlist(name) if hasattr(data, "getlist") else list(data.get(name) or [])
        return Rows(str(v).strip() for v in values[: MAX_ROWS * 4 + 1])

    def value_omitted_from_data(self, data, files, name):
        return False  # no rows submitted means nobody

    def get_context(self, name, value, attrs):
        context = super().get_context(name, value, attrs)
        select_attrs = self.autocomplete.build_attrs(self.autocomplete.attrs)
        select_attrs.pop("class", None)
        select_attrs.pop("required", None)
        context["widget"].update({"rows": self.rows(value), "select_attrs": select_attrs})
        return context

    def rows(self, value):
        """(user id, label) per row; users come from the value (already loaded), ids from a submitted form."""
        items = list(value or [])
        ids = [item for item in items if not hasattr(item, "pk")]
        found = {}
        wanted = [int(i) for i in ids if str(i).isdigit()]
        if wanted:
            found = {str(u.pk): u for u in User.objects.filter(pk__in=wanted)}
        rows = []
        for item in items:
            user = item if hasattr(item, "pk") else found.get(str(item))
            if user is not None:
                rows.append((str(user.pk), str(user)))
            elif item:
                rows.append((str(item), str(item)))
        return rows

    def format_value(self, value):
        return value


class ParticipantsField(forms.Field):
    """People in rotation order (repeats allowed), cleaned into active User objects."""

    widget = ParticipantsWidget
    default_help_text = _(
        "People in rotation order; a person may appear more than once. Shift k belongs to the k-th row "
        "(counting round). Use ↑ ↓ to reorder."
    )

    def __init__(self, **kwargs):
        kwargs.setdefault("required", False)
        kwargs.setdefault("help_text", self.default_help_text)
        kwargs.setdefault("label", capfirst(_("participants")))
        super().__init__(**kwargs)
        self.kept = frozenset()  # ids of the people already in the rotation (see keep)

    def keep(self, users):
        """Accept these people even if they are no longer active: they are the layer's participants now."""
        self.kept = frozenset(getattr(user, "pk", user) for user in users)

    def to_python(self, value):
        items = list(value or [])
        if len(items) > MAX_ROWS * 4:
            raise ValidationError(_("At most %(count)s participants.") % {"count": MAX_ROWS * 4})
        if all(hasattr(item, "pk") for item in items):
            return items
        numbers, errors = [], []
        for number, item in enumerate(items, start=1):
            text = str(item).strip()
            if not text:
                continue
            if not text.isdigit():
                errors.append(_("Row %(number)s: choose a person from the list.") % {"number": number})
                continue
            numbers.append((number, int(text)))
        # Someone who left stays where they already were (until removed); nobody inactive is added.
        found = {
            u.pk: u for u in User.objects.filter(pk__in=[pk for _n, pk in numbers]) if u.is_active or u.pk in self.kept
        }
        for number, pk in numbers:
            if pk not in found:
                errors.append(_("Row %(number)s: that person is unknown or no longer active.") % {"number": number})
        if errors:
            raise ValidationError(errors)
        return [found[pk] for _n, pk in numbers]

    def has_changed(self, initial, data):
        try:
            new = self.to_python(data)
        except ValidationError:
            return True
        return [getattr(u, "pk", u) for u in initial or []] != [u.pk for u in new]


def describe_restrictions(raw):
    """The restrictions as a person reads them, one per line: "Monday – Friday 09:00–18:00", "every day …"."""
    lines = []
    for row in rows_from_restrictions(raw):
        if row["first"] == EVERY_DAY:
            days = str(_("every day"))
        elif row["last"]:
            days = f"{WEEKDAY_LABELS[row['first']]} – {WEEKDAY_LABELS[row['last']]}"
        else:
            days = str(WEEKDAY_LABELS[row["first"]])
        lines.append(f"{days} {row['start']}–{row['end']}")
    return lines
