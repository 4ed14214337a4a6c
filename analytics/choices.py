from __future__ import annotations

from django.db import models


class AttributeKind(models.TextChoices):
    EVENT_PARAMETER = "event_parameter", "Event parameter"
    USER_ATTRIBUTE = "user_attribute", "User attribute"
    EVENT_COLUMN = "event_column", "Event attribute (preset)"
    USER_COLUMN = "user_column", "User attribute (preset)"


# The explore condition category each kind is filtered with (spec §3.1).
ATTRIBUTE_CATEGORIES = {
    AttributeKind.EVENT_PARAMETER: "event",
    AttributeKind.USER_ATTRIBUTE: "user",
    AttributeKind.EVENT_COLUMN: "event_outer",
    AttributeKind.USER_COLUMN: "user_outer",
}


class ValueType(models.TextChoices):
    STRING = "string", "String"
    NUMBER = "number", "Number"
    BOOLEAN = "boolean", "Boolean"


class AnalysisType(models.TextChoices):
    EVENT = "event", "Event analysis"
    FUNNEL = "funnel", "Funnel"
    PATH = "path", "Path"
    RETENTION = "retention", "Retention"
    ATTRIBUTION = "attribution", "Attribution"
