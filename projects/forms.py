from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, cast
from zoneinfo import ZoneInfo

from django import forms

from portal.forms import OrganizationOwnedForm
from projects.choices import Platform
from projects.models import App, Project
from projects.validators import time_zones


def time_zone_choices() -> list[tuple[str, str]]:
    """IANA names labelled with today's UTC offset, as `Asia/Shanghai (UTC +08:00)`; the value is the name."""
    now = datetime.now(UTC)
    choices = []
    for name in sorted(time_zones()):
        offset = now.astimezone(ZoneInfo(name)).strftime("%z")
        choices.append((name, f"{name} (UTC {offset[:3]}:{offset[3:]})"))
    return choices


class ProjectForm(OrganizationOwnedForm):
    class Meta:
        model = Project
        fields = ["name", "project_id", "description", "emails", "environment"]
        widgets = {
            "name": forms.TextInput(attrs={"data-suggest-id": "id_project_id", "data-id-style": "project"}),
            "description": forms.Textarea(attrs={"rows": 3}),
        }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if not self.instance._state.adding:
            self.fields["project_id"].disabled = True  # ids are immutable once created


class AppForm(OrganizationOwnedForm):
    platforms = forms.MultipleChoiceField(
        choices=Platform.choices, required=False, widget=forms.CheckboxSelectMultiple
    )
    timezone = forms.ChoiceField(label="Reporting time zone", initial="UTC")

    class Meta:
        model = App
        fields = [
            "name",
            "app_id",
            "description",
            "platforms",
            "android_package",
            "ios_bundle_id",
            "timezone",
        ]
        labels = {"ios_bundle_id": "iOS bundle id"}
        widgets = {
            "name": forms.TextInput(attrs={"data-suggest-id": "id_app_id", "data-id-style": "app"}),
            "description": forms.Textarea(attrs={"rows": 3}),
        }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        cast(forms.ChoiceField, self.fields["timezone"]).choices = time_zone_choices()
        self.fields["timezone"].help_text = App._meta.get_field("timezone").help_text
        if not self.instance._state.adding:
            self.fields["app_id"].disabled = True
            if self.instance.data_since:
                self.fields["timezone"].disabled = True
