"""django-q2 entry points of reviews: thin, idempotent."""

from reviews import reminders

# Registered hourly by migration 0002 (the key of a reminder makes it once a day per item).


def remind_overdue_action_items():
    return reminders.remind_overdue()
