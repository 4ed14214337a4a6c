from __future__ import annotations

from typing import Any

from django import forms

from portal.forms import OrganizationOwnedForm
from projects.choices import Platform
from projects.models import App, Project
from projects.validators import time_zones


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
        widgets = {
            "name": forms.TextInput(attrs={"data-suggest-id": "id_app_id", "data-id-style": "app"}),
            "description": forms.Textarea(attrs={"rows": 3}),
        }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["timezone"].choices = [(tz, tz) for tz in sorted(time_zones())]
        self.fields["timezone"].help_text = App._meta.get_field("timezone").help_text
        if not self.instance._state.adding:
            self.fields["app_id"].disabled = True
            if self.instance.data_since:
                self.fields["timezone"].disabled = True
