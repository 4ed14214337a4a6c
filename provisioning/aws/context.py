"""What a stack builder reads besides its parameters: the spec's choices that shape a template (sink, infra
type, Redshift mode, features), the region, and where the assets live."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pipelines.spec import get


@dataclass(frozen=True)
class RenderContext:
    spec: dict[str, Any]
    project_id: str
    app_ids: tuple[str, ...]
    region: str
    # (app id, IANA zone): an app's zone is fixed once its data has arrived, so a template may depend on it
    timezones: tuple[tuple[str, str], ...] = ()

    def timezone(self, app_id: str) -> str:
        return dict(self.timezones).get(app_id) or "UTC"

    def get(self, path: str, default: Any = None) -> Any:
        return get(self.spec, path, default)

    @property
    def bucket(self) -> str:
        return str(self.get("bucket.name", ""))

    @property
    def base(self) -> str:
        """The project's root in the bucket: ``<bucket prefix>clickstream/<project>/``."""
        return f"{self.get('bucket.prefix') or ''}clickstream/{self.project_id}/"

    @property
    def lake_root(self) -> str:
        """The lake root the collector and the ETL use (``clickstream/<project>/…`` lives below it)."""
        return f"s3://{self.bucket}/{(self.get('bucket.prefix') or '').rstrip('/')}".rstrip("/")

    @property
    def asset_prefix(self) -> str:
        return f"{self.base}runtime/"

    @property
    def sink(self) -> str:
        return str(self.get("ingestion.sink.type"))

    @property
    def fargate(self) -> bool:
        return self.get("ingestion.infra_type") == "Fargate"

    @property
    def redshift_mode(self) -> str | None:
        return self.get("modeling.redshift.mode")

    @property
    def partition(self) -> str:
        return "aws-cn" if self.region.startswith("cn-") else "aws"
