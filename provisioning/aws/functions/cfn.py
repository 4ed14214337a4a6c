"""Answering CloudFormation for a custom resource: always, once, with the reason on failure.

`custom_resource(handler)` wraps an ``on_event(request) -> (physical_id, data)`` function: whatever it does —
returns, raises, or runs out of time — CloudFormation gets SUCCESS or FAILED at the pre-signed URL, so a stack
never waits an hour on a crashed function. Standard library only (urllib), as in any Lambda runtime.
"""

from __future__ import annotations

import json
import logging
import signal
import traceback
import urllib.request
from collections.abc import Callable
from typing import Any

log = logging.getLogger(__name__)
Handler = Callable[[dict[str, Any]], tuple[str, dict[str, Any]]]


def send(request: dict[str, Any], *, status: str, physical_id: str, data: dict[str, Any] | None = None,
         reason: str = "") -> None:  # fmt: skip
    body = json.dumps({
        "Status": status,
        "Reason": (reason or "See the function's log stream.")[:3000],
        "PhysicalResourceId": physical_id,
        "StackId": request["StackId"],
        "RequestId": request["RequestId"],
        "LogicalResourceId": request["LogicalResourceId"],
        "NoEcho": False,
        "Data": data or {},
    }).encode()  # fmt: skip
    put = urllib.request.Request(request["ResponseURL"], data=body, method="PUT",
                                 headers={"Content-Type": "", "Content-Length": str(len(body))})  # fmt: skip
    with urllib.request.urlopen(put, timeout=30) as response:
        response.read()


class _OutOfTime(Exception):
    pass


def custom_resource(on_event: Handler) -> Callable[[dict[str, Any], Any], None]:
    def handler(request: dict[str, Any], context: Any) -> None:
        physical_id = request.get("PhysicalResourceId") or request["LogicalResourceId"]
        remaining = getattr(context, "get_remaining_time_in_millis", None)
        if remaining:  # answer FAILED a few seconds before Lambda would kill us silently
            signal.signal(signal.SIGALRM, _raise_out_of_time)
            signal.alarm(max(1, int(remaining() / 1000) - 5))
        try:
            physical_id, data = on_event(request)
            status, reason = "SUCCESS", ""
        except Exception as error:
            log.error("%s failed: %s", request.get("RequestType"), traceback.format_exc())
            status, reason, data = "FAILED", f"{type(error).__name__}: {error}", {}
        finally:
            if remaining:
                signal.alarm(0)
        send(request, status=status, physical_id=physical_id, data=data, reason=reason)

    return handler


def _raise_out_of_time(signum: int, frame: Any) -> None:
    raise _OutOfTime("the function ran out of time")
