"""The review in the admin: the sections with blameless prompts, reviewers and approvals, action items, state
buttons, the record read-only, exports, and release windows proposed by contributing deployments."""

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.widgets import AutocompleteSelect
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.db import models
from django.db.models import Q
from django.http import HttpResponseNotAllowed, HttpResponseRedirect, JsonResponse
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from comms import post_incident
from incidents.admin_incident import instant, person
from people.models import display_name
from releases.models import Deployment
from reviews import admin_panel, prevention, workflow  # noqa: F401  (admin_panel: the incident page's panel)
from reviews.models import ActionItem, Review, ReviewApproval
from reviews.rendering import render

# The prompts shown in each empty section: questions about conditions, never about people.
PLACEHOLDERS = {
    "summary": _("What happened, in two or three sentences?"),
    "customer_impact": _("What could customers not do, and for how long?"),
    "contributing_factors": _("What conditions allowed this to happen? What made it hard to see coming?"),
    "went_well": _("What helped us detect, understand or fix it?"),
    "was_hard": _("What slowed us down? What information was missing?"),
    "lessons": _("What do we know now about our systems that we did not know before?"),
    "public_summary": _("What customers should know: what happened, what we changed. Nothing internal."),
}


class PersonChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj):
        return display_name(obj)


def people():
    return (
        get_user_model().objects.filter(is_active=True, is_staff=True).order_by("first_name", "last_name", "username")
    )


PEOPLE_PER_PAGE = 20


class PersonAutocomplete(AutocompleteSelect):
    """The admin's autocomplete, asking the review admin for people (Responders may not read the user admin)."""

    def get_url(self):
        return reverse("admin:reviews_review_people")


def person_field(db_field, admin_site, label):
    return PersonChoiceField(queryset=people(), label=label, widget=PersonAutocomplete(db_field, admin_site))


class ReviewForm(forms.ModelForm):
    class Meta:
        model = Review
        fields = [name for name, _label in Review.SECTIONS] + ["public_summary", "contributing_deployments"]
        widgets = {
            name: forms.Textarea(attrs={"rows": 6, "cols": 100, "placeholder": PLACEHOLDERS[name]})
            for name in PLACEHOLDERS
        } | {"contributing_deployments": forms.CheckboxSelectMultiple}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        field = self.fields.get("contributing_deployments")
        if field is not None:
            ids = workflow.recorded_deployment_ids(self.instance) if self.instance.pk else set()
            field.queryset = Deployment.objects.filter(pk__in=ids).select_related("service").order_by("deployed_at")
            field.label_from_instance = lambda d: f"{d.deployed_at:%Y-%m-%d %H:%M} UTC · {d.service.name} {d.version}"


class ApprovalInline(admin.TabularInline):
    model = ReviewApproval
    extra = 1
    fields = ["reviewer", "approved_at"]
    readonly_fields = ["approved_at"]
    verbose_name = _("reviewer")
    verbose_name_plural = _("reviewers")

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "reviewer":
            return person_field(db_field, self.admin_site, _("reviewer"))
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def has_change_permission(self, request, obj=None):
        return super().has_change_permission(request, obj) or _may_write(request, obj)

    def has_add_permission(self, request, obj=None):
        return _may_write(request, obj)

    def has_delete_permission(self, request, obj=None):
        return _may_write(request, obj)

    def has_view_permission(self, request, obj=None):
        return request.user.has_perm("reviews.view_review")


def _may_write(request, review):
    return request.user.has_perm("reviews.change_review") and (review is None or not review.is_published)


# "tracker.example/OPS-7" means https://tracker.example/OPS-7.
URL_FIELDS = {models.URLField: {"assume_scheme": "https"}}


class ActionItemInline(admin.TabularInline):
    model = ActionItem
    extra = 1
    formfield_overrides = URL_FIELDS
    fields = ["title", "owner", "due", "ticket_url", "status"]

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "owner":
            return person_field(db_field, self.admin_site, _("owner"))
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


class OverdueFilter(admin.SimpleListFilter):
    title = _("overdue")
    parameter_name = "overdue"

    def lookups(self, request, model_admin):
        return [("yes", _("Yes")), ("no", _("No"))]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.filter(pk__in=ActionItem.objects.overdue().values("pk"))
        if self.value() == "no":
            return queryset.exclude(pk__in=ActionItem.objects.overdue().values("pk"))
        return queryset


@admin.register(Review)
class ReviewAdmin(admin.ModelAdmin):
    form = ReviewForm
    list_display = ["incident_number", "incident_title", "service", "state", "created", "published"]
    list_display_links = ["incident_number", "incident_title"]
    list_filter = ["state", "incident__service", "incident__service__team"]
    list_select_related = ["incident", "incident__service"]
    search_fields = ["=incident__number", "incident__title", "summary"]
    show_full_result_count = False
    inlines = [ApprovalInline, ActionItemInline]
    change_form_template = "admin/reviews/review/change_form.html"
    record_fields = ["incident_link", "state", "impact", "duration", "approval_state", "exports", "record_html"]

    def get_queryset(self, request):
        return super().get_queryset(request).visible_to(request.user)

    def has_add_permission(self, request):
        return False  # a review starts from its incident (the button on the incident page, or the API)

    def get_fieldsets(self, request, obj=None):
        sections = [name for name, _label in Review.SECTIONS]
        return [
            (None, {"fields": ["incident_link", "state", "impact", "duration", "approval_state", "exports"]}),
            (_("Review"), {"fields": sections}),
            (_("Contributing deployments"), {"fields": ["contributing_deployments"]}),
            (_("Public status page"), {"fields": ["public_summary"]}),
            (_("Record"), {"fields": ["record_html"]}),
        ]

    def get_readonly_fields(self, request, obj=None):
        fixed = list(self.record_fields)
        if obj is not None and obj.is_published:
            fixed += [name for name, _label in Review.SECTIONS] + ["contributing_deployments"]
        return fixed

    @admin.display(description=_("incident"), ordering="incident__number")
    def incident_number(self, obj):
        return f"#{obj.incident.number}"

    @admin.display(description=_("title"))
    def incident_title(self, obj):
        return obj.incident.title

    @admin.display(description=_("service"), ordering="incident__service__name")
    def service(self, obj):
        return obj.incident.service.name

    @admin.display(description=_("created at"), ordering="created_at")
    def created(self, obj):
        return instant(obj.created_at)

    @admin.display(description=_("published at"), ordering="published_at")
    def published(self, obj):
        return instant(obj.published_at)

    @admin.display(description=_("incident"))
    def incident_link(self, obj):
        url = reverse("admin:incidents_incident_change", args=[obj.incident_id])
        return format_html('<a href="{}">#{} {}</a>', url, obj.incident.number, obj.incident.title)

    @admin.display(description=_("impact"))
    def impact(self, obj):
        return format_html("{} → {}", instant(obj.impact_started_at), instant(obj.impact_ended_at))

    @admin.display(description=_("duration"))
    def duration(self, obj):
        delta = obj.duration
        if delta is None:
            return "—"
        minutes = int(delta.total_seconds() // 60)
        return f"{minutes // 60} h {minutes % 60:02d} min"

    @admin.display(description=_("approvals"))
    def approval_state(self, obj):
        approvals = list(obj.approvals.select_related("reviewer"))
        if not approvals:
            return _("No reviewer named yet.")
        return ", ".join(f"{person(a.reviewer)} {'✓' if a.approved_at else '…'}" for a in approvals)

    @admin.display(description=_("export"))
    def exports(self, obj):
        return format_html(
            '<a href="{}">{}</a> · <a href="{}">{}</a>',
            reverse("incident-review-markdown", args=[obj.incident_id]),
            _("Markdown"),
            reverse("admin:reviews_review_print", args=[obj.pk]),
            _("Printable page"),
        )

    @admin.display(description=_("timeline"))
    def record_html(self, obj):
        return render(obj.record_markdown)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        review = self.get_object(request, object_id)
        extra_context = extra_context or {}
        if review is not None:
            extra_context.update(
                can_write=request.user.has_perm("reviews.change_review"),
                next_states=[(s, Review.State(s).label) for s in workflow.NEXT_STATES[review.state]],
                is_reviewer=review.approvals.filter(reviewer=request.user, approved_at=None).exists(),
                publish_refusal=workflow.publish_refusal(review, request.user)
                if review.state == Review.State.IN_REVIEW
                else None,
                release_window_drafts=[
                    (d, prevention.release_window_draft_url(d, review=review, user=request.user))
                    for d in review.contributing_deployments.select_related("service")
                ],
                may_add_window=request.user.has_perm("releases.add_releasewindow"),
            )
        return super().change_view(request, object_id, form_url, extra_context)

    def save_model(self, request, obj, form, change):
        # The public summary reaches the status page at once when the review is published.
        public_changed = "public_summary" in form.changed_data
        super().save_model(request, obj, form, change)
        if public_changed and obj.is_published:
            workflow.set_public_summary(obj, text=obj.public_summary)
        if change and set(form.changed_data) & {name for name, _label in Review.SECTIONS}:
            workflow.sections_changed(obj)

    def delete_model(self, request, obj):
        # What the status page said about it goes with the review.
        post_incident.withdraw_summary(obj.incident)
        super().delete_model(request, obj)

    def delete_queryset(self, request, queryset):
        for review in queryset.select_related("incident"):
            post_incident.withdraw_summary(review.incident)
        super().delete_queryset(request, queryset)

    def get_urls(self):
        return [
            path("<int:pk>/state/", self.admin_site.admin_view(self.state_view), name="reviews_review_state"),
            path("<int:pk>/approve/", self.admin_site.admin_view(self.approve_view), name="reviews_review_approve"),
            path("<int:pk>/print/", self.admin_site.admin_view(self.print_view), name="reviews_review_print"),
            path("people/", self.admin_site.admin_view(self.people_view), name="reviews_review_people"),
            *super().get_urls(),
        ]

    def _review(self, request, pk):
        return get_object_or_404(self.get_queryset(request).select_related("incident__service"), pk=pk)

    def _back(self, review):
        return HttpResponseRedirect(reverse("admin:reviews_review_change", args=[review.pk]))

    def state_view(self, request, pk):
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        if not request.user.has_perm("reviews.change_review"):
            raise PermissionDenied
        review = self._review(request, pk)
        wanted = request.POST.get("state", "")
        if wanted not in Review.State.values:
            self.message_user(request, _("Unknown state."), messages.ERROR)
            return self._back(review)
        try:
            review = workflow.change_state(review, state=wanted, by=request.user)
        except workflow.ReviewError as exc:
            self.message_user(request, str(exc), messages.ERROR)
        else:
            done = _("The review is now %(state)s.") % {"state": review.get_state_display()}
            self.message_user(request, done, messages.SUCCESS)
            self.log_change(request, review, str(done))
        return self._back(review)

    def approve_view(self, request, pk):
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        review = self._review(request, pk)
        try:
            workflow.approve(review, by=request.user)
        except workflow.ReviewError as exc:
            self.message_user(request, str(exc), messages.ERROR)
        else:
            self.message_user(request, _("You approved the review."), messages.SUCCESS)
            self.log_change(request, review, "approved")
        return self._back(review)

    def people_view(self, request):
        """Reviewers and owners to choose from, as the admin's autocomplete (Select2) reads them."""
        if not (request.user.has_perm("reviews.change_review") or request.user.has_perm("reviews.change_actionitem")):
            raise PermissionDenied
        term = request.GET.get("term", "")[:100].strip()
        found = people()
        for word in term.split()[:5]:
            found = found.filter(
                Q(username__icontains=word) | Q(first_name__icontains=word) | Q(last_name__icontains=word)
            )
        try:
            page = max(1, min(int(request.GET.get("page", "1")), 1000))
        except ValueError:
            page = 1
        start = (page - 1) * PEOPLE_PER_PAGE
        rows = list(found[start : start + PEOPLE_PER_PAGE + 1])
        return JsonResponse(
            {
                "results": [{"id": str(user.pk), "text": display_name(user)} for user in rows[:PEOPLE_PER_PAGE]],
                "pagination": {"more": len(rows) > PEOPLE_PER_PAGE},
            }
        )

    def print_view(self, request, pk):
        review = self._review(request, pk)
        context = {
            **self.admin_site.each_context(request),
            "review": review,
            "incident": review.incident,
            "sections": [(label, render(getattr(review, name))) for name, label in Review.SECTIONS],
            "approvals": review.approvals.select_related("reviewer"),
            "action_items": review.action_items.select_related("owner"),
            "record_html": render(review.record_markdown),
            "printed_at": timezone.now(),
            "title": str(review),
        }
        return TemplateResponse(request, "reviews/print.html", context)


@admin.register(ActionItem)
class ActionItemAdmin(admin.ModelAdmin):
    list_display = ["title", "owner_name", "due", "status", "overdue", "incident", "service"]
    list_filter = [
        "status",
        OverdueFilter,
        "review__incident__service",
        "review__incident__service__team",
        ("owner", admin.RelatedOnlyFieldListFilter),
    ]
    list_select_related = ["owner", "review__incident__service"]
    search_fields = ["title", "=review__incident__number"]
    raw_id_fields = ["review"]
    formfield_overrides = URL_FIELDS
    fields = ["review", "title", "owner", "due", "ticket_url", "status", "done_at"]
    readonly_fields = ["done_at"]

    def get_queryset(self, request):
        return super().get_queryset(request).visible_to(request.user)

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "owner":
            return person_field(db_field, self.admin_site, _("owner"))
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    @admin.display(description=_("owner"), ordering="owner__last_name")
    def owner_name(self, obj):
        return person(obj.owner)

    @admin.display(description=_("overdue"), boolean=True)
    def overdue(self, obj):
        return obj.is_overdue()

    @admin.display(description=_("incident"), ordering="review__incident__number")
    def incident(self, obj):
        url = reverse("admin:reviews_review_change", args=[obj.review_id])
        return format_html('<a href="{}">#{}</a>', url, obj.review.incident.number)

    @admin.display(description=_("service"))
    def service(self, obj):
        return obj.review.incident.service.name
