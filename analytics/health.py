"""The warehouse part of the health report: DuckDB answers, and each project's warehouse file opens."""

from __future__ import annotations

import duckdb

from analytics.warehouse.duckdb import warehouse_dir
from portal.health import DEGRADED, OK, PartState

MAX_FILES = 50  # a machine with more projects is checked on the first ones: the check must stay quick


def warehouse_check() -> PartState:
    with duckdb.connect(":memory:") as con:
        con.execute("SELECT 1").fetchone()
    files = sorted(warehouse_dir().glob("*.duckdb"))[:MAX_FILES]
    unreadable = []
    for path in files:
        try:  # loads swap a whole new file in, so a read-only open never meets a writer
            with duckdb.connect(str(path), read_only=True) as con:
                con.execute("SELECT count(*) FROM _load").fetchone()
        except duckdb.Error as exc:
            unreadable.append(f"{path.name}: {exc}")
    staff = {"directory": str(warehouse_dir()), "files": len(files), "unreadable": unreadable}
    if unreadable:
        return PartState(DEGRADED, f"{len(unreadable)} of {len(files)} warehouse files do not open", staff)
    loaded = f"{len(files)} loaded warehouse{'s' * (len(files) != 1)}" if files else "no data loaded yet"
    return PartState(OK, f"DuckDB {duckdb.__version__} answers; {loaded}", staff)
