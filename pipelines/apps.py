from __future__ import annotations

from django.apps import AppConfig


class PipelinesConfig(AppConfig):
    name = "pipelines"

    def ready(self) -> None:
        from portal import registry
        from portal.roles import Perm

        registry.register_menu_item(
            label="Plugins", url_name="pipelines:plugins", permission=Perm.VIEW_PROJECTS, order=40
        )
