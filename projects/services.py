"""What an app's developers need to send events: its id, the endpoint and ready-to-copy SDK set-up for each
of the app's platforms, as the original's app page offers them (spec/control-plane.md, app detail)."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ObjectDoesNotExist
from django.db import transaction
from django.utils import timezone

from projects.choices import Platform
from projects.models import App, Project
from projects.signals import project_delete_requested

ENDPOINT_PLACEHOLDER = "https://<your-ingestion-endpoint>/collect"
SDK_CONFIG_FILENAME = "amplifyconfiguration.json"
ANDROID_SDK_VERSION = "0.15.0"


class DeleteRefused(Exception):
    """A receiver of `project_delete_requested` refuses the deletion (its pipeline is busy): the message says
    what to wait for."""


class ProjectDeleting(Exception):
    """The project is being deleted: it and its apps take no changes."""


def project_delete(*, project: Project) -> bool:
    """Delete the project with its apps; True when it is gone.

    A project with a pipeline is marked deleting instead, and its pipeline's deletion is requested (a signal:
    the provider deletes every resource, reporting each and retrying failures, then removes the pipeline and
    this project). False then. Asking again while it is deleting asks for the pipeline's deletion again.
    """
    with transaction.atomic():
        locked = Project.objects.unscoped().select_for_update().get(pk=project.pk)
        if not locked.has_pipeline:
            locked.delete()
            return True
        if locked.delete_requested is None:
            locked.delete_requested = timezone.now()
            locked.save(update_fields=["delete_requested", "updated"])
        project_delete_requested.send(sender=Project, project=locked)
    project.delete_requested = locked.delete_requested
    return False


def project_change_check(*, project: Project) -> None:
    """Refuse a change to a deleting project or to its apps."""
    if Project.objects.unscoped().filter(pk=project.pk, delete_requested__isnull=False).exists():
        raise ProjectDeleting(
            f"Project {project} is being deleted: its pipeline's resources are deleted first, then the "
            "project and its apps. It cannot be changed. If a resource's delete failed, retry it on the "
            "project's page."
        )


@dataclass(frozen=True)
class SdkTab:
    platform: str  # a Platform value, or "HTTP"
    label: str
    language: str
    code: str
    offers_config_file: bool = False  # Android and iOS read amplifyconfiguration.json, downloadable


@dataclass(frozen=True)
class IntegrationGuide:
    app_id: str
    endpoint: str
    endpoint_ready: bool
    tabs: list[SdkTab]
    all_platforms: bool  # the app names no platform, so every SDK is shown


def app_ingestion_endpoint(*, app: App) -> str | None:
    try:
        return app.project.pipeline.ingestion_endpoint or None  # type: ignore[attr-defined]
    except ObjectDoesNotExist:
        return None


def app_sdk_config(*, app: App) -> dict[str, Any]:
    """The `amplifyconfiguration.json` the Android and Swift SDKs read at start-up, for this app."""
    return {
        "UserAgent": "aws-solution/clickstream",
        "Version": "1.0",
        "analytics": {
            "plugins": {
                "awsClickstreamPlugin": {
                    "appId": app.app_id,
                    "endpoint": app_ingestion_endpoint(app=app) or ENDPOINT_PLACEHOLDER,
                    "isCompressEvents": True,
                    "autoFlushEventsInterval": 10000,
                    "isTrackAppExceptionEvents": False,
                }
            }
        },
    }


def app_integration_guide(*, app: App) -> IntegrationGuide:
    """One tab per platform of the app, in the app's order (every SDK when it names none), then HTTP."""
    endpoint = app_ingestion_endpoint(app=app)
    url = endpoint or ENDPOINT_PLACEHOLDER
    config = json.dumps(app_sdk_config(app=app), indent=2)
    chosen = [p for p in app.platforms or [] if p in SNIPPETS]
    platforms = chosen or list(SNIPPETS)
    tabs = [
        SdkTab(
            platform=p,
            label=Platform(p).label,
            language=SNIPPETS[p][0],
            code=SNIPPETS[p][1](app.app_id, url, config),
            offers_config_file=p in (Platform.ANDROID, Platform.IOS),
        )
        for p in platforms
    ]
    tabs.append(SdkTab("HTTP", "HTTP API", "bash", _http(app.app_id, url, http_platform(platforms[0]))))
    return IntegrationGuide(
        app_id=app.app_id,
        endpoint=url,
        endpoint_ready=endpoint is not None,
        tabs=tabs,
        all_platforms=not chosen,
    )


def http_platform(platform: str) -> str:
    """The `platform` query value an SDK of this platform sends; Flutter and React Native wrap the native
    Android and iOS SDKs, so their requests say Android (or iOS)."""
    return Platform.ANDROID if platform in (Platform.FLUTTER, Platform.REACT_NATIVE) else platform


def _web(app_id: str, url: str, config: str) -> str:
    return f"""// npm install @aws/clickstream-web
import {{ ClickstreamAnalytics }} from '@aws/clickstream-web';

ClickstreamAnalytics.init({{
  appId: '{app_id}',
  endpoint: '{url}',
}});

ClickstreamAnalytics.record({{ name: 'button_click', attributes: {{ category: 'shoes' }} }});
ClickstreamAnalytics.setUserId('user-1234');
ClickstreamAnalytics.setUserAttributes({{ userName: 'carl', userAge: 22 }});"""


def _android(app_id: str, url: str, config: str) -> str:
    return f"""// app/build.gradle
dependencies {{
    implementation 'software.aws.solution:clickstream:{ANDROID_SDK_VERSION}'
}}

// app/src/main/res/raw/{SDK_CONFIG_FILENAME} (download it above)
{config}

// Application.onCreate()
import software.aws.solution.clickstream.ClickstreamAnalytics
import software.aws.solution.clickstream.ClickstreamEvent

ClickstreamAnalytics.init(applicationContext)
ClickstreamAnalytics.recordEvent(
    ClickstreamEvent.builder().name("button_click").add("category", "shoes").build()
)
ClickstreamAnalytics.setUserId("user-1234")"""


def _ios(app_id: str, url: str, config: str) -> str:
    return f"""// Xcode: File > Add Package Dependencies… https://github.com/awslabs/clickstream-swift
// {SDK_CONFIG_FILENAME} in your app's bundle (download it above):
{config}

// AppDelegate.application(_:didFinishLaunchingWithOptions:)
import Clickstream

do {{
    try ClickstreamAnalytics.initSDK()
}} catch {{
    assertionFailure("Fail to initialize ClickstreamAnalytics: \\(error)")
}}
ClickstreamAnalytics.recordEvent("button_click", ["category": "shoes"])
ClickstreamAnalytics.setUserId("user-1234")"""


def _flutter(app_id: str, url: str, config: str) -> str:
    return f"""// flutter pub add clickstream_analytics
import 'package:clickstream_analytics/clickstream_analytics.dart';

final analytics = ClickstreamAnalytics();
analytics.init(
  appId: "{app_id}",
  endpoint: "{url}",
);

analytics.record(name: 'button_click', attributes: {{"category": "shoes"}});
analytics.setUserId("user-1234");"""


def _react_native(app_id: str, url: str, config: str) -> str:
    return f"""// npm install @aws/clickstream-react-native && (cd ios && pod install)
// index.js
import {{ ClickstreamAnalytics }} from '@aws/clickstream-react-native';

ClickstreamAnalytics.init({{
  appId: '{app_id}',
  endpoint: '{url}',
}});

ClickstreamAnalytics.record({{ name: 'button_click', attributes: {{ category: 'shoes' }} }});
ClickstreamAnalytics.setUserId('user-1234');"""


def _wechat(app_id: str, url: str, config: str) -> str:
    return f"""// Download clickstream-wechat.min.js from https://github.com/awslabs/clickstream-wechat/releases
// into your mini program, and add the endpoint's domain to its trusted request domains.
// app.ts, before App():
import {{ ClickstreamAnalytics }} from './clickstream-wechat';

ClickstreamAnalytics.init({{
  appId: '{app_id}',
  endpoint: '{url}',
}});

ClickstreamAnalytics.record({{ name: 'button_click', attributes: {{ category: 'shoes' }} }});
ClickstreamAnalytics.setUserId('user-1234');"""


def _http(app_id: str, url: str, platform: str) -> str:
    return f"""curl -X POST '{url}?appId={app_id}&platform={platform}&event_bundle_sequence_id=1' \\
  -H 'Content-Type: application/json; charset=utf-8' \\
  -d '[{{"event_type": "button_click", "event_id": "'$(uuidgen)'", "app_id": "{app_id}",
        "unique_id": "device-1", "timestamp": '$(date +%s000)', "platform": "{platform}",
        "attributes": {{"category": "shoes"}}}}]'"""


# Platform → (code language, snippet). The order is the tabs' order for an app that names no platform.
SNIPPETS: dict[str, tuple[str, Callable[[str, str, str], str]]] = {
    Platform.WEB: ("javascript", _web),
    Platform.ANDROID: ("kotlin", _android),
    Platform.IOS: ("swift", _ios),
    Platform.FLUTTER: ("dart", _flutter),
    Platform.REACT_NATIVE: ("javascript", _react_native),
    Platform.WECHAT_MP: ("typescript", _wechat),
}
