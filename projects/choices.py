from __future__ import annotations

from django.db import models


class Environment(models.TextChoices):
    UNSPECIFIED = "", "Unspecified"
    DEV = "Dev", "Dev"
    TEST = "Test", "Test"
    PROD = "Prod", "Prod"


class Platform(models.TextChoices):
    WEB = "Web", "Web"
    ANDROID = "Android", "Android"
    IOS = "iOS", "iOS"
    WECHAT_MP = "WeChatMP", "WeChat Mini Program"
    FLUTTER = "Flutter", "Flutter"
    REACT_NATIVE = "ReactNative", "React Native"
