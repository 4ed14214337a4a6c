from __future__ import annotations

from typing import Any

from django.apps import AppConfig


class ProjectsConfig(AppConfig):
    name = "projects"

    def ready(self) -> None:
        from portal import registry
        from portal.roles import Perm

        registry.register_menu_item(
            label="Projects", url_name="projects:project_list", permission=Perm.VIEW_PROJECTS, order=10
        )
        registry.register_home_card(
            template="projects/_home_card.html", permission=Perm.VIEW_PROJECTS, context=_home_card, order=10
        )


def _home_card(*, membership: Any, **_: Any) -> dict[str, Any]:
    from portal.roles import Perm
    from projects.selectors import project_list

    projects = project_list(organization=membership.organization).order_by("name")[:50]
    return {"projects": projects, "can_create": membership.has_perm(Perm.MANAGE_PROJECTS)}
