"""Write the CloudFormation templates of a project's pipeline: `<stack>.json` and `<stack>.parameters.json` each."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from pipelines.selectors import pipeline_of
from portal.models.tenancy import Organization
from projects.models import Project
from provisioning.aws.preview import pipeline_templates, stack_files
from provisioning.aws.render import RenderError


class Command(BaseCommand):
    help = "Render the pipeline's stack templates and parameters into a directory."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("org", help="Organization slug")
        parser.add_argument("project", help="Project id")
        parser.add_argument("--out", required=True, help="Directory to write into (created if missing)")

    def handle(self, *args: Any, **options: Any) -> None:
        organization = Organization.objects.filter(slug=options["org"]).first()
        if organization is None:
            raise CommandError(f"No organization {options['org']!r}.")
        project = Project.objects.for_organization(organization).filter(project_id=options["project"]).first()
        if project is None:
            raise CommandError(f"No project {options['project']!r} in {organization.slug}.")
        pipeline = pipeline_of(project=project)
        if pipeline is None or not pipeline.current_version:
            raise CommandError(f"Project {project.project_id} has no pipeline yet.")
        try:
            stacks = pipeline_templates(pipeline=pipeline)
        except RenderError as error:
            raise CommandError(str(error)) from None
        out = Path(options["out"])
        out.mkdir(parents=True, exist_ok=True)
        for name, stack in stacks.items():
            for filename, content in stack_files(name, stack).items():
                (out / filename).write_text(content)
            self.stdout.write(
                f"{name}: {len(stack.template['Resources'])} resources, {len(stack.parameters)} parameters"
            )
