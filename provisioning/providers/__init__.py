"""Providers make a pipeline real: `local` (this machine) and `aws` (CloudFormation stacks).

Each implements `providers.base.Provider`; `provider_for(pipeline)` picks one by the pipeline's provider.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pipelines.models import Pipeline
    from provisioning.providers.base import Provider


PROVIDERS = ("local", "aws")


def provider_available(pipeline: Pipeline) -> bool:
    return pipeline.provider in PROVIDERS


def provider_for(pipeline: Pipeline) -> Provider:
    if pipeline.provider == "local":
        from provisioning.providers.local import LocalProvider

        return LocalProvider()
    if pipeline.provider == "aws":
        from provisioning.providers.aws import AwsProvider

        return AwsProvider()
    raise NotImplementedError(f"the {pipeline.provider} provider is not available yet")
