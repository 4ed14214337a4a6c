"""Where domain apps plug into the portal's pages, so the portal never imports them (DESIGN.md §1).

An app registers its menu items, home-page cards and object-page panels in its `AppConfig.ready()`:

    registry.register_menu_item(label="Projects", url_name="projects:project_list", permission=…)
    registry.register_home_card(template="projects/_home_card.html", context=…, permission=…)
    registry.register_panel(model="projects.project", template="pipelines/_panel.html", context=…, …)

Each is shown only to members whose roles grant its permission; `order` sorts them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.http import HttpRequest
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.safestring import SafeString

from portal.models import Membership

# A card's or panel's context: given the request, the member (and the object, for a panel).
ContextFunction = Callable[..., dict[str, Any]]


@dataclass(frozen=True)
class MenuItem:
    label: str
    url_name: str
    permission: str
    order: int = 100

    def url(self, organization_slug: str) -> str:
        return reverse(self.url_name, kwargs={"org": organization_slug})


@dataclass(frozen=True)
class Fragment:
    """A template rendered into a page of the portal with the context its app computes."""

    template: str
    permission: str
    context: ContextFunction = field(default=lambda **_: {})
    order: int = 100

    def render(self, request: HttpRequest, **kwargs: Any) -> SafeString:
        membership: Membership = kwargs["membership"]
        context = {
            "organization": membership.organization,
            **kwargs,
            **self.context(request=request, **kwargs),
        }
        return SafeString(render_to_string(self.template, context, request=request))


_menu: list[MenuItem] = []
_cards: list[Fragment] = []
_panels: dict[str, list[Fragment]] = {}


def register_menu_item(*, label: str, url_name: str, permission: str, order: int = 100) -> None:
    if all(item.url_name != url_name for item in _menu):  # ready() may run twice (tests, autoreload)
        _menu.append(MenuItem(label, url_name, permission, order))
        _menu.sort(key=lambda i: (i.order, i.label))


def register_home_card(
    *, template: str, permission: str, context: ContextFunction | None = None, order: int = 100
) -> None:
    _add(_cards, Fragment(template, permission, context or (lambda **_: {}), order))


def register_panel(
    *, model: str, template: str, permission: str, context: ContextFunction | None = None, order: int = 100
) -> None:
    """A panel on the detail page of `model` ("app_label.modelname"); its context gets `object` too."""
    _add(
        _panels.setdefault(model.lower(), []),
        Fragment(template, permission, context or (lambda **_: {}), order),
    )


def _add(fragments: list[Fragment], fragment: Fragment) -> None:
    if all(f.template != fragment.template for f in fragments):
        fragments.append(fragment)
        fragments.sort(key=lambda f: f.order)


def menu_items(membership: Membership) -> list[dict[str, str]]:
    """The items this member may open; `section` is the app namespace (`projects:`) the navigation highlights
    while any of its pages is open."""
    slug = membership.organization.slug
    return [
        {"label": i.label, "url": i.url(slug), "section": _section(i.url_name)}
        for i in _menu
        if membership.has_perm(i.permission)
    ]


def _section(url_name: str) -> str:
    return url_name.rsplit(":", 1)[0] + ":" if ":" in url_name else url_name


def home_cards(*, request: HttpRequest, membership: Membership) -> list[SafeString]:
    return [c.render(request, membership=membership) for c in _cards if membership.has_perm(c.permission)]


def panels(*, request: HttpRequest, membership: Membership, obj: Any) -> list[SafeString]:
    fragments = _panels.get(obj._meta.label_lower, [])
    return [
        p.render(request, membership=membership, object=obj)
        for p in fragments
        if membership.has_perm(p.permission)
    ]


@dataclass(frozen=True)
class HealthCheck:
    """One part of the system in the health report: `check()` returns a `portal.health.PartState`."""

    name: str
    check: Callable[[], Any]
    order: int = 100


_health_checks: dict[str, HealthCheck] = {}


def register_health_check(*, name: str, check: Callable[[], Any], order: int = 100) -> None:
    """A domain app's part of `/api/v1/health` (processing, warehouse): the portal does not import it."""
    _health_checks[name] = HealthCheck(name, check, order)


def health_checks() -> list[HealthCheck]:
    return sorted(_health_checks.values(), key=lambda c: (c.order, c.name))
