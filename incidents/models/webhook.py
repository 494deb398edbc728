"""The generic webhook integration's expressions: what it reads from any JSON body."""

import jmespath
from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _

MAX_EXPRESSION = 500

DEFAULT_TITLE_EXPR = "title || summary || message"
DEFAULT_SEVERITY_EXPR = "severity || level"
DEFAULT_DEDUP_EXPR = "id || fingerprint"
DEFAULT_RESOLVE_EXPR = "status == 'resolved'"


def validate_jmespath(value):
    """A JMESPath expression that compiles (refused when saved, never at ingest time)."""
    if not value:
        return
    try:
        jmespath.compile(value)
    except (jmespath.exceptions.JMESPathError, ValueError, TypeError, RecursionError) as exc:
        raise ValidationError(_("Not a valid JMESPath expression: %(error)s") % {"error": exc}) from None


class WebhookExpressions(models.Model):
    """What a generic webhook integration reads from any JSON body, as JMESPath expressions."""

    title_expr = models.CharField(
        _("title expression"),
        max_length=MAX_EXPRESSION,
        blank=True,
        default=DEFAULT_TITLE_EXPR,
        validators=[validate_jmespath],
        help_text=_("Webhook: JMESPath giving the incident's title, e.g. title || summary || message."),
    )
    severity_expr = models.CharField(
        _("severity expression"),
        max_length=MAX_EXPRESSION,
        blank=True,
        default=DEFAULT_SEVERITY_EXPR,
        validators=[validate_jmespath],
        help_text=_(
            "Webhook: JMESPath giving critical, error, warning, info or SEV1–SEV4 (any case); "
            "anything else: the default severity."
        ),
    )
    dedup_expr = models.CharField(
        _("deduplication key expression"),
        max_length=MAX_EXPRESSION,
        blank=True,
        default=DEFAULT_DEDUP_EXPR,
        validators=[validate_jmespath],
        help_text=_("Webhook: JMESPath giving the key that groups bodies into one incident, e.g. id || fingerprint."),
    )
    resolve_expr = models.CharField(
        _("resolve expression"),
        max_length=MAX_EXPRESSION,
        blank=True,
        default=DEFAULT_RESOLVE_EXPR,
        validators=[validate_jmespath],
        help_text=_("Webhook: JMESPath; when true, the body resolves the incident, e.g. status == 'resolved'."),
    )

    class Meta:
        abstract = True
