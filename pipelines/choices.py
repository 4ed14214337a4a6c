from __future__ import annotations

from django.db import models


class Provider(models.TextChoices):
    AWS = "aws", "AWS (CloudFormation in your account)"
    LOCAL = "local", "Local (this machine)"
