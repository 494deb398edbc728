"""Markdown written in a review, shown as HTML: the comms renderer (Markdown, then nh3 keeps harmless tags)."""

from comms.stakeholder_messages import render_markdown


def render(text):
    """Safe HTML for what a person wrote (a <script> is shown as text, never run)."""
    return render_markdown(text or "")
