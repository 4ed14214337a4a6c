"""The controls of dashboards and the details sheet: date range, platform and sheet options, all validated."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from django import forms

from analytics.base import MAX_RANGE_DAYS, PLATFORMS, Scope
from analytics.dashboards import PAGE_DIMS, SESSION_SOURCE_DIMS, USER_SOURCE_DIMS, Options

DEFAULT_DAYS = 30


class ScopeForm(forms.Form):
    """Start and end are local days in the app's time zone; the default is the last 30 days, today included."""

    start = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))
    end = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))
    platform = forms.ChoiceField(
        required=False, choices=[("", "All platforms"), *[(p, p) for p in PLATFORMS]]
    )
    top_n = forms.IntegerField(required=False, min_value=1, max_value=100, label="Top N")
    user_dim = forms.ChoiceField(
        required=False, choices=[(k, k) for k in USER_SOURCE_DIMS], label="User source"
    )
    session_dim = forms.ChoiceField(
        required=False, choices=[(k, k) for k in SESSION_SOURCE_DIMS], label="Traffic source"
    )
    page_dim = forms.ChoiceField(required=False, choices=[(k, k) for k in PAGE_DIMS], label="Page / screen")

    def __init__(self, *args: Any, today: date, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.today = today

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        end = data.get("end") or self.today
        start = data.get("start") or end - timedelta(days=DEFAULT_DAYS - 1)
        if start > end:
            self.add_error("start", "The start date is after the end date.")
        elif (end - start).days > MAX_RANGE_DAYS:
            self.add_error("start", "The date range is longer than ten years.")
        data["start"], data["end"] = start, end
        return data

    def scope(self, *, app: Any) -> Scope:
        data = self.cleaned_data
        platforms = (data["platform"],) if data.get("platform") else ()
        return Scope(app_id=app.app_id, project_id=app.project.project_id, timezone=app.timezone,
                     start=data["start"], end=data["end"], platforms=platforms)  # fmt: skip

    def options(self) -> Options:
        data = self.cleaned_data
        return Options(
            top_n=data.get("top_n") or 10,
            user_dim=data.get("user_dim") or "User First Traffic Source",
            session_dim=data.get("session_dim") or "Session Traffic Source",
            page_dim=data.get("page_dim") or "Page Title",
        )


class DetailsForm(forms.Form):
    """The details sheet's filters (spec §2.4 Details): a UTC time range and exact-match fields."""

    start = forms.DateTimeField(required=False, widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
                                label="From (UTC)")  # fmt: skip
    end = forms.DateTimeField(required=False, widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
                              label="To (UTC)")  # fmt: skip
    user_id = forms.CharField(required=False, max_length=255, label="User ID")
    user_pseudo_id = forms.CharField(required=False, max_length=255, label="User pseudo id")
    platform = forms.ChoiceField(
        required=False, choices=[("", "All platforms"), *[(p, p) for p in PLATFORMS]]
    )
    event_name = forms.CharField(required=False, max_length=255)
    app_version = forms.CharField(required=False, max_length=255)
    device_vendor_id = forms.CharField(required=False, max_length=255, label="Device id")
    operating_system = forms.CharField(required=False, max_length=255, label="Operating system")

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if data.get("start") and data.get("end") and data["start"] >= data["end"]:
            self.add_error("end", "The end is not after the start.")
        return data
