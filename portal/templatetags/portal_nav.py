"""Which navigation item is the current page's, so the menu can show where the person is."""

from __future__ import annotations

from typing import Any

from django import template

register = template.Library()


@register.simple_tag(takes_context=True)
def nav_active(context: dict[str, Any], *view_names: str) -> str:
    """`active` when the current view is one of `view_names`; a name ending in `:` matches a whole app."""
    request = context.get("request")
    match = getattr(request, "resolver_match", None)
    if match is None:
        return ""
    here = match.view_name
    for name in view_names:
        if here == name or (name.endswith(":") and here.startswith(name)):
            return "active"
    return ""
