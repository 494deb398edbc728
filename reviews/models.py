"""Post-incident reviews: blameless, drafted from the record, approved by reviewers, with action items."""

from django.conf import settings
from django.core.validators import URLValidator
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from incidents.models import Incident
from people.teams import is_org_admin


class ReviewQuerySet(models.QuerySet):
    def visible_to(self, user):
        """Reviews of the incidents the person may see (incidents.IncidentQuerySet.visible_to)."""
        if is_org_admin(user):
            return self
        return self.filter(incident__in=Incident.objects.visible_to(user).values("pk"))


class Review(models.Model):
    """One incident's post-incident review: what happened, what allowed it, what we learn. About conditions,
    never about who."""

    class State(models.TextChoices):
        DRAFT = "draft", _("Draft")
        IN_REVIEW = "in_review", _("In review")
        PUBLISHED = "published", _("Published")

    # The writing sections, in the order of the review (field, Markdown heading).
    SECTIONS = (
        ("summary", _("Summary")),
        ("customer_impact", _("Customer impact")),
        ("contributing_factors", _("Contributing factors")),
        ("went_well", _("What went well")),
        ("was_hard", _("What was hard")),
        ("lessons", _("Lessons")),
    )

    incident = models.OneToOneField(
        Incident, on_delete=models.CASCADE, related_name="review", verbose_name=_("incident")
    )
    state = models.CharField(_("state"), max_length=10, choices=State.choices, default=State.DRAFT)
    summary = models.TextField(
        _("summary"),
        blank=True,
        help_text=_("What happened, in a few sentences, for someone who was not there. Markdown."),
    )
    customer_impact = models.TextField(
        _("customer impact"),
        blank=True,
        help_text=_("Who noticed what, for how long? What could customers not do? Markdown."),
    )
    contributing_factors = models.TextField(
        _("contributing factors"),
        blank=True,
        help_text=_(
            "What conditions allowed this to happen? What made it hard to notice or to fix? Describe systems, "
            "signals and decisions in their context, not who. Markdown."
        ),
    )
    went_well = models.TextField(
        _("what went well"),
        blank=True,
        help_text=_("What helped: an alert that fired early, a runbook that worked, a quick rollback. Markdown."),
    )
    was_hard = models.TextField(
        _("what was hard"),
        blank=True,
        help_text=_("What slowed the response down: missing information, unclear tools, waiting. Markdown."),
    )
    lessons = models.TextField(
        _("lessons"),
        blank=True,
        help_text=_("What do we now know about our systems that we did not know before? Markdown."),
    )
    public_summary = models.TextField(
        _("public summary"),
        blank=True,
        help_text=_(
            "Optional: what the public status page says about this incident once the review is published. "
            "Written for customers; nothing internal (no names, hosts or alert texts)."
        ),
    )
    # The record, assembled when the review is created (reviews.drafting) and kept as it was then.
    impact_started_at = models.DateTimeField(_("impact started at"), null=True, blank=True)
    impact_ended_at = models.DateTimeField(_("impact ended at"), null=True, blank=True)
    record_markdown = models.TextField(_("timeline"), blank=True, help_text=_("Assembled from the incident's record."))
    record = models.JSONField(_("record"), default=dict, blank=True)
    contributing_deployments = models.ManyToManyField(
        "releases.Deployment",
        blank=True,
        related_name="reviews",
        verbose_name=_("contributing deployments"),
        help_text=_("Deployments of the record that were part of the conditions (the change, not the person)."),
    )
    reviewers = models.ManyToManyField(
        settings.AUTH_USER_MODEL,
        through="ReviewApproval",
        blank=True,
        related_name="reviews_to_approve",
        verbose_name=_("reviewers"),
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("created by"),
    )
    published_at = models.DateTimeField(_("published at"), null=True, blank=True)
    published_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("published by"),
    )

    objects = ReviewQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("review")
        verbose_name_plural = _("reviews")

    def __str__(self):
        return f"#{self.incident.number} {self.incident.title}"

    @property
    def is_published(self):
        return self.state == self.State.PUBLISHED

    @property
    def duration(self):
        if self.impact_started_at and self.impact_ended_at:
            return self.impact_ended_at - self.impact_started_at
        return None


class ReviewApproval(models.Model):
    """A reviewer named on a review, and when they approved it (empty: not yet)."""

    review = models.ForeignKey(Review, on_delete=models.CASCADE, related_name="approvals", verbose_name=_("review"))
    reviewer = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="review_approvals", verbose_name=_("reviewer")
    )
    approved_at = models.DateTimeField(_("approved at"), null=True, blank=True)

    class Meta:
        ordering = ["review_id", "id"]
        verbose_name = _("review approval")
        verbose_name_plural = _("review approvals")
        constraints = [models.UniqueConstraint(fields=["review", "reviewer"], name="one_approval_per_reviewer")]

    def __str__(self):
        return f"{self.review_id}: {self.reviewer}"


class ActionItemQuerySet(models.QuerySet):
    def open(self):
        return self.filter(status=ActionItem.Status.OPEN)

    def overdue(self, today=None):
        """Open items whose due date has passed (on `today`, a date; default: today in UTC)."""
        return self.open().filter(due__lt=today or timezone.now().date())

    def visible_to(self, user):
        if is_org_admin(user):
            return self
        return self.filter(review__incident__in=Incident.objects.visible_to(user).values("pk"))


validate_ticket_url = URLValidator(schemes=["http", "https"])


class ActionItem(models.Model):
    """Something to do so that it does not happen again, with an owner and a due date."""

    class Status(models.TextChoices):
        OPEN = "open", _("Open")
        DONE = "done", _("Done")

    review = models.ForeignKey(Review, on_delete=models.CASCADE, related_name="action_items", verbose_name=_("review"))
    title = models.CharField(
        _("title"), max_length=300, help_text=_("What changes, e.g. 'Alert on queue depth before it fills'.")
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="action_items", verbose_name=_("owner")
    )
    due = models.DateField(_("due"))
    ticket_url = models.URLField(
        _("ticket"),
        max_length=1000,
        blank=True,
        validators=[validate_ticket_url],
        help_text=_("Optional: the issue tracker's ticket (http or https)."),
    )
    status = models.CharField(_("status"), max_length=4, choices=Status.choices, default=Status.OPEN)
    done_at = models.DateTimeField(_("done at"), null=True, blank=True, editable=False)
    created_at = models.DateTimeField(_("created at"), default=timezone.now, editable=False)

    objects = ActionItemQuerySet.as_manager()

    class Meta:
        ordering = ["due", "id"]
        verbose_name = _("action item")
        verbose_name_plural = _("action items")
        indexes = [models.Index(fields=["status", "due"], name="actionitem_status_due")]

    def __str__(self):
        return self.title

    def is_overdue(self, today=None):
        return self.status == self.Status.OPEN and self.due < (today or timezone.now().date())

    def save(self, *args, **kwargs):
        # When it was done, for the list; a reopened item is open again.
        if self.status == self.Status.DONE and self.done_at is None:
            self.done_at = timezone.now()
        elif self.status == self.Status.OPEN:
            self.done_at = None
        super().save(*args, **kwargs)
