from __future__ import annotations

from portal.tables import Column, Table


class ProjectTable(Table):
    columns = (
        Column("project_id", "Id", order_by="project_id", link=True),
        Column("name", "Name", order_by="name"),
        Column("environment", "Environment", order_by="environment"),
        Column("app_count", "Apps", order_by="app_count"),
        Column("pipeline_status", "Pipeline"),
        Column("created", "Created", order_by="created"),
    )
    default_sort = "name"
    empty_text = "A project is a product you measure: its apps send events to the project's pipeline."


class AppTable(Table):
    columns = (
        Column("app_id", "Id", order_by="app_id", link=True),
        Column("name", "Name", order_by="name"),
        Column("platforms", "Platforms", value=lambda app: ", ".join(app.platform_labels) or "—"),
        Column("timezone", "Time zone", order_by="timezone"),
        Column("created", "Created", order_by="created"),
    )
    default_sort = "name"
    empty_text = "Register each web site, Android or iOS app that sends events, to get its SDK set-up."
