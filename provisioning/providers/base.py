"""The provider interface the reconciler drives, the same for this machine and for AWS.

A provider turns a pipeline version into desired resources (`plan`), and acts on one resource at a time:
`apply` creates or updates it, `delete` removes it, `read` tells its state back. Each answers with an
`Outcome`; an action that finishes later (a CloudFormation stack) answers `IN_PROGRESS` and the reconciler
`read`s it again on its next run. Every action must be safe to repeat: a worker can die between the action
and its record, and the next run does it again.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from pipelines.models import Pipeline
    from provisioning.models import PipelineResource


@dataclass(frozen=True)
class Desired:
    """One resource as the current version wants it."""

    name: str
    kind: str
    depends_on: tuple[str, ...]
    inputs: dict[str, str]
    template_version: str = ""

    @property
    def inputs_hash(self) -> str:
        text = json.dumps([self.kind, sorted(self.depends_on), self.inputs], sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()


@dataclass(frozen=True)
class Outcome:
    """What an action or a read found: `COMPLETE`, `IN_PROGRESS`, `FAILED` (with a reason a person can act
    on) or `MISSING` (nothing there: the action never happened, so the reconciler does it again).

    `state` is the provider's own name for what it found, when it says more than the stage and the status
    (a stack in `ROLLBACK_COMPLETE` or `UPDATE_ROLLBACK_FAILED`): the reconciler records it as it is."""

    status: str
    reason: str = ""
    outputs: dict[str, Any] = field(default_factory=dict)
    state: str = ""

    @classmethod
    def complete(cls, **outputs: Any) -> Outcome:
        return cls("COMPLETE", outputs=outputs)

    @classmethod
    def failed(cls, reason: str) -> Outcome:
        return cls("FAILED", reason)


MISSING = Outcome("MISSING")


class Provider(Protocol):
    def plan(self, pipeline: Pipeline) -> list[Desired]: ...

    def apply(self, pipeline: Pipeline, desired: Desired, *, record: PipelineResource) -> Outcome: ...

    def read(self, pipeline: Pipeline, record: PipelineResource, *, deleting: bool) -> Outcome: ...

    def delete(self, pipeline: Pipeline, record: PipelineResource, *, delete_data: bool) -> Outcome: ...
