"""The Alarms page's table: state badge with its reason, last change, actions, and the alarm in the console."""

from __future__ import annotations

from django.utils.html import format_html

from pipelines.models import Alarm
from portal.tables import Column, Table


def _state(alarm: Alarm) -> str:
    return format_html('<span class="badge text-bg-{}" title="{}">{}</span>', alarm.badge, alarm.reason,
                       alarm.get_state_display())  # fmt: skip


def _console(alarm: Alarm) -> str:
    return format_html('<a href="{}" target="_blank" rel="noopener">CloudWatch</a>', alarm.console_url)


class AlarmTable(Table):
    columns = (
        Column("short_name", "Alarm", order_by="name", link=True, css="wrap"),
        Column(
            "project",
            "Project",
            order_by="pipeline__project__project_id",
            value=lambda a: a.pipeline.project.project_id,
        ),
        Column("state", "State", order_by="state", value=_state),
        Column("reason", "Reason", css="wrap small"),
        Column("state_changed", "Last change", order_by="state_changed"),
        Column(
            "actions_enabled",
            "Actions",
            order_by="actions_enabled",
            value=lambda a: "Enabled" if a.actions_enabled else "No actions",
        ),
        Column("console", "In AWS", value=_console),
    )
    default_sort = "state"
    empty_text = (
        "The CloudWatch alarms of your AWS pipelines' stacks appear here after the next refresh "
        "(every few minutes); local pipelines have none."
    )
