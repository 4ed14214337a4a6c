"""The controls of dashboards and the details sheet: date range, platform and sheet options, all validated."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from django import forms

from analytics.base import MAX_RANGE_DAYS, PLATFORMS, Scope
from analytics.dashboards import PAGE_DIMS, SESSION_SOURCE_DIMS, USER_SOURCE_DIMS, Options
from portal.forms import BootstrapMixin

DEFAULT_DAYS = 30


class ScopeForm(BootstrapMixin, forms.Form):
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
        data = super().clean() or {}
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


class DetailsForm(BootstrapMixin, forms.Form):
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
        data = super().clean() or {}
        if data.get("start") and data.get("end") and data["start"] >= data["end"]:
            self.add_error("end", "The end is not after the start.")
        return data


EVENT_SLOTS = 6
ANALYSIS_TYPES = [("event", "Event analysis"), ("funnel", "Funnel"), ("path", "Path"), ("retention", "Retention"),
                  ("attribution", "Attribution")]  # fmt: skip


class ExploreForm(BootstrapMixin, forms.Form):
    """The explore page's controls. They become the explore API's JSON spec, which the API's serializer
    validates (one set of rules); its errors come back on the fields here."""

    type = forms.ChoiceField(choices=ANALYSIS_TYPES, initial="funnel")
    start = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))
    end = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))
    platform = forms.ChoiceField(
        required=False, choices=[("", "All platforms"), *[(p, p) for p in PLATFORMS]]
    )
    count = forms.ChoiceField(
        choices=[("users", "Users"), ("events", "Events")], initial="users", label="Count"
    )
    granularity = forms.ChoiceField(
        choices=[("day", "Day"), ("week", "Week"), ("month", "Month")], initial="day"
    )
    window_type = forms.ChoiceField(choices=[("custom", "Within"), ("day", "The same day")], initial="custom",
                                    label="Window")  # fmt: skip
    window_value = forms.IntegerField(min_value=1, initial=10, required=False, label="Window length")
    window_unit = forms.ChoiceField(
        choices=[(u, u) for u in ("second", "minute", "hour", "day")], initial="minute"
    )
    session_type = forms.ChoiceField(choices=[("session", "SDK session"), ("gap", "Gap of")], initial="session",
                                     label="Path session")  # fmt: skip
    gap_minutes = forms.IntegerField(min_value=1, initial=5, required=False, label="Gap (minutes)")
    node = forms.ChoiceField(choices=[("event", "Events"), ("page_view_page_title", "Page title"),
                                      ("page_view_page_url_path", "Page URL path"),
                                      ("screen_view_screen_name", "Screen name"),
                                      ("screen_view_screen_id", "Screen id")], initial="event", label="Path nodes")  # fmt: skip
    revisit = forms.ChoiceField(required=False, label="Revisit event (retention)")
    cohort = forms.ChoiceField(choices=[("day", "Day"), ("week", "Week")], initial="day", label="Cohort by")
    goal = forms.ChoiceField(required=False, label="Conversion goal (attribution)")
    model = forms.ChoiceField(choices=[("first", "First touch"), ("last", "Last touch"), ("linear", "Linear"),
                                       ("position", "Position based (40/20/40)")], initial="first")  # fmt: skip
    filter_property = forms.ChoiceField(required=False, label="Filter on")
    filter_operator = forms.ChoiceField(choices=[(o, o.replace("_", " ")) for o in (
        "=", "<>", ">", ">=", "<", "<=", "in", "not_in", "contains", "not_contains", "is_null", "is_not_null")],
        required=False, label="Operator")  # fmt: skip
    filter_value = forms.CharField(required=False, max_length=255, label="Value(s)",
                                   help_text="Several values for in / not in: separate with commas.")  # fmt: skip
    group_by = forms.ChoiceField(required=False, label="Group by")

    def __init__(
        self, *args: Any, events: list[tuple[str, str]], attributes: list[tuple[str, str]], **kwargs: Any
    ):
        super().__init__(*args, **kwargs)
        choices = [("", "—"), *events]
        for i in range(1, EVENT_SLOTS + 1):
            self.fields[f"event_{i}"] = forms.ChoiceField(choices=choices, required=False, label=f"Event {i}")
        for name, options in [("revisit", choices), ("goal", choices)]:
            self._choice_field(name).choices = options
        for name in ("filter_property", "group_by"):
            self._choice_field(name).choices = [("", "—"), *attributes]

    def _choice_field(self, name: str) -> forms.ChoiceField:
        field = self.fields[name]
        assert isinstance(field, forms.ChoiceField)
        return field

    def events(self) -> list[str]:
        return [
            self.cleaned_data[f"event_{i}"]
            for i in range(1, EVENT_SLOTS + 1)
            if self.cleaned_data.get(f"event_{i}")
        ]

    @staticmethod
    def _property(value: str) -> dict[str, str]:
        category, _, name = value.partition(":")
        return {"category": category, "property": name}

    def spec(self) -> dict[str, Any]:
        """The JSON body the explore API takes."""
        d = self.cleaned_data
        events = self.events()
        spec: dict[str, Any] = {"type": d["type"], "count": d["count"], "granularity": d["granularity"]}
        for name in ("start", "end"):
            if d.get(name):
                spec[name] = d[name].isoformat()
        if d.get("platform"):
            spec["platforms"] = [d["platform"]]
        if d.get("filter_property"):
            values = [v.strip() for v in d.get("filter_value", "").split(",") if v.strip()]
            spec["filters"] = [{**self._property(d["filter_property"]), "operator": d.get("filter_operator") or "=",
                                "values": values}]  # fmt: skip
        if d.get("group_by"):
            spec["group_by"] = self._property(d["group_by"])
        window = {"type": d["window_type"], "value": d.get("window_value") or 10, "unit": d["window_unit"]}
        refs = [{"event": e} for e in events]
        if d["type"] == "event":
            spec["metrics"] = [{**r, "measure": d["count"]} for r in refs]
        elif d["type"] == "funnel":
            spec |= {"steps": refs, "window": window}
        elif d["type"] == "path":
            spec |= {"start_event": refs[0] if refs and d["node"] == "event" else None, "node": d["node"],
                     "nodes": events[1:] if d["node"] == "event" else [], "session_type": d["session_type"],
                     "gap": {"type": "custom", "value": d.get("gap_minutes") or 5, "unit": "minute"}}  # fmt: skip
        elif d["type"] == "retention":
            spec |= {"pairs": [{"start": r, "revisit": {"event": d.get("revisit") or r["event"]}} for r in refs[:5]],
                     "cohort": d["cohort"]}  # fmt: skip
        else:
            spec |= {"goal": {"event": d["goal"]} if d.get("goal") else None, "touchpoints": refs,
                     "model": d["model"], "window": window}  # fmt: skip
        return spec


class CustomDashboardForm(BootstrapMixin, forms.ModelForm):
    class Meta:
        from analytics.models import CustomDashboard

        model = CustomDashboard
        fields = ["name", "description"]
        widgets = {"description": forms.Textarea(attrs={"rows": 2})}


class MetadataForm(BootstrapMixin, forms.ModelForm):
    """Only what people own: the display name and description (types, counts and platforms are scanned).
    Events and attributes share these two fields, so the one form edits both."""

    class Meta:
        from analytics.models import EventMetadata

        model = EventMetadata
        fields = ["display_name", "description"]
        widgets = {"description": forms.Textarea(attrs={"rows": 3})}
