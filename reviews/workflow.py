"""A review's life: draft → in review → published, reviewers and their approvals, the public summary.

Each change is one keyword-only function that owns its transaction; refusals are ReviewError (shown as a
form error in the admin, a 400 or 409 in the API).
"""

import logging

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from comms import post_incident
from people.teams import is_org_admin
from reviews.models import Review, ReviewApproval

logger = logging.getLogger(__name__)

State = Review.State
MAX_SECTION_LENGTH = 50_000

# Which state may follow which.
NEXT_STATES = {
    State.DRAFT: {State.IN_REVIEW},
    State.IN_REVIEW: {State.DRAFT, State.PUBLISHED},
    State.PUBLISHED: set(),
}


class ReviewError(ValueError):
    """A change the review's state or its approvals do not allow."""


class NotAReviewer(ReviewError):
    """An approval by someone who is not a named reviewer."""


def may_publish_without_approvals(user):
    """Managers (organisation administrators) may publish a review whatever its approvals."""
    return is_org_admin(user)


def missing_approvals(review):
    """The named reviewers who have not approved yet."""
    return [a.reviewer for a in review.approvals.select_related("reviewer") if a.approved_at is None]


def publish_refusal(review, user):
    """Why `user` may not publish the review now (a sentence), or None."""
    if review.state != State.IN_REVIEW:
        return _("Only a review in review can be published.")
    if may_publish_without_approvals(user):
        return None
    if not review.approvals.exists():
        return _("Name at least one reviewer, or ask a manager to publish it.")
    if missing_approvals(review):
        return _("Every named reviewer must approve before it is published (or a manager publishes it).")
    return None


def change_state(review, *, state, by):
    """Move the review to `state`; publishing needs every named reviewer's approval, or a manager."""
    with transaction.atomic():
        review = Review.objects.select_for_update().select_related("incident").get(pk=review.pk)
        if state == review.state:
            return review
        if state not in NEXT_STATES.get(review.state, set()):
            raise ReviewError(
                _("A review cannot go from %(old)s to %(new)s.")
                % {"old": State(review.state).label, "new": State(state).label if state in State.values else state}
            )
        if state == State.PUBLISHED:
            refusal = publish_refusal(review, by)
            if refusal:
                raise ReviewError(refusal)
            review.published_at = timezone.now()
            review.published_by = by
        if state == State.DRAFT:
            # Back to writing: what the reviewers approved is no longer what they will read.
            review.approvals.update(approved_at=None)
        review.state = state
        review.save(update_fields=["state", "published_at", "published_by"])
        if state == State.PUBLISHED:
            post_incident.publish_summary(review.incident, text=review.public_summary, at=review.published_at)
    logger.info("review state review=%s state=%s by=%s", review.pk, state, getattr(by, "pk", None))
    return review


def set_public_summary(review, *, text):
    """The summary for the status page; once published it shows there at once (an empty one withdraws it)."""
    with transaction.atomic():
        review = Review.objects.select_for_update().select_related("incident").get(pk=review.pk)
        review.public_summary = text
        review.save(update_fields=["public_summary"])
        if review.is_published:
            post_incident.publish_summary(review.incident, text=text)
    return review


def set_reviewers(review, *, reviewers):
    """Name the reviewers: those already named keep their approval, the others are no longer asked."""
    wanted = {user.pk: user for user in reviewers}
    with transaction.atomic():
        review.approvals.exclude(reviewer_id__in=wanted).delete()
        known = set(review.approvals.values_list("reviewer_id", flat=True))
        ReviewApproval.objects.bulk_create(
            [ReviewApproval(review=review, reviewer=user) for pk, user in wanted.items() if pk not in known]
        )
    return review


def approve(review, *, by):
    """The reviewer `by` approves the review (in review only). Approving twice keeps the first time."""
    if review.state != State.IN_REVIEW:
        raise ReviewError(_("Only a review in review can be approved."))
    updated = ReviewApproval.objects.filter(review=review, reviewer=by, approved_at=None).update(
        approved_at=timezone.now()
    )
    if not updated and not ReviewApproval.objects.filter(review=review, reviewer=by).exists():
        raise NotAReviewer(_("Only a named reviewer can approve this review."))
    return review


def update_sections(review, *, values):
    """Write the review's sections (a published review is final: its text no longer changes)."""
    unknown = set(values) - {name for name, _label in Review.SECTIONS}
    if unknown:
        raise ReviewError(_("Unknown section(s): %(names)s.") % {"names": ", ".join(sorted(unknown))})
    changed = [name for name, text in values.items() if getattr(review, name) != text]
    if not changed:
        return review
    if review.is_published:
        raise ReviewError(_("A published review can no longer be changed."))
    for name in changed:
        setattr(review, name, values[name])
    review.save(update_fields=changed)
    sections_changed(review)
    return review


def sections_changed(review):
    """The text changed: approvals given in review were for another text, the reviewers approve again."""
    if review.state == State.IN_REVIEW:
        review.approvals.exclude(approved_at=None).update(approved_at=None)


def recorded_deployment_ids(review):
    """The deployments listed in the review's record: the ones that may be marked as contributing."""
    return {row["id"] for row in (review.record or {}).get("deployments", []) if isinstance(row, dict)}


def set_contributing_deployments(review, *, deployments):
    """Mark deployments of the record as part of the conditions."""
    allowed = recorded_deployment_ids(review)
    strangers = [d.pk for d in deployments if d.pk not in allowed]
    if strangers:
        raise ReviewError(_("Only deployments listed in the review's record can be marked as contributing."))
    review.contributing_deployments.set(deployments)
    return review
