"""The database cache table, so rate limits are shared by every worker in production even without Redis.

Made whatever the settings say (a deployment may drop REDIS_URL later); Django's createcachetable makes it.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.commands.createcachetable import Command as CreateCacheTable
from django.db import migrations


def create(apps: Any, schema_editor: Any) -> None:
    command = CreateCacheTable()
    command.verbosity = 0
    command.create_table(schema_editor.connection.alias, settings.CACHE_TABLE, False)


def drop(apps: Any, schema_editor: Any) -> None:
    schema_editor.execute(f"DROP TABLE IF EXISTS {schema_editor.quote_name(settings.CACHE_TABLE)}")


class Migration(migrations.Migration):
    dependencies = [("portal", "0003_groupmapping_approved")]

    operations = [migrations.RunPython(create, drop)]
