"""Small text helpers shared by every app: secrets and addresses safe to show."""

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
