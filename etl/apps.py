from __future__ import annotations

from django.apps import AppConfig


class EtlConfig(AppConfig):
    """Registered so the portal can show this part's runs; the part itself never imports Django."""

    name = "etl"
