"""Small text helpers shared by every app: secrets and addresses safe to show."""

import re
import secrets

# Kinds of address that are shown as they are; any other (a URL) may carry a credential.
PLAIN_ADDRESS_KINDS = frozenset({"email", "sms", "whatsapp", "voice", "telegram"})


def generate_secret():
    """A random signing secret (64 hex characters)."""
    return secrets.token_hex(32)


def mask_address(kind, address):
    """The address without what could be a credential: URLs keep only their scheme (for logs and lists)."""
    if kind in PLAIN_ADDRESS_KINDS:
        return address
    return address.split("://", 1)[0] + "://…" if "://" in address else "…"


_UNSAFE = re.compile("[\\x00-\\x1f\\x7f-\\x9f\\u2028\\u2029\\ud800-\\udfff]")


def one_line(text, limit=200):
    """`text` safe for a header or a one-line message: control characters and runs of whitespace become one
    space, lone surrogates go, and it is cut to `limit` characters (ending with "…" when cut)."""
    text = " ".join(_UNSAFE.sub(" ", str(text or "")).split())
    if len(text) > limit:
        text = text[: limit - 1].rstrip() + "…"
    return text


def plain_text(text):
    """`text` safe for a message body: lone surrogates and control characters other than newlines and tabs go."""
    return _BODY_UNSAFE.sub("", str(text or ""))


_BODY_UNSAFE = re.compile("[\\x00-\\x08\\x0b\\x0c\\x0e-\\x1f\\x7f\\ud800-\\udfff]")


def mask_key(key):
    """A key shown to someone who may not use it: its last four characters, enough to tell keys apart."""
    return "…" + key[-4:] if key else ""


def conceal(kind, address):
    """Someone else's address, enough to recognise, not to use: a…@example.com, +41…67, https://…."""
    if kind == "email" and "@" in address:
        name, domain = address.rsplit("@", 1)
        return f"{name[:1]}…@{domain}"
    if kind in ("sms", "whatsapp", "voice", "telegram"):
        return address[:3] + "…" + address[-2:] if len(address) > 6 else "…"
    return mask_address(kind, address)
