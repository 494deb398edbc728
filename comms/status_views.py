"""Public pages: the status page, an incident's page, subscribing and unsubscribing.

No login, no JavaScript: plain HTML forms. Everything a person typed is
escaped by the templates or sanitised Markdown.
"""

import functools

from django import forms
from django.conf import settings
from django.core import signing
from django.db import IntegrityError, transaction
from django.http import Http404
from django.shortcuts import render
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from comms import stakeholders, status_page
from comms.models import Delivery, StakeholderGroup, StatusPageSettings, Subscriber
from comms.stakeholder_messages import CONFIRM_MAX_AGE, CONFIRM_SALT, UNSUBSCRIBE_SALT
from project import ratelimits


class SubscribeForm(forms.Form):
    email = forms.EmailField(label=_("E-mail address"), max_length=254)


def _language():
    return translation.get_language() or "en"


def in_chosen_language(view):
    """Serve the page in the language of `?lang=` (the switcher), else of Accept-Language (the middleware)."""

    @functools.wraps(view)
    def wrapped(request, *args, **kwargs):
        chosen = request.GET.get("lang", "")
        if chosen not in dict(settings.LANGUAGES):
            return view(request, *args, **kwargs)
        with translation.override(chosen):
            request.LANGUAGE_CODE = chosen
            response = view(request, *args, **kwargs)
        response["Content-Language"] = chosen
        return response

    return wrapped


def _render(request, template, context, status=200):
    """A public page: with the branding and the language switcher."""
    brand = context.get("brand") or StatusPageSettings.current()
    contact = brand["support_contact"]
    context = {
        **context,
        "brand": brand,
        "languages": [(code, LANGUAGE_NAMES.get(code, code)) for code, _name in settings.LANGUAGES],
        "support_is_mail": "@" in contact and "://" not in contact,
        "support_is_link": contact.startswith("https://"),
    }
    return render(request, template, context, status=status)


# Each language named in itself, as a switcher shows them.
LANGUAGE_NAMES = {"en": "English", "fr": "Français", "de": "Deutsch", "it": "Italiano"}


@require_GET
@in_chosen_language
def index(request):
    context = status_page.overview(language=_language())
    context["form"] = SubscribeForm()
    return _render(request, "comms/status/index.html", context)


@require_GET
@in_chosen_language
def incident(request, number):
    found = status_page.incident_detail(number, language=_language())
    if found is None:
        raise Http404(_("No such public incident."))
    return _render(request, "comms/status/incident.html", {"incident": found, "form": SubscribeForm()})


SUBSCRIBE_WINDOW = 3600  # seconds
SUBSCRIBE_PER_CLIENT = 10  # subscriptions one client may ask for in the window
SUBSCRIBE_PER_ADDRESS = 3  # confirmation messages one address may be sent in the window


def _too_many(request, wait):
    response = _render(
        request,
        "comms/status/message.html",
        {"title": _("Too many requests"), "text": _("Please try again later.")},
        status=429,
    )
    response["Retry-After"] = str(wait)
    return response


@require_POST
def subscribe(request):
    """Double opt-in, step one: remember the address and send a confirmation link."""
    wait = ratelimits.exceeded(
        "subscribe-client", ratelimits.client_address(request), limit=SUBSCRIBE_PER_CLIENT, window=SUBSCRIBE_WINDOW
    )
    if wait:
        return _too_many(request, wait)
    form = SubscribeForm(request.POST)
    if not form.is_valid():
        context = status_page.overview(language=_language())
        context["form"] = form
        return _render(request, "comms/status/index.html", context, status=400)
    address = form.cleaned_data["email"].strip().lower()
    wait = ratelimits.exceeded("subscribe-address", address, limit=SUBSCRIBE_PER_ADDRESS, window=SUBSCRIBE_WINDOW)
    if wait:
        return _too_many(request, wait)
    with transaction.atomic():
        subscriber = Subscriber.objects.filter(group=None, kind=Subscriber.Kind.EMAIL, address=address).first()
        if subscriber is None:
            try:
                with transaction.atomic():
                    subscriber = Subscriber.objects.create(
                        group=None, kind=Subscriber.Kind.EMAIL, address=address, language=_language()
                    )
            except IntegrityError:
                subscriber = Subscriber.objects.get(group=None, kind=Subscriber.Kind.EMAIL, address=address)
        if subscriber.confirmed_at is None:
            key = f"confirm:{subscriber.pk}:{int(timezone.now().timestamp())}"
            Delivery.objects.bulk_create(
                [
                    Delivery(
                        key=key,
                        purpose=Delivery.Purpose.CONFIRM,
                        subscriber=subscriber,
                        kind=Subscriber.Kind.EMAIL,
                        address=address,
                        language=_language(),
                    )
                ],
                ignore_conflicts=True,
            )
            stakeholders.hand_out_on_commit(key)
    # The same answer whether or not the address was known: the page reveals no subscriber.
    return _render(
        request,
        "comms/status/message.html",
        {
            "title": _("Check your inbox"),
            "text": _(
                "If the address is valid, a message with a confirmation link is on its way. "
                "Updates start once you confirm."
            ),
        },
    )


@require_http_methods(["GET", "POST"])
def confirm(request, token):
    """Double opt-in, step two: the link from the e-mail leads to a button that confirms the subscription
    (a POST, so that mail scanners that follow links confirm nothing)."""
    try:
        payload = signing.loads(token, salt=CONFIRM_SALT, max_age=CONFIRM_MAX_AGE)
    except signing.BadSignature:
        return _render(
            request,
            "comms/status/message.html",
            {"title": _("Link expired"), "text": _("This confirmation link is invalid or expired: subscribe again.")},
            status=400,
        )
    if request.method == "GET":
        return _render(request, "comms/status/confirm.html", {"token": token})
    updated = Subscriber.objects.filter(pk=payload["s"], address=payload["a"], group=None).update(
        confirmed_at=timezone.now()
    )
    if not updated:
        raise Http404(_("No such subscription."))
    return _render(
        request,
        "comms/status/message.html",
        {"title": _("Subscribed"), "text": _("You will receive the public status updates by e-mail.")},
    )


def _unsubscribe(payload):
    if "s" in payload:
        return Subscriber.objects.filter(pk=payload["s"]).delete()[0] > 0
    groups = StakeholderGroup.objects.filter(pk__in=payload.get("g", []))
    for group in groups:
        group.members.remove(payload["u"])
    return True


@csrf_exempt  # mail clients post RFC 8058 one-click unsubscribes without a CSRF token; the token is the secret
@require_http_methods(["GET", "POST"])
def unsubscribe(request, token):
    try:
        payload = signing.loads(token, salt=UNSUBSCRIBE_SALT)
    except signing.BadSignature:
        return _render(
            request,
            "comms/status/message.html",
            {"title": _("Invalid link"), "text": _("This unsubscribe link is not valid.")},
            status=400,
        )
    if request.method == "GET":
        return _render(request, "comms/status/unsubscribe.html", {"token": token})
    _unsubscribe(payload)
    return _render(
        request,
        "comms/status/message.html",
        {"title": _("Unsubscribed"), "text": _("You will not receive these status updates any more.")},
    )
