"""What one run of the job needs to know; plain data, so the CLI, the local runner and EMR share it."""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

DEFAULT_RULES_DIR = (
    Path(__file__).resolve().parent.parent.parent / "shared" / "fixtures" / "anchor-etl" / "rule_config"
)
BOT_MODES = ("drop", "keep", "flag")


@dataclass
class JobConfig:
    """Options of one run. `plugins` is the ordered list of plugin names (one transformer, then enrichers)."""

    project_id: str
    app_ids: list[str]
    plugins: list[str] = field(default_factory=lambda: ["clickstream", "traffic", "ua", "geo"])
    freshness_hours: int = 72
    user_keep_days: int = 180
    bot_mode: str = "drop"
    anonymise_ip: bool = False
    geo_mmdb: str | None = None
    rules_dir: str | None = None
    max_length: bool = True
    deduplicate: bool = True
    job_name: str = field(default_factory=lambda: f"{int(time.time())}-{uuid.uuid4().hex[:8]}")
    now_ms: int = field(default_factory=lambda: int(time.time() * 1000))

    def __post_init__(self) -> None:
        if not self.app_ids:
            raise ValueError("at least one app id is required")
        if self.bot_mode not in BOT_MODES:
            raise ValueError(f"bot_mode must be one of {BOT_MODES}")

    @property
    def created_time(self) -> str:
        return datetime.fromtimestamp(self.now_ms / 1000, UTC).strftime("%Y-%m-%d %H:%M:%S.%f")

    @property
    def process_time_iso(self) -> str:
        return datetime.fromtimestamp(self.now_ms / 1000, UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, text: str) -> JobConfig:
        return cls(**json.loads(text))
