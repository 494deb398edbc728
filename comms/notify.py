"""Messages Piquet sends to people, built in the person's language."""

from django.utils import timezone, translation
from django.utils.translation import gettext as _

from comms.delivery import Message, deliver


def person_language(user):
    """The language a person reads messages in."""
    from comms.models import profile_of

    return profile_of(user).language


def send_test_notification(method):
    """Send a short test message by one contact method; return the delivery Result."""
    with translation.override(person_language(method.user)):
        message = Message(
            subject=_("Piquet test notification"),
            text=_("This is a test notification from Piquet. If you read this, %(method)s works.")
            % {"method": method.get_kind_display()},
            event={
                "event": "test",
                "user": {"id": method.user_id, "username": method.user.get_username()},
                "sent_at": timezone.now().isoformat(),
            },
        )
    return deliver(method, message)
