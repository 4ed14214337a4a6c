"""ServiceCatalogAppRegistry: the AppRegistry application every other stack associates with, and its
`awsApplication` tag (spec/control-plane.md §3.15)."""

from __future__ import annotations

from troposphere import GetAtt, Sub
from troposphere import servicecatalogappregistry as sc

from provisioning.aws.common import Stack, unique_name
from provisioning.aws.context import RenderContext


def build(ctx: RenderContext) -> Stack:
    s = Stack("ServiceCatalogAppRegistry", "AppRegistry application of the pipeline", registry=False)
    s.param("ProjectId", description="Project id", pattern=r"^[a-z][a-z0-9_]{0,126}$")
    app = s.add(sc.Application("Application", Name=unique_name("clickstream-analytics-${ProjectId}-${PipelineKey}-${AWS::Region}"),
                               Description=Sub("Clickstream analytics of project ${ProjectId}"),
                               Tags={"aws-solution/clickstream/project": Sub("${ProjectId}")}))  # fmt: skip
    s.add(sc.ResourceAssociation("StackAssociation", Application=GetAtt(app, "Id"),
                                 Resource=Sub("${AWS::StackId}"), ResourceType="CFN_STACK"))  # fmt: skip
    s.output("ServiceCatalogAppRegistryApplicationArn", GetAtt(app, "Arn"))
    s.output("ServiceCatalogAppRegistryApplicationTagKey", GetAtt(app, "ApplicationTagKey"))
    s.output("ServiceCatalogAppRegistryApplicationTagValue", GetAtt(app, "ApplicationTagValue"))
    return s
