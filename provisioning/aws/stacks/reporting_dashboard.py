"""The preset dashboard as an `AWS::QuickSight::Template` Definition: the six sheets of
spec/analytics.md §2.4 (Overview, Acquisition, Engagement, Retention, Device, Details) over the data sets of
`reporting_datasets`, with the date-range parameters and filter, the platform filter and the sheet controls.

Visuals name their data set by its key (`events`, `sessions`, …, the template's data set placeholders)
and only columns that data set declares or calculated fields defined on it; the tests walk the definition and
check every reference. Metrics that need a ratio of aggregates (rates, per-user figures) are calculated fields.

One template, one dashboard per app made from it: the definition (~65 KB) is in the stack once, so an app adds
only its data sets and a small dashboard resource.
"""

from __future__ import annotations

from typing import Any

from provisioning.aws.stacks.reporting_datasets import DATA_SETS

Json = dict[str, Any]
SHEETS = ("Overview", "Acquisition", "Engagement", "Retention", "Device", "Details")
USER_SOURCES = {  # the first-touch dimension a "User First …" choice reads (sessions data set)
    "User First Traffic Source": "first_traffic_source",
    "User First Traffic Source / Medium": "first_traffic_source_medium",
    "User First Traffic Medium": "first_traffic_medium",
    "User First Traffic Campaign": "first_traffic_campaign",
    "User First Traffic Clid Platform": "first_traffic_clid_platform",
    "User First Traffic Channel Group": "first_traffic_channel_group",
    "App First Install Source": "first_app_install_source",
}
SESSION_SOURCES = {
    "Session Traffic Source": "session_source",
    "Session Traffic Medium": "session_medium",
    "Session Traffic Source / Medium": "session_source_medium",
    "Session Traffic Campaign": "session_campaign",
    "Session Traffic Clid Platform": "session_clid_platform",
    "Session Traffic Channel Group": "session_channel_group",
}
PAGE_TYPES = ("Page Title", "Page URL Path", "Screen Name", "Screen Class")


def _choose(parameter: str, choices: dict[str, str]) -> str:
    branches = ", ".join(f"${{{parameter}}} = '{label}', {{{column}}}" for label, column in choices.items())
    return f"ifelse({branches}, NULL)"


CALCULATED: dict[str, dict[str, str]] = {  # data set → name → QuickSight expression
    "sessions": {
        "Engaged sessions per user": "sum({engaged}) / distinct_count({merged_user_id})",
        "Engagement time per user (s)": "sum({engaged_seconds}) / distinct_count({merged_user_id})",
        "Engagement time per engaged session (s)": "sum({engaged_seconds}) / sum({engaged})",
        "Engagement rate": "sum({engaged}) / count({session_id})",
        "Average engagement time per session (s)": "sum({engagement_seconds}) / count({session_id})",
        "User source": _choose("userSourceDim", USER_SOURCES),
        "Traffic source": _choose("trafficSourceDim", SESSION_SOURCES),
    },
    "events": {
        "Events per user": "distinct_count({event_id}) / distinct_count({merged_user_id})",
        "Crash rate": "distinct_count({crashed_user_id}) / distinct_count({merged_user_id})",
        "Other events": "distinct_count({event_id}) - distinct_count({view_event_id})",
    },
    "pages": {"Views per user": "distinct_count({event_id}) / distinct_count({merged_user_id})"},
    "retention": {"Retention rate": "sum({returned_users}) / sum({cohort_users})"},
    "activity": {
        "DAU / WAU": "sum({dau}) / sum({wau})",
        "DAU / MAU": "sum({dau}) / sum({mau})",
        "WAU / MAU": "sum({wau}) / sum({mau})",
    },
}


class _Sheet:
    """Collects one sheet's visuals and gives each field an id unique in the dashboard."""

    def __init__(self, sheet_id: str) -> None:
        self.sheet_id, self.n = sheet_id, 0
        self.visuals: list[Json] = []

    def _id(self) -> str:
        self.n += 1
        return f"{self.sheet_id}-f{self.n}"

    def col(self, ds: str, column: str) -> Json:
        return {"DataSetIdentifier": ds, "ColumnName": column}

    def dim(self, ds: str, column: str) -> Json:
        return {"CategoricalDimensionField": {"FieldId": self._id(), "Column": self.col(ds, column)}}

    def date(self, ds: str, column: str = "event_date", granularity: str = "DAY") -> Json:
        return {"DateDimensionField": {"FieldId": self._id(), "Column": self.col(ds, column),
                                       "DateGranularity": granularity}}  # fmt: skip

    def number(self, ds: str, column: str) -> Json:
        return {"NumericalDimensionField": {"FieldId": self._id(), "Column": self.col(ds, column)}}

    def count(self, ds: str, column: str, distinct: bool = True) -> Json:
        return {"CategoricalMeasureField": {"FieldId": self._id(), "Column": self.col(ds, column),
                                            "AggregationFunction": "DISTINCT_COUNT" if distinct else "COUNT"}}  # fmt: skip

    def total(self, ds: str, column: str, how: str = "SUM") -> Json:
        return {"NumericalMeasureField": {"FieldId": self._id(), "Column": self.col(ds, column),
                                          "AggregationFunction": {"SimpleNumericalAggregation": how}}}  # fmt: skip

    def calc(self, ds: str, name: str) -> Json:
        assert name in CALCULATED[ds], name
        return {"NumericalMeasureField": {"FieldId": self._id(), "Column": self.col(ds, name)}}

    def latest(self, ds: str, column: str) -> Json:
        return {
            "DateMeasureField": {
                "FieldId": self._id(),
                "Column": self.col(ds, column),
                "AggregationFunction": "MAX",
            }
        }

    # --- visuals ----------------------------------------------------------------------------------------

    def add(self, kind: str, vid: str, title: str, configuration: Json) -> str:
        visual_id = f"{self.sheet_id}-{vid}"
        self.visuals.append({kind: {"VisualId": visual_id, "Title": {"FormatText": {"PlainText": title}},
                                    "ChartConfiguration": configuration}})  # fmt: skip
        return visual_id

    def latest_event(self) -> str:
        """The one-cell table each sheet has (the original's "Latest refresh date"): the newest event's time."""
        value = self.latest("events", "event_timestamp_local")
        return self.add("TableVisual", "latest", "Latest event (local time)",
                        {"FieldWells": {"TableAggregatedFieldWells": {"GroupBy": [], "Values": [value]}}})  # fmt: skip

    def kpi(self, vid: str, title: str, value: Json) -> str:
        return self.add("KPIVisual", vid, title, {"FieldWells": {"Values": [value]}})

    def line(self, vid: str, title: str, x: Json, values: list[Json], color: Json | None = None) -> str:
        wells: Json = {"Category": [x], "Values": values}
        if color:
            wells["Colors"] = [color]
        return self.add(
            "LineChartVisual", vid, title, {"FieldWells": {"LineChartAggregatedFieldWells": wells}}
        )

    def bar(self, vid: str, title: str, x: Json, values: list[Json], color: Json | None = None,
            stacked: bool = False) -> str:  # fmt: skip
        wells: Json = {"Category": [x], "Values": values}
        if color:
            wells["Colors"] = [color]
        value_id = next(iter(values[0].values()))["FieldId"]
        config: Json = {"FieldWells": {"BarChartAggregatedFieldWells": wells}, "Orientation": "VERTICAL",
                        "SortConfiguration": {"CategorySort": [{"FieldSort": {"FieldId": value_id, "Direction": "DESC"}}]}}  # fmt: skip
        if stacked:
            config["BarsArrangement"] = "STACKED"
            config.pop("SortConfiguration")
        return self.add("BarChartVisual", vid, title, config)

    def pie(self, vid: str, title: str, x: Json, value: Json) -> str:
        return self.add("PieChartVisual", vid, title,
                        {"FieldWells": {"PieChartAggregatedFieldWells": {"Category": [x], "Values": [value]}}})  # fmt: skip

    def pivot(
        self, vid: str, title: str, rows: list[Json], values: list[Json], columns: list[Json] | None = None
    ) -> str:
        wells = {"Rows": rows, "Columns": columns or [], "Values": values}
        return self.add(
            "PivotTableVisual", vid, title, {"FieldWells": {"PivotTableAggregatedFieldWells": wells}}
        )

    def table(self, vid: str, title: str, ds: str, columns: list[str], sort_first_desc: bool = False) -> str:
        fields = [{"FieldId": self._id(), "Column": self.col(ds, c)} for c in columns]
        config: Json = {"FieldWells": {"TableUnaggregatedFieldWells": {"Values": fields}}}
        if sort_first_desc:
            config["SortConfiguration"] = {
                "RowSort": [{"FieldSort": {"FieldId": fields[0]["FieldId"], "Direction": "DESC"}}]
            }
        return self.add("TableVisual", vid, title, config)

    def definition(self, name: str, controls: list[Json], parameter_controls: list[Json]) -> Json:
        elements = [{"ElementId": next(iter(v.values()))["VisualId"], "ElementType": "VISUAL", "ColumnIndex": 18 * (i % 2),
                     "ColumnSpan": 18, "RowIndex": 12 * (i // 2), "RowSpan": 12} for i, v in enumerate(self.visuals)]  # fmt: skip
        sheet: Json = {"SheetId": self.sheet_id, "Name": name, "Visuals": self.visuals,
                       "Layouts": [{"Configuration": {"GridLayout": {"Elements": elements}}}]}  # fmt: skip
        if controls:
            sheet["FilterControls"] = controls
        if parameter_controls:
            sheet["ParameterControls"] = parameter_controls
        return sheet


class _Filters:
    """Filter groups of the dashboard; `scoped` visual lists are filled in as the sheets are built."""

    def __init__(self) -> None:
        self.groups: list[Json] = []

    def add(self, gid: str, flt: Json, scope: dict[str, list[str]] | None, cross: bool = False) -> None:
        if scope is None:
            configuration: Json = {"AllSheets": {}}
        else:
            configuration = {"SelectedSheets": {"SheetVisualScopingConfigurations": [
                {"SheetId": sheet, "Scope": "SELECTED_VISUALS" if visuals else "ALL_VISUALS",
                 **({"VisualIds": visuals} if visuals else {})} for sheet, visuals in scope.items()]}}  # fmt: skip
        self.groups.append({"FilterGroupId": gid, "Filters": [flt], "ScopeConfiguration": configuration,
                            "CrossDataset": "ALL_DATASETS" if cross else "SINGLE_DATASET", "Status": "ENABLED"})  # fmt: skip

    def values(self, gid: str, ds: str, column: str, scope: dict[str, list[str]], values: list[str],
               operator: str = "CONTAINS") -> None:  # fmt: skip
        self.add(gid, {"CategoryFilter": {"FilterId": gid, "Column": {"DataSetIdentifier": ds, "ColumnName": column},
                 "Configuration": {"FilterListConfiguration": {"MatchOperator": operator, "CategoryValues": values}}}}, scope)  # fmt: skip

    def top(self, gid: str, sheet: str, visual: str, ds: str, column: str, measure: str, how: str) -> None:
        """Top `topN` values of `column` by `measure` (a categorical DISTINCT_COUNT or a numerical SUM)."""
        aggregation: Json = ({"CategoricalAggregationFunction": how} if how == "DISTINCT_COUNT"
                       else {"NumericalAggregationFunction": {"SimpleNumericalAggregation": how}})  # fmt: skip
        self.add(gid, {"TopBottomFilter": {"FilterId": gid, "Column": {"DataSetIdentifier": ds, "ColumnName": column},
            "ParameterName": "topN", "AggregationSortConfigurations": [{
                "Column": {"DataSetIdentifier": ds, "ColumnName": measure}, "SortDirection": "DESC",
                "AggregationFunction": aggregation}]}}, {sheet: [visual]})  # fmt: skip


def _parameters() -> list[Json]:
    def string(name: str, default: str) -> Json:
        return {"StringParameterDeclaration": {"Name": name, "ParameterValueType": "SINGLE_VALUED",
                                               "DefaultValues": {"StaticValues": [default]}}}  # fmt: skip

    return [
        {"DateTimeParameterDeclaration": {"Name": "startDate", "TimeGranularity": "DAY", "DefaultValues": {
            "RollingDate": {"Expression": "addDateTime(-30, 'DD', truncDate('DD', now()))"}}}},
        {"DateTimeParameterDeclaration": {"Name": "endDate", "TimeGranularity": "DAY", "DefaultValues": {
            "RollingDate": {"Expression": "truncDate('DD', now())"}}}},
        string("userSourceDim", "User First Traffic Source"), string("trafficSourceDim", "Session Traffic Source"),
        string("pageScreenDim", "Page Title"),
        {"IntegerParameterDeclaration": {"Name": "topN", "ParameterValueType": "SINGLE_VALUED",
                                         "DefaultValues": {"StaticValues": [10]}}},
    ]  # fmt: skip


def _date_controls(sheet: str) -> list[Json]:
    return [{"DateTimePicker": {"ParameterControlId": f"{sheet}-start", "SourceParameterName": "startDate", "Title": "Start date"}},
            {"DateTimePicker": {"ParameterControlId": f"{sheet}-end", "SourceParameterName": "endDate", "Title": "End date"}},
            {"TextField": {"ParameterControlId": f"{sheet}-top", "SourceParameterName": "topN", "Title": "Show top N"}}]  # fmt: skip


def _dropdown(sheet: str, parameter: str, title: str, values: list[str] | tuple[str, ...]) -> Json:
    return {"Dropdown": {"ParameterControlId": f"{sheet}-{parameter}", "SourceParameterName": parameter, "Title": title,
                         "Type": "SINGLE_SELECT", "SelectableValues": {"Values": list(values)}}}  # fmt: skip


def _platform_control(sheet: str) -> Json:
    return {"Dropdown": {"FilterControlId": f"{sheet}-platform", "SourceFilterId": "platform", "Title": "Platform",
                         "Type": "MULTI_SELECT"}}  # fmt: skip


def _overview(f: _Filters) -> _Sheet:
    s = _Sheet("overview")
    s.bar(
        "lifecycle",
        "Lifecycle retention - weekly view",
        s.date("lifecycle", granularity="WEEK"),
        [s.total("lifecycle", "users")],
        color=s.dim("lifecycle", "lifecycle"),
        stacked=True,
    )
    s.pie(
        "platforms",
        "Active users by platform",
        s.dim("events", "platform"),
        s.count("events", "merged_user_id"),
    )
    _key_engagement(s)
    _active_new(s)
    s.latest_event()
    return s


def _key_engagement(s: _Sheet) -> str:
    return s.line("engagement", "Key engagement metrics", s.date("sessions"),
                  [s.calc("sessions", n) for n in ("Engaged sessions per user", "Engagement time per user (s)",
                                                   "Engagement time per engaged session (s)")])  # fmt: skip


def _active_new(s: _Sheet) -> str:
    return s.line(
        "active-new",
        "Active / new users by day",
        s.date("events"),
        [s.count("events", "merged_user_id"), s.count("events", "new_user_id")],
    )


def _acquisition(f: _Filters) -> _Sheet:
    s = _Sheet("acquisition")
    s.kpi("active", "Active users", s.count("events", "merged_user_id"))
    s.kpi("new", "New users", s.count("events", "new_user_id"))
    _active_new(s)
    hourly = [s.bar("intraday-active", "Intra-day active users (today and yesterday)", s.number("events", "event_hour"),
                    [s.count("events", "merged_user_id")], color=s.date("events")),
              s.bar("intraday-new", "Intra-day new users (today and yesterday)", s.number("events", "event_hour"),
                    [s.count("events", "new_user_id")], color=s.date("events"))]  # fmt: skip
    f.add("intraday", {"NumericRangeFilter": {"FilterId": "intraday", "NullOption": "NON_NULLS_ONLY",
          "Column": {"DataSetIdentifier": "events", "ColumnName": "days_ago"}, "IncludeMaximum": True,
          "RangeMaximum": {"StaticValue": 1}}}, {"acquisition": hourly})  # fmt: skip
    for key, calc, measure, title in (("new-by-source", "User source", "new_user_id", "New users by first traffic"),
                                      ("active-by-traffic", "Traffic source", "merged_user_id", "Active users by session traffic")):  # fmt: skip
        bar = s.bar(key, title, s.dim("sessions", calc), [s.count("sessions", measure)])
        f.top(f"top-{key}", "acquisition", bar, "sessions", calc, measure, "DISTINCT_COUNT")
        s.line(
            f"{key}-time",
            f"{title} over time",
            s.date("sessions"),
            [s.count("sessions", measure)],
            color=s.dim("sessions", calc),
        )
    s.pivot("new-metrics", "New user acquisition metrics", [s.dim("sessions", "User source")],
            [s.count("sessions", "new_user_id"), s.count("sessions", "session_id"), s.total("sessions", "engaged"),
             s.calc("sessions", "Engagement rate"), s.total("sessions", "events")])  # fmt: skip
    s.pivot("traffic-metrics", "Traffic acquisition metrics", [s.dim("sessions", "Traffic source")],
            [s.count("sessions", "merged_user_id"), s.count("sessions", "session_id"), s.total("sessions", "engaged"),
             s.calc("sessions", "Engagement rate"), s.calc("sessions", "Average engagement time per session (s)"),
             s.total("sessions", "events")])  # fmt: skip
    s.bar(
        "countries",
        "New users by country",
        s.dim("events", "geo_country"),
        [s.count("events", "new_user_id")],
    )
    s.pivot(
        "geo",
        "New users by geo location",
        [s.dim("events", "geo_country"), s.dim("events", "geo_city")],
        [s.count("events", "new_user_id")],
    )
    s.latest_event()
    return s


def _engagement(f: _Filters) -> _Sheet:
    s = _Sheet("engagement")
    _key_engagement(s)
    s.bar(
        "events-views",
        "Events and views over time",
        s.date("events"),
        [s.calc("events", "Other events"), s.count("events", "view_event_id")],
        stacked=True,
    )
    names = s.bar(
        "event-names",
        "Event count by event name",
        s.dim("events", "event_name"),
        [s.count("events", "event_id")],
    )
    f.top("top-event-names", "engagement", names, "events", "event_name", "event_id", "DISTINCT_COUNT")
    s.line(
        "event-names-time",
        "Event count by event name over time",
        s.date("events"),
        [s.count("events", "event_id")],
        color=s.dim("events", "event_name"),
    )
    s.pivot("event-details", "Event details", [s.dim("events", "event_name")],
            [s.count("events", "event_id"), s.count("events", "merged_user_id"), s.calc("events", "Events per user"),
             s.total("events", "event_value")])  # fmt: skip
    pages = [s.line("views-time", "View count by page / screen over time", s.date("pages"), [s.count("pages", "event_id")],
                    color=s.dim("pages", "aggregation_dim"))]  # fmt: skip
    for key, title, measure, how in (("views", "View count by page / screen", "event_id", "DISTINCT_COUNT"),
                                     ("entrances", "Session entry pages / screens", "entrance", "SUM"),
                                     ("exits", "Session exit pages / screens", "session_exit", "SUM")):  # fmt: skip
        value = s.count("pages", measure) if how == "DISTINCT_COUNT" else s.total("pages", measure)
        pages.append(s.bar(key, title, s.dim("pages", "aggregation_dim"), [value]))
        f.top(f"top-{key}", "engagement", pages[-1], "pages", "aggregation_dim", measure, how)
    pages.append(s.pivot("page-details", "Pages and screens details",
                         [s.dim("pages", "aggregation_type"), s.dim("pages", "aggregation_dim")],
                         [s.count("pages", "event_id"), s.count("pages", "merged_user_id"),
                          s.calc("pages", "Views per user"), s.count("pages", "session_id")]))  # fmt: skip
    f.add("page-type", {"CategoryFilter": {"FilterId": "page-type", "Column": {"DataSetIdentifier": "pages",
          "ColumnName": "aggregation_type"}, "Configuration": {"CustomFilterConfiguration": {
              "MatchOperator": "EQUALS", "ParameterName": "pageScreenDim", "NullOption": "NON_NULLS_ONLY"}}}},
          {"engagement": pages})  # fmt: skip
    s.pivot(
        "items",
        "Items",
        [s.dim("items", "item_name"), s.dim("items", "category")],
        [s.count("items", "event_id"), s.total("items", "quantity"), s.total("items", "price")],
    )
    s.latest_event()
    return s


def _retention(f: _Filters) -> _Sheet:
    s = _Sheet("retention")
    s.pivot(
        "cohorts",
        "Retention rate by first visit date and day",
        [s.date("retention", "first_date")],
        [s.calc("retention", "Retention rate")],
        columns=[s.dim("retention", "day_label")],
    )
    d1d7 = s.line(
        "by-first-visit",
        "D1 and D7 retention by first visit date",
        s.date("retention", "first_date"),
        [s.calc("retention", "Retention rate")],
        color=s.dim("retention", "day_label"),
    )
    f.values("d1-d7", "retention", "day_label", {"retention": [d1d7]}, ["01", "07"])
    s.line(
        "by-day",
        "Retention rate by returning day",
        s.number("retention", "day_diff"),
        [s.calc("retention", "Retention rate")],
    )
    s.bar(
        "new-returning",
        "New and returning users",
        s.date("events"),
        [s.count("events", "merged_user_id")],
        color=s.dim("events", "user_type"),
        stacked=True,
    )
    s.line(
        "activity",
        "User activity",
        s.date("activity"),
        [s.total("activity", c) for c in ("events", "events_7_days", "events_30_days")],
    )
    s.line(
        "stickiness",
        "User stickiness",
        s.date("activity"),
        [s.calc("activity", n) for n in ("DAU / WAU", "DAU / MAU", "WAU / MAU")],
    )
    s.bar(
        "lifecycle",
        "Lifecycle retention - weekly view",
        s.date("lifecycle", granularity="WEEK"),
        [s.total("lifecycle", "users")],
        color=s.dim("lifecycle", "lifecycle"),
        stacked=True,
    )
    s.latest_event()
    return s


def _device(f: _Filters) -> _Sheet:
    s = _Sheet("device")
    mobile = [s.line("crash-time", "App crash rate over time", s.date("events"), [s.calc("events", "Crash rate")],
                     color=s.dim("events", "platform")),
              s.pivot("crashes", "App crash rate", [s.dim("events", "platform"), s.dim("events", "app_version")],
                      [s.count("events", "merged_user_id"), s.count("events", "crashed_user_id"), s.calc("events", "Crash rate")]),
              s.bar("models", "Active users by device model", s.dim("events", "device"), [s.count("events", "merged_user_id")]),
              s.line("versions", "Active users by app version", s.date("events"), [s.count("events", "merged_user_id")],
                     color=s.dim("events", "app_version"))]  # fmt: skip
    f.values("mobile", "events", "platform", {"device": mobile}, ["Web"], operator="DOES_NOT_EQUAL")
    web = s.bar(
        "browsers",
        "Active users by browser",
        s.dim("events", "device_ua_browser"),
        [s.count("events", "merged_user_id")],
    )
    f.values("web", "events", "platform", {"device": [web]}, ["Web"], operator="EQUALS")
    screens = s.bar("screens", "Active users by device screen resolution", s.dim("events", "screen_resolution"),
                    [s.count("events", "merged_user_id")])  # fmt: skip
    f.top("top-screens", "device", screens, "events", "screen_resolution", "merged_user_id", "DISTINCT_COUNT")
    s.line(
        "platforms-time",
        "Active users by platform over time",
        s.date("events"),
        [s.count("events", "merged_user_id")],
        color=s.dim("events", "platform"),
    )
    s.pie(
        "platforms",
        "Active users by platform",
        s.dim("events", "platform"),
        s.count("events", "merged_user_id"),
    )
    s.bar(
        "os",
        "Active users by operating system and version",
        s.dim("events", "operating_system"),
        [s.count("events", "merged_user_id")],
        color=s.dim("events", "operating_system_version"),
        stacked=True,
    )
    s.latest_event()
    return s


DETAIL_FILTERS = (("user_id", "User ID"), ("user_pseudo_id", "User pseudo ID"), ("event_name", "Event name"),
                  ("app_version", "App version"), ("device_vendor_id", "Device ID"),
                  ("os_and_version", "Operating system / version"))  # fmt: skip


def _details(f: _Filters) -> tuple[_Sheet, list[Json]]:
    s = _Sheet("details")
    s.table("users", "User attributes", "events", ["user_pseudo_id", "user_id", "user_properties_json_str",
            "first_app_install_source", "first_visit_date", "first_touch_time_msec", "first_referrer",
            "first_traffic_source", "first_traffic_medium", "first_traffic_campaign", "first_traffic_channel_group"])  # fmt: skip
    s.table("events", "Event details", "events", ["event_timestamp", "event_timestamp_local", "event_id", "event_name",
            "event_bundle_sequence_id", "user_id", "user_pseudo_id", "platform", "app_id", "app_package_id", "app_version",
            "os_and_version", "device_carrier", "device_ua_browser", "device_manufacturer", "geo_country", "geo_city"],
            sort_first_desc=True)  # fmt: skip
    s.table(
        "parameters",
        "Event custom parameters",
        "events",
        ["custom_parameters_json_str", "event_id", "user_pseudo_id"],
    )
    s.latest_event()
    f.add("details-time", {"TimeRangeFilter": {"FilterId": "details-time", "NullOption": "NON_NULLS_ONLY",
          "TimeGranularity": "MINUTE", "Column": {"DataSetIdentifier": "events", "ColumnName": "event_timestamp"}}},
          {"details": []})  # fmt: skip
    controls = [{"DateTimePicker": {"FilterControlId": "details-time-control", "SourceFilterId": "details-time",
                                    "Title": "Event timestamp (UTC)", "Type": "DATE_RANGE"}}]  # fmt: skip
    for column, title in DETAIL_FILTERS:
        gid = f"details-{column.replace('_', '-')}"
        f.add(gid, {"CategoryFilter": {"FilterId": gid, "Column": {"DataSetIdentifier": "events", "ColumnName": column},
              "Configuration": {"CustomFilterConfiguration": {"MatchOperator": "EQUALS", "NullOption": "ALL_VALUES",
                                                              "SelectAllOptions": "FILTER_ALL_VALUES"}}}}, {"details": []})  # fmt: skip
        controls.append(
            {"TextField": {"FilterControlId": f"{gid}-control", "SourceFilterId": gid, "Title": title}}
        )
    return s, controls


def template_definition() -> Json:
    """The Definition of the preset dashboard's template: every app's dashboard is made from it, with the
    template's data set placeholders (the keys of `DATA_SETS`) bound to that app's data sets."""
    f = _Filters()
    built = [_overview(f), _acquisition(f), _engagement(f), _retention(f), _device(f)]
    details, detail_controls = _details(f)
    dated = [s.sheet_id for s in built]
    f.add("date-range", {"TimeRangeFilter": {"FilterId": "date-range", "NullOption": "NON_NULLS_ONLY",
          "Column": {"DataSetIdentifier": "events", "ColumnName": "event_date"}, "TimeGranularity": "DAY",
          "IncludeMinimum": True, "IncludeMaximum": True, "RangeMinimumValue": {"Parameter": "startDate"},
          "RangeMaximumValue": {"Parameter": "endDate"}}}, {sheet: [] for sheet in dated}, cross=True)  # fmt: skip
    f.add("platform", {"CategoryFilter": {"FilterId": "platform", "Column": {"DataSetIdentifier": "events",
          "ColumnName": "platform"}, "Configuration": {"FilterListConfiguration": {"MatchOperator": "CONTAINS",
              "SelectAllOptions": "FILTER_ALL_VALUES", "NullOption": "ALL_VALUES"}}}}, None, cross=True)  # fmt: skip
    extra = {"acquisition": [_dropdown("acquisition", "userSourceDim", "Select user acquisition traffic", list(USER_SOURCES)),
                             _dropdown("acquisition", "trafficSourceDim", "Select a traffic source", list(SESSION_SOURCES))],
             "engagement": [_dropdown("engagement", "pageScreenDim", "Select page / screen type", PAGE_TYPES)]}  # fmt: skip
    sheets = [s.definition(name, [_platform_control(s.sheet_id)], _date_controls(s.sheet_id) + extra.get(s.sheet_id, []))
              for s, name in zip(built, SHEETS, strict=False)]  # fmt: skip
    sheets.append(details.definition("Details", [_platform_control("details"), *detail_controls], []))
    return {
        "DataSetConfigurations": [
            {
                "Placeholder": key,
                "DataSetSchema": {
                    "ColumnSchemaList": [{"Name": name, "DataType": kind} for name, kind in spec.columns]
                },
            }
            for key, spec in DATA_SETS.items()
        ],
        "Sheets": sheets,
        "ParameterDeclarations": _parameters(),
        "FilterGroups": f.groups,
        "CalculatedFields": [
            {"DataSetIdentifier": ds, "Name": name, "Expression": expression}
            for ds, fields in CALCULATED.items()
            for name, expression in fields.items()
        ],
        "AnalysisDefaults": {
            "DefaultNewSheetConfiguration": {
                "SheetContentType": "INTERACTIVE",
                "InteractiveLayoutConfiguration": {
                    "Grid": {
                        "CanvasSizeOptions": {
                            "ScreenCanvasSizeOptions": {
                                "ResizeOption": "FIXED",
                                "OptimizedViewPortWidth": "1600px",
                            }
                        }
                    }
                },
            }
        },
        "Options": {"WeekStart": "MONDAY"},
    }
