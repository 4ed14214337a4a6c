"""The explore query spec as JSON (one serializer, used by the API and by the explore page), the custom
dashboard and metadata serializers.

Every name a spec uses is checked against the app's metadata catalog, so unknown events and attributes are
field errors, never SQL; limits follow spec/analytics.md §3.7.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from rest_framework import serializers

from analytics.base import MAX_RANGE_DAYS, PLATFORMS, Scope
from analytics.explore import (
    MAX_FILTERS,
    MAX_RETENTION_PAIRS,
    MAX_STEPS,
    OPERATORS,
    OUTER_COLUMNS,
    PATH_NODES,
    USER_OUTER_COLUMNS,
    Condition,
    EventRef,
    Metric,
    Spec,
    column_type,
)  # fmt: skip
from analytics.metadata import Catalog
from analytics.models import AttributeMetadata, CustomDashboard, EventMetadata, SavedAnalysis
from portal.api.serializers import TenantModelSerializer

UNITS = {"second": 1, "minute": 60, "hour": 3600, "day": 86400}
NO_VALUE_OPERATORS = {"is_null", "is_not_null", "true", "false"}


class ConditionSerializer(serializers.Serializer):
    category = serializers.ChoiceField(
        choices=["event_outer", "user_outer", "event", "user"], default="event_outer"
    )
    property = serializers.CharField(max_length=128)
    operator = serializers.ChoiceField(choices=OPERATORS, default="=")
    values = serializers.ListField(
        child=serializers.JSONField(), required=False, default=list, max_length=100
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        catalog: Catalog = self.context["catalog"]
        category, name = attrs["category"], attrs["property"]
        if category in ("event_outer", "user_outer"):
            known = name in (OUTER_COLUMNS if category == "event_outer" else USER_OUTER_COLUMNS)
            value_type = column_type(name)
        else:
            value_type = catalog.attributes.get((category, name), "")
            known = bool(value_type)
        if not known:
            raise serializers.ValidationError(
                {"property": f"Unknown {category.replace('_', ' ')} attribute {name!r}."}
            )
        if attrs["operator"] not in NO_VALUE_OPERATORS and not attrs["values"]:
            raise serializers.ValidationError({"values": "This operator needs a value."})
        if attrs["operator"] not in ("in", "not_in") and len(attrs["values"]) > 1:
            raise serializers.ValidationError({"values": "Only 'in' and 'not_in' take several values."})
        if value_type == "number" and attrs["operator"] not in NO_VALUE_OPERATORS:
            try:
                [float(v) for v in attrs["values"]]
            except (TypeError, ValueError):
                raise serializers.ValidationError(
                    {"values": "Values of a numeric attribute must be numbers."}
                ) from None
        attrs["value_type"] = value_type
        return attrs

    def build(self, data: dict[str, Any]) -> Condition:
        return Condition(
            data["category"], data["property"], data["operator"], tuple(data["values"]), data["value_type"]
        )


class PropertySerializer(ConditionSerializer):
    """An attribute to count, aggregate or group by: a condition without operator and values."""

    operator = serializers.HiddenField(default="is_not_null")  # type: ignore[assignment]  # fixed here
    values = serializers.HiddenField(default=list)  # type: ignore[assignment]  # fixed here


class EventRefSerializer(serializers.Serializer):
    event = serializers.CharField(max_length=255)
    filters = ConditionSerializer(many=True, required=False, default=list)
    filter_operator = serializers.ChoiceField(choices=["and", "or"], default="and")

    def validate_event(self, value: str) -> str:
        if value not in self.context["catalog"].events:
            raise serializers.ValidationError(
                f"Unknown event {value!r}: no such event has been seen in this app."
            )
        return value

    def validate_filters(self, value: list) -> list:
        if len(value) > MAX_FILTERS:
            raise serializers.ValidationError(f"At most {MAX_FILTERS} filters.")
        return value


class MetricSerializer(EventRefSerializer):
    measure = serializers.ChoiceField(
        choices=["users", "events", "count_distinct", "sum", "min", "max", "avg", "median"], default="users"
    )
    property = PropertySerializer(required=False, allow_null=True, default=None)
    label = serializers.CharField(max_length=100, required=False, default="")  # type: ignore[assignment]  # a field named like Field.label

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if attrs["measure"] not in ("users", "events") and not attrs.get("property"):
            raise serializers.ValidationError({"property": "This measure needs a property."})
        if (
            attrs["measure"] in ("sum", "min", "max", "avg", "median")
            and attrs["property"]["value_type"] != "number"
        ):
            raise serializers.ValidationError(
                {"property": "Only numeric properties can be summed or averaged."}
            )
        return attrs


class WindowSerializer(serializers.Serializer):
    type = serializers.ChoiceField(choices=["custom", "day", "session"], default="custom")
    value = serializers.IntegerField(min_value=1, required=False, default=10)
    unit = serializers.ChoiceField(choices=list(UNITS), default="minute")


class PairSerializer(serializers.Serializer):
    start = EventRefSerializer()
    revisit = EventRefSerializer()


class ExploreSpecSerializer(serializers.Serializer):
    """An exploration: its type, date range (local days, inclusive), filters, grouping and the type's fields."""

    type = serializers.ChoiceField(choices=["event", "funnel", "path", "retention", "attribution"])
    start = serializers.DateField(required=False)
    end = serializers.DateField(required=False)
    last_days = serializers.IntegerField(required=False, min_value=1, max_value=MAX_RANGE_DAYS,
                                         help_text="Instead of start/end: the last N days, today included.")  # fmt: skip
    platforms = serializers.ListField(
        child=serializers.ChoiceField(choices=PLATFORMS), required=False, default=list
    )
    granularity = serializers.ChoiceField(choices=["day", "week", "month"], default="day")
    filters = ConditionSerializer(many=True, required=False, default=list)
    filter_operator = serializers.ChoiceField(choices=["and", "or"], default="and")
    group_by = PropertySerializer(required=False, allow_null=True, default=None)
    count = serializers.ChoiceField(choices=["users", "events"], default="users")
    metrics = MetricSerializer(many=True, required=False, default=list)
    steps = EventRefSerializer(many=True, required=False, default=list)
    window = WindowSerializer(required=False, default=None)
    start_event = EventRefSerializer(required=False, allow_null=True, default=None)
    node = serializers.ChoiceField(choices=PATH_NODES, default="event")
    nodes = serializers.ListField(
        child=serializers.CharField(max_length=255), required=False, default=list, max_length=10
    )
    include_others = serializers.BooleanField(default=True)
    merge_consecutive = serializers.BooleanField(default=True)
    session_type = serializers.ChoiceField(choices=["session", "gap"], default="session")
    gap = WindowSerializer(required=False, default=None)
    max_steps = serializers.IntegerField(min_value=2, max_value=MAX_STEPS, default=10)
    pairs = PairSerializer(many=True, required=False, default=list)
    cohort = serializers.ChoiceField(choices=["day", "week"], default="day")
    periods = serializers.IntegerField(min_value=1, max_value=60, default=7)
    goal = EventRefSerializer(required=False, allow_null=True, default=None)
    goal_value = serializers.ChoiceField(choices=["count", "sum"], default="count")
    touchpoints = EventRefSerializer(many=True, required=False, default=list)
    model = serializers.ChoiceField(choices=["first", "last", "linear", "position"], default="first")
    weights = serializers.ListField(child=serializers.IntegerField(min_value=0, max_value=100), required=False,
                                    default=[40, 20, 40], min_length=3, max_length=3)  # fmt: skip

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        errors: dict[str, str] = {}
        kind = attrs["type"]
        today = self.context["today"]
        end = attrs.get("end") or today
        start = attrs.get("start") or end - timedelta(days=(attrs.get("last_days") or 7) - 1)
        if start > end:
            errors["start"] = "The start date is after the end date."
        elif (end - start).days > MAX_RANGE_DAYS:
            errors["start"] = "The date range is longer than ten years."
        attrs["start"], attrs["end"] = start, end
        if len(attrs["filters"]) > MAX_FILTERS:
            errors["filters"] = f"At most {MAX_FILTERS} filters."
        if attrs.get("group_by") and attrs["group_by"]["value_type"] != "string":
            errors["group_by"] = "Only string attributes can group results."
        if kind == "event" and not 1 <= len(attrs["metrics"]) <= MAX_STEPS:
            errors["metrics"] = f"Give 1 to {MAX_STEPS} metrics."
        if kind == "funnel" and not 2 <= len(attrs["steps"]) <= MAX_STEPS:
            errors["steps"] = f"A funnel has 2 to {MAX_STEPS} steps."
        if kind == "funnel" and attrs["window"] and attrs["window"]["type"] == "session":
            errors["window"] = "A funnel window is custom or the day."
        if kind == "path":
            if attrs.get("group_by"):
                errors["group_by"] = "Paths cannot be grouped."
            if attrs["session_type"] == "gap" and not attrs.get("gap"):
                errors["gap"] = "A gap-based path needs the gap (value and unit)."
            if attrs["node"] != "event" and len(attrs["platforms"]) != 1:
                errors["platforms"] = "Page and screen paths need exactly one platform."
        if kind == "retention" and not 1 <= len(attrs["pairs"]) <= MAX_RETENTION_PAIRS:
            errors["pairs"] = f"Give 1 to {MAX_RETENTION_PAIRS} start / revisit pairs."
        if kind == "attribution":
            if not attrs.get("goal"):
                errors["goal"] = "Attribution needs a conversion goal."
            if not 1 <= len(attrs["touchpoints"]) <= MAX_STEPS:
                errors["touchpoints"] = f"Give 1 to {MAX_STEPS} touchpoints."
            if attrs["model"] == "position" and sum(attrs["weights"]) != 100:
                errors["weights"] = "Position weights (first, middle, last) must add up to 100."
        window = attrs.get("window") or {"type": "custom", "value": 10, "unit": "minute"}
        if window["type"] == "custom" and window["value"] * UNITS[window["unit"]] > MAX_RANGE_DAYS * 86400:
            errors["window"] = "The window is longer than ten years."
        if errors:
            raise serializers.ValidationError(errors)
        attrs["window"] = window
        return attrs

    def spec(self, *, app: Any) -> Spec:
        data = self.validated_data
        cond = ConditionSerializer()

        def ref(d: dict[str, Any] | None) -> EventRef | None:
            if d is None:
                return None
            return EventRef(d["event"], tuple(cond.build(f) for f in d["filters"]), d["filter_operator"])

        window = data["window"]
        gap = data.get("gap") or {"value": 5, "unit": "minute"}
        scope = Scope(app_id=app.app_id, project_id=app.project.project_id, timezone=app.timezone,
                      start=data["start"], end=data["end"], platforms=tuple(data["platforms"]))  # fmt: skip
        return Spec(
            type=data["type"], scope=scope, granularity=data["granularity"],
            filters=tuple(cond.build(f) for f in data["filters"]), filter_operator=data["filter_operator"],
            group_by=cond.build(data["group_by"]) if data.get("group_by") else None, count=data["count"],
            metrics=tuple(Metric(m["event"], tuple(cond.build(f) for f in m["filters"]), m["filter_operator"],
                                 measure=m["measure"], property=cond.build(m["property"]) if m.get("property") else None,
                                 label=m["label"]) for m in data["metrics"]),
            steps=tuple(ref(s) for s in data["steps"]),  # type: ignore[misc]
            window_type=window["type"], window_seconds=window["value"] * UNITS[window["unit"]],
            start=ref(data.get("start_event")), node=data["node"], nodes=tuple(data["nodes"]),
            include_others=data["include_others"], merge_consecutive=data["merge_consecutive"],
            session_type=data["session_type"], gap_seconds=gap["value"] * UNITS[gap["unit"]],
            max_steps=data["max_steps"],
            pairs=tuple((ref(p["start"]), ref(p["revisit"])) for p in data["pairs"]),  # type: ignore[misc]
            cohort=data["cohort"], periods=data["periods"], goal=ref(data.get("goal")),
            goal_value=data["goal_value"], touchpoints=tuple(ref(t) for t in data["touchpoints"]),  # type: ignore[misc]
            model=data["model"], weights=tuple(data["weights"]),  # type: ignore[arg-type]
        )  # fmt: skip


class ExploreResultSerializer(serializers.Serializer):
    """The result: column names, rows (JSON values), chart data for ECharts, and how long the engine took."""

    type = serializers.CharField()
    columns = serializers.ListField(child=serializers.CharField())
    rows = serializers.ListField(child=serializers.ListField(child=serializers.JSONField()))
    chart = serializers.DictField()
    elapsed_ms = serializers.FloatField()
    cached = serializers.BooleanField()


class SheetSerializer(serializers.Serializer):
    slug = serializers.CharField()
    title = serializers.CharField()


class CustomDashboardSerializer(TenantModelSerializer):
    id = serializers.UUIDField(source="uuid", read_only=True)
    app_id = serializers.CharField(source="app.app_id", read_only=True)

    class Meta:
        model = CustomDashboard
        fields = ["id", "app_id", "name", "description", "created", "updated"]


class SavedAnalysisSerializer(TenantModelSerializer):
    id = serializers.UUIDField(source="uuid", read_only=True)
    dashboard = serializers.SlugRelatedField(
        slug_field="uuid", queryset=CustomDashboard.objects.unscoped().none()
    )

    class Meta:
        model = SavedAnalysis
        fields = ["id", "dashboard", "title", "spec", "created"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        scope, app = self.context.get("scope"), self.context.get("app")
        if scope and app:
            self.fields["dashboard"].queryset = CustomDashboard.objects.for_organization(  # type: ignore[attr-defined]
                scope["organization"]
            ).filter(app=app)

    def validate_title(self, value: str) -> str:
        if any(c in value for c in "!@#$%^&*+={}[]:;<>,.?~/'\"|"):
            raise serializers.ValidationError(
                "Titles may not contain punctuation such as ! @ # $ % < > / ' \"."
            )
        return value

    def validate_spec(self, value: Any) -> Any:
        spec = ExploreSpecSerializer(data=value, context=self.context)
        if not spec.is_valid():
            raise serializers.ValidationError(spec.errors)
        return value


class EventMetadataSerializer(TenantModelSerializer):
    id = serializers.UUIDField(source="uuid", read_only=True)

    class Meta:
        model = EventMetadata
        fields = [
            "id",
            "name",
            "display_name",
            "description",
            "count",
            "platforms",
            "first_seen",
            "last_seen",
            "scanned",
        ]
        read_only_fields = ["name", "count", "platforms", "first_seen", "last_seen", "scanned"]


class AttributeMetadataSerializer(TenantModelSerializer):
    id = serializers.UUIDField(source="uuid", read_only=True)
    category = serializers.CharField(read_only=True)

    class Meta:
        model = AttributeMetadata
        fields = ["id", "kind", "category", "name", "value_type", "display_name", "description", "count",
                  "top_values", "platforms", "events", "first_seen", "last_seen", "scanned"]  # fmt: skip
        read_only_fields = ["kind", "name", "value_type", "count", "top_values", "platforms", "events",
                            "first_seen", "last_seen", "scanned"]  # fmt: skip
