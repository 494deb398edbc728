"""The checklist on the incident page: its tasks (open first), their buttons, running a play, the incident's type,
and the confirmation asked of a person resolving with required tasks open.

Mixed into incidents.admin_incident.IncidentAdmin; every button calls one use case (incidents.checklist,
incidents.plays, incidents.lifecycle) and says what happened.
"""

from functools import cache

import markdown
import nh3
from django import forms
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.safestring import mark_safe
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from incidents import checklist, lifecycle, plays
from incidents.models import IncidentRole, IncidentTask, IncidentType, Play
from incidents.models.plays import MAX_SKIP_REASON
from people.models import display_name
from people.teams import visible

MARKDOWN_TAGS = {"p", "a", "ul", "ol", "li", "strong", "em", "code", "pre", "br", "blockquote"}


@cache
def task_markdown(text):
    """A task's description as HTML: Markdown with links, every other tag removed (typed HTML shown as typed)."""
    html = markdown.markdown((text or "").replace("&", "&amp;").replace("<", "&lt;"), extensions=["sane_lists"])
    return mark_safe(  # noqa: S308 (nh3 leaves only the allowed tags and attributes)
        nh3.clean(html, tags=MARKDOWN_TAGS, attributes={"a": {"href"}}, url_schemes={"http", "https", "mailto"})
    )


def due_in_words(due_at, now):
    """ "in 5 min", "12 min overdue" (hours and days when further)."""
    seconds = int((due_at - now).total_seconds())
    minutes = abs(seconds) // 60
    if minutes < 120:
        count = minutes
        texts = (
            ngettext("in %(count)d min", "in %(count)d min", count),
            ngettext("%(count)d min overdue", "%(count)d min overdue", count),
        )
    elif minutes < 48 * 60:
        count = minutes // 60
        texts = (
            ngettext("in %(count)d hour", "in %(count)d hours", count),
            ngettext("%(count)d hour overdue", "%(count)d hours overdue", count),
        )
    else:
        count = minutes // (24 * 60)
        texts = (
            ngettext("in %(count)d day", "in %(count)d days", count),
            ngettext("%(count)d day overdue", "%(count)d days overdue", count),
        )
    return (texts[0] if seconds > 0 else texts[1]) % {"count": count}


class TypeForm(forms.Form):
    incident_type = forms.ChoiceField(
        label=_("Type"), choices=[("", _("— not set —")), *IncidentType.choices], required=False
    )


class RunPlayForm(forms.Form):
    play = forms.ModelChoiceField(label=_("Run a play"), queryset=Play.objects.none())

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["play"].queryset = visible(Play.objects.all(), user).order_by("name")


class SkipForm(forms.Form):
    reason = forms.CharField(
        label=_("Why skip it?"),
        max_length=MAX_SKIP_REASON,
        widget=forms.TextInput(attrs={"size": 30}),
        error_messages={"required": _("Say why the task is skipped.")},
    )


class AssignForm(forms.Form):
    user = forms.ModelChoiceField(label=_("Assign to"), queryset=get_user_model().objects.none())

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["user"].queryset = people()
        self.fields["user"].label_from_instance = display_name


def people():
    return (
        get_user_model().objects.filter(is_active=True, is_staff=True).order_by("first_name", "last_name", "username")
    )


class AddTaskForm(forms.Form):
    title = forms.CharField(label=_("Add a task"), max_length=200, widget=forms.TextInput(attrs={"size": 40}))


class ChecklistAdmin:
    """The checklist of an incident ModelAdmin: URLs, context, and the resolve confirmation."""

    def checklist_urls(self):
        view = self.admin_site.admin_view
        return [
            path("<int:pk>/type/", view(self.type_view), name="incidents_incident_type"),
            path("<int:pk>/run-play/", view(self.run_play_view), name="incidents_incident_run_play"),
            path("<int:pk>/tasks/add/", view(self.task_add_view), name="incidents_incident_task_add"),
            path(
                "<int:pk>/tasks/<int:task_pk>/<str:verb>/",
                view(self.task_view),
                name="incidents_incident_task",
            ),
        ]

    def checklist_context(self, incident, request):
        now = timezone.now()
        tasks = list(
            IncidentTask.objects.filter(incident=incident).select_related("assignee", "done_by").order_by("position")
        )
        choices = list(people())
        for task in tasks:
            task.role_label = IncidentRole.Role(task.role).label if task.role else ""
            task.description_html = task_markdown(task.description) if task.description else ""
            task.due_words = due_in_words(task.due_at, now) if task.due_at and task.is_open else ""
            task.overdue = bool(task.due_at and task.is_open and task.due_at <= now)
        return {
            "open_tasks": [task for task in tasks if task.is_open],
            "closed_tasks": [task for task in tasks if not task.is_open],
            "task_people": choices,
            "type_form": TypeForm(prefix="type", initial={"incident_type": incident.incident_type}),
            "run_play_form": RunPlayForm(prefix="play", user=request.user),
            "add_task_form": AddTaskForm(prefix="task"),
            "play_runs": list(incident.play_runs.order_by("ran_at", "pk")),
        }

    def _errors(self, request, form):
        for errors in form.errors.values():
            for error in errors:
                self.message_user(request, error, messages.ERROR)

    def type_view(self, request, pk):
        incident, refusal = self._incident_for_post(request, pk, "incidents.change_incident")
        if refusal:
            return refusal
        form = TypeForm(request.POST, prefix="type")
        if not form.is_valid():
            self._errors(request, form)
            return self._back(incident, request)
        changed = lifecycle.change_type(incident, incident_type=form.cleaned_data["incident_type"], by=request.user)
        label = changed.get_incident_type_display() or _("not set")
        self.message_user(request, _("Type: %(type)s.") % {"type": label}, messages.SUCCESS)
        return self._back(incident, request)

    def run_play_view(self, request, pk):
        incident, refusal = self._incident_for_post(request, pk, "incidents.change_incident")
        if refusal:
            return refusal
        form = RunPlayForm(request.POST, prefix="play", user=request.user)
        if not form.is_valid():
            self._errors(request, form)
            return self._back(incident, request)
        play = form.cleaned_data["play"]
        try:
            play_run, created = plays.run(incident, play, by=request.user)
        except lifecycle.TransitionError as exc:
            self.message_user(request, str(exc), messages.ERROR)
            return self._back(incident, request)
        if created:
            done = ngettext(
                "Play %(play)s ran: %(count)d task added.",
                "Play %(play)s ran: %(count)d tasks added.",
                play_run.tasks_added,
            ) % {"play": play.name, "count": play_run.tasks_added}
            self.message_user(request, done, messages.SUCCESS)
            self.log_change(request, incident, str(done))
        else:
            self.message_user(
                request,
                _("The play %(play)s ran on this incident already: nothing was added.") % {"play": play.name},
                messages.WARNING,
            )
        return self._back(incident, request)

    def task_add_view(self, request, pk):
        incident, refusal = self._incident_for_post(request, pk, "incidents.change_incident")
        if refusal:
            return refusal
        form = AddTaskForm(request.POST, prefix="task")
        if not form.is_valid():
            self._errors(request, form)
            return self._back(incident, request)
        try:
            checklist.add(incident, title=form.cleaned_data["title"], by=request.user)
        except ValueError as exc:
            self.message_user(request, str(exc), messages.ERROR)
        else:
            self.message_user(request, _("Task added."), messages.SUCCESS)
        return self._back(incident, request)

    def task_view(self, request, pk, task_pk, verb):
        incident, refusal = self._incident_for_post(request, pk, "incidents.change_incident")
        if refusal:
            return refusal
        task = get_object_or_404(IncidentTask, incident=incident, pk=task_pk)
        forms_of = {"skip": SkipForm, "assign": AssignForm}
        form = forms_of[verb](request.POST, prefix=f"task{task.pk}") if verb in forms_of else None
        if verb not in ("complete", "skip", "assign"):
            self.message_user(request, _("Unknown action."), messages.ERROR)
            return self._back(incident, request)
        if form is not None and not form.is_valid():
            self._errors(request, form)
            return self._back(incident, request)
        try:
            if verb == "complete":
                checklist.complete(task, by=request.user)
                done = _("Task done: %(title)s") % {"title": task.title}
            elif verb == "skip":
                checklist.skip(task, reason=form.cleaned_data["reason"], by=request.user)
                done = _("Task skipped: %(title)s") % {"title": task.title}
            else:
                checklist.assign(task, user=form.cleaned_data["user"], by=request.user)
                done = _("Task %(title)s assigned to %(name)s") % {
                    "title": task.title,
                    "name": display_name(form.cleaned_data["user"]),
                }
        except (ValueError, lifecycle.TransitionError) as exc:
            self.message_user(request, str(exc), messages.ERROR)
        else:
            self.message_user(request, done, messages.SUCCESS)
        return self._back(incident, request)

    def confirm_open_tasks(self, request, incident):
        """A page asking to confirm, when a person resolves with required tasks open and has not confirmed yet."""
        if request.POST.get("confirm") == "1" or not incident.is_open:
            return None
        tasks = list(checklist.open_required(incident).select_related("assignee"))
        if not tasks:
            return None
        context = {
            **self.admin_site.each_context(request),
            "title": _("Resolve incident #%(number)s?") % {"number": incident.number},
            "incident": incident,
            "tasks": tasks,
            "resolve_url": reverse("admin:incidents_incident_resolve", args=[incident.pk]),
            "back_url": reverse("admin:incidents_incident_change", args=[incident.pk]),
            "opts": self.model._meta,
        }
        return TemplateResponse(request, "admin/incidents/incident/confirm_resolve.html", context)
