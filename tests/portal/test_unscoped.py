"""`Model.objects.unscoped()` is the only way past tenant scoping: no other way appears in the source tree.

Django admin (support staff see every organization) and migrations are exempt; so are the two framework
modules that must work for every model, each for the reason given.
"""

from __future__ import annotations

import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SOURCE_DIRS = ("portal", "projects", "pipelines", "provisioning", "analytics", "etl", "ingestion")
ESCAPES = re.compile(r"\ball_tenants\b|\b_default_manager\b|\b_base_manager\b|\.objects\.raw\(")
ALLOWED = {
    "portal/models/scoping.py": "defines the managers",
    "portal/audit.py": "snapshots the old row of any audited model, tenant-owned or not, before a save",
}


def _offenders() -> list[str]:
    found = []
    for top in SOURCE_DIRS:
        for path in sorted((REPO / top).rglob("*.py")):
            rel = path.relative_to(REPO).as_posix()
            if "/migrations/" in rel or rel.endswith("admin.py") or "/admin/" in rel or rel in ALLOWED:
                continue
            for number, line in enumerate(path.read_text().splitlines(), 1):
                if ESCAPES.search(line):
                    found.append(f"{rel}:{number}: {line.strip()}")
    return found


def test_unscoped_is_the_only_escape_from_tenant_scoping():
    assert _offenders() == [], "use Model.objects.for_organization(org), or Model.objects.unscoped()"


def test_the_check_sees_an_escape(tmp_path, monkeypatch):
    """The grep itself can fail: a file that names the default manager is reported."""
    (tmp_path / "portal").mkdir()
    (tmp_path / "portal" / "sneaky.py").write_text("rows = Project.all_tenants.all()\n")
    monkeypatch.setattr(__import__(__name__, fromlist=["REPO"]), "REPO", tmp_path)
    assert _offenders() == ["portal/sneaky.py:1: rows = Project.all_tenants.all()"]
