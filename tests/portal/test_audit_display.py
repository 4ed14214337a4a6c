"""The audit log as people read it: values without Python reprs, a table that wraps instead of overflowing,
and a date filter that does not parse is a form error, not a silently ignored filter."""

from __future__ import annotations

import datetime
import re

import pytest

from portal.audit import display_value
from portal.models import AuditLogEntry


def log_entry(org, **changes):  # type: ignore[no-untyped-def]
    return AuditLogEntry.objects.unscoped().create(
        organization=org,
        source="ui",
        action="update",
        object_type="app",
        object_id="1",
        object_repr="web",
        changes=changes,
    )


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        (["Web", "Android"], "Web, Android"),
        ([], "—"),
        (None, "—"),
        ("", "—"),
        (True, "yes"),
        ("2026-01-31T08:30:00+00:00", "2026-01-31 08:30 UTC"),
        ("2026-01-31T10:30:00+02:00", "2026-01-31 08:30 UTC"),
        (datetime.datetime(2026, 1, 31, 8, 30, tzinfo=datetime.UTC), "2026-01-31 08:30 UTC"),
        ({"secret": "x"}, "secret: x"),
        ("plain", "plain"),
        ("x" * 500, "x" * 159 + "…"),
    ],
)
def test_values_are_shown_without_python_reprs(value, shown):
    assert display_value(value) == shown


@pytest.mark.django_db
def test_the_log_page_shows_readable_changes(cast, login):
    log_entry(cast.org_a, platforms=[["Web"], ["Web", "iOS"]], data_since=[None, "2026-01-31T08:30:00+00:00"])
    page = login(cast.alice).get("/o/org-a/audit-log/?action=update&object_type=app").content.decode()
    cell = re.search(r'<td class="wrap changes">(.*?)</td>', page, re.S).group(1)
    assert "platforms:</span> Web → Web, iOS" in cell
    assert "data since:</span> — → 2026-01-31 08:30 UTC" in cell
    assert "[" not in cell and "&#x27;" not in cell and "datetime.datetime" not in cell and "None" not in cell


@pytest.mark.django_db
def test_changed_values_are_escaped(cast, login):
    log_entry(cast.org_a, name=["<b>x</b>", "<script>alert(1)</script>"])
    page = login(cast.alice).get("/o/org-a/audit-log/?action=update").content.decode()
    assert "<script>alert(1)</script>" not in page and "&lt;script&gt;" in page


@pytest.mark.django_db
def test_long_columns_wrap_so_the_table_fits_the_page(cast, login):
    log_entry(cast.org_a, description=["", "word " * 300])
    page = login(cast.alice).get("/o/org-a/audit-log/").content.decode()
    assert '<td class="wrap">' in page and '<td class="wrap changes">' in page
    css = login(cast.alice).get("/static/css/portal.css")
    body = b"".join(css.streaming_content).decode() if css.streaming else css.content.decode()
    assert re.search(r"\.table td\.wrap \{[^}]*overflow-wrap: anywhere", body)


@pytest.mark.django_db
def test_a_bad_date_filter_is_a_form_error(cast, login):
    log_entry(cast.org_a, name=["a", "b"])
    response = login(cast.alice).get("/o/org-a/audit-log/?since=yesterday")
    assert response.status_code == 200
    page = response.content.decode()
    assert 'data-field="since"' in page and "like 2026-01-31" in page
    assert "Fix the filters to see the list" in page
    assert "b</div>" not in page  # no rows shown as if the filter had been applied


@pytest.mark.django_db
def test_a_good_date_filter_filters(cast, login):
    log_entry(cast.org_a, name=["a", "b"])
    page = login(cast.alice).get("/o/org-a/audit-log/?since=2999-01-01").content.decode()
    assert "Nothing matches these filters." in page
    page = login(cast.alice).get("/o/org-a/audit-log/?since=2000-01-01").content.decode()
    assert "→ b</div>" in page


@pytest.mark.django_db
def test_the_api_refuses_a_bad_date_filter(cast, api):
    response = api(cast.alice, cast.org_a).get("/api/v1/organizations/org-a/audit-log/?since=yesterday")
    assert response.status_code == 400 and "2026-01-31" in response.json()["since"][0]


@pytest.mark.django_db
def test_a_bad_date_filter_is_explained_in_the_htmx_table_too(cast, login):
    response = login(cast.alice).get(
        "/o/org-a/audit-log/?since=yesterday&fragment=table", HTTP_HX_REQUEST="true"
    )
    page = response.content.decode()
    assert "<nav" not in page  # the table alone, as htmx swaps it in
    assert 'data-field="since"' in page and "like 2026-01-31" in page
