"""What an app's developers need to send events: its id, the endpoint and ready-to-copy SDK set-up."""

from __future__ import annotations

import json
from dataclasses import dataclass

from django.core.exceptions import ObjectDoesNotExist

from projects.models import App

ENDPOINT_PLACEHOLDER = "https://<your-ingestion-endpoint>/collect"


@dataclass(frozen=True)
class IntegrationGuide:
    app_id: str
    endpoint: str
    endpoint_ready: bool
    snippets: list[tuple[str, str, str]]  # (tab label, language, code)


def app_ingestion_endpoint(*, app: App) -> str | None:
    try:
        return app.project.pipeline.ingestion_endpoint or None  # type: ignore[attr-defined]
    except ObjectDoesNotExist:
        return None


def app_integration_guide(*, app: App) -> IntegrationGuide:
    endpoint = app_ingestion_endpoint(app=app)
    url = endpoint or ENDPOINT_PLACEHOLDER
    config = {
        "UserAgent": "aws-solution/clickstream",
        "Version": "1.0",
        "analytics": {
            "plugins": {
                "awsClickstreamPlugin": {
                    "appId": app.app_id,
                    "endpoint": url,
                    "isCompressEvents": True,
                    "autoFlushEventsInterval": 10000,
                    "isTrackAppExceptionEvents": False,
                }
            }
        },
    }
    return IntegrationGuide(
        app_id=app.app_id,
        endpoint=url,
        endpoint_ready=endpoint is not None,
        snippets=[
            ("Web", "javascript", _web_snippet(app.app_id, url)),
            ("Android", "kotlin", _android_snippet(json.dumps(config, indent=2))),
            ("iOS", "swift", _ios_snippet(json.dumps(config, indent=2))),
            ("HTTP API", "bash", _http_snippet(app.app_id, url)),
        ],
    )


def _web_snippet(app_id: str, url: str) -> str:
    return f"""// npm install @aws/clickstream-web
import {{ ClickstreamAnalytics }} from '@aws/clickstream-web';

ClickstreamAnalytics.init({{
  appId: '{app_id}',
  endpoint: '{url}',
}});

ClickstreamAnalytics.record({{ name: 'button_click', attributes: {{ category: 'shoes' }} }});
ClickstreamAnalytics.setUserId('user-1234');"""


def _android_snippet(config: str) -> str:
    return f"""// app/build.gradle
dependencies {{
    implementation 'software.aws.solution:clickstream:0.15.0'
}}

// app/src/main/res/raw/amplifyconfiguration.json
{config}

// Application.onCreate()
ClickstreamAnalytics.init(getApplicationContext())
ClickstreamAnalytics.recordEvent("button_click")"""


def _ios_snippet(config: str) -> str:
    return f"""// Swift Package Manager: https://github.com/awslabs/clickstream-swift
// amplifyconfiguration.json in your app bundle:
{config}

// AppDelegate.application(_:didFinishLaunchingWithOptions:)
import Clickstream
try ClickstreamAnalytics.initSDK()
ClickstreamAnalytics.recordEvent("button_click")"""


def _http_snippet(app_id: str, url: str) -> str:
    return f"""curl -X POST '{url}?appId={app_id}&platform=Web&event_bundle_sequence_id=1' \\
  -H 'Content-Type: application/json; charset=utf-8' \\
  -d '[{{"event_type": "button_click", "event_id": "'$(uuidgen)'", "app_id": "{app_id}",
        "unique_id": "device-1", "timestamp": '$(date +%s000)', "platform": "Web",
        "attributes": {{"category": "shoes"}}}}]'"""
