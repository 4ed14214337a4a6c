"""Running an exploration and shaping its rows for the table, the chart and CSV."""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from typing import Any

from analytics.dashboards import jsonable
from analytics.explore import Spec, explore_query
from analytics.warehouse import Warehouse


def explore_run(*, spec: Spec, warehouse: Warehouse) -> dict[str, Any]:
    result = warehouse.run(explore_query(spec), app_id=spec.scope.app_id)
    rows = result.dicts()
    shaped = SHAPERS[spec.type](spec, rows)
    columns = list(shaped[0]) if shaped else result.columns
    return {
        "type": spec.type, "columns": columns, "rows": [[jsonable(r.get(c)) for c in columns] for r in shaped],
        "chart": CHARTS[spec.type](spec, shaped), "elapsed_ms": round(result.elapsed_ms, 1), "cached": result.cached,
    }  # fmt: skip


def _event_rows(spec: Spec, rows: list[dict]) -> list[dict]:
    return rows


def _funnel_rows(spec: Spec, rows: list[dict]) -> list[dict]:
    """One row per group and step: count, conversion from the previous step and from the first."""
    out = []
    for r in rows:
        first = r["step_1"] or 0
        for k, step in enumerate(spec.steps, start=1):
            count, previous = r[f"step_{k}"], r[f"step_{k - 1}"] if k > 1 else r["step_1"]
            out.append({"group": r["grp"], "step": k, "event": step.event, "count": count,
                        "rate_from_previous": round(count / previous, 4) if previous else None,
                        "rate_from_first": round(count / first, 4) if first else None})  # fmt: skip
    return out


def _retention_rows(spec: Spec, rows: list[dict]) -> list[dict]:
    sizes = {(r["pair"], r["cohort"]): r["users"] for r in rows if r["period"] == -1}
    return [{"pair": r["pair"], "cohort": r["cohort"], "cohort_users": sizes[(r["pair"], r["cohort"])],
             "period": r["period"], "users": r["users"],
             "rate": round(r["users"] / sizes[(r["pair"], r["cohort"])], 4)}
            for r in rows if r["period"] >= 0]  # fmt: skip


def _same(spec: Spec, rows: list[dict]) -> list[dict]:
    return rows


def _event_chart(spec: Spec, rows: list[dict]) -> dict[str, Any]:
    xs = sorted({r["period"] for r in rows})
    series: dict[str, list] = defaultdict(lambda: [None] * len(xs))
    for r in rows:
        name = r["metric"] if r["grp"] == "all" else f"{r['metric']} · {r['grp']}"
        series[name][xs.index(r["period"])] = r["value"]
    return {
        "kind": "line",
        "x": [jsonable(x) for x in xs],
        "series": [{"name": k, "data": v} for k, v in series.items()],
    }


def _funnel_chart(spec: Spec, rows: list[dict]) -> dict[str, Any]:
    if spec.group_by:
        groups = sorted({r["group"] for r in rows})
        xs = [f"{s.event}" for s in spec.steps]
        series = [{"name": g, "data": [r["count"] for r in rows if r["group"] == g]} for g in groups]
        return {"kind": "bar", "x": xs, "series": series}
    return {
        "kind": "funnel",
        "slices": [{"name": f"{r['step']} {r['event']}", "value": r["count"]} for r in rows],
    }


def _path_chart(spec: Spec, rows: list[dict]) -> dict[str, Any]:
    names: dict[str, None] = {}
    links = []
    for r in rows:
        source, target = f"{r['step']} · {r['source']}", f"{r['step'] + 1} · {r['target']}"
        names.setdefault(source)
        names.setdefault(target)
        links.append({"source": source, "target": target, "value": r["value"]})
    return {"kind": "sankey", "nodes": [{"name": n} for n in names], "links": links}


def _retention_chart(spec: Spec, rows: list[dict]) -> dict[str, Any]:
    """Average rate per period over the cohorts, one line per pair."""
    periods = sorted({r["period"] for r in rows})
    series = []
    for pair in sorted({r["pair"] for r in rows}):
        mine = [r for r in rows if r["pair"] == pair]
        data = []
        for p in periods:
            rates = [r["rate"] for r in mine if r["period"] == p]
            data.append(round(sum(rates) / len(rates), 4) if rates else None)
        series.append({"name": pair, "data": data})
    return {"kind": "line", "x": periods, "series": series}


def _table(spec: Spec, rows: list[dict]) -> dict[str, Any]:
    return {"kind": "table"}


SHAPERS = {"event": _event_rows, "funnel": _funnel_rows, "path": _same, "retention": _retention_rows,
           "attribution": _same}  # fmt: skip
CHARTS = {"event": _event_chart, "funnel": _funnel_chart, "path": _path_chart, "retention": _retention_chart,
          "attribution": _table}  # fmt: skip


def result_csv(result: dict[str, Any]) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(result["columns"])
    writer.writerows(result["rows"])
    return out.getvalue()


def explore_json(*, app: Any, body: dict[str, Any]) -> tuple[dict[str, Any] | None, dict[str, Any]]:
    """Validates the explore API's JSON body for the app and runs it: (result, {}) or (None, errors)."""
    from datetime import datetime
    from zoneinfo import ZoneInfo

    from analytics.api.serializers import ExploreSpecSerializer
    from analytics.metadata import Catalog
    from analytics.warehouse import NoData, WarehouseError, warehouse_for

    today = datetime.now(ZoneInfo(app.timezone)).date()
    serializer = ExploreSpecSerializer(data=body, context={"catalog": Catalog.for_app(app), "today": today})
    if not serializer.is_valid():
        return None, dict(serializer.errors)
    try:
        return explore_run(spec=serializer.spec(app=app), warehouse=warehouse_for(app.project)), {}
    except (NoData, WarehouseError) as exc:
        return None, {"detail": [str(exc)]}
