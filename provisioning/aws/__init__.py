"""The AWS provider: one CloudFormation template per module stack (spec/control-plane.md §3.1–§3.3), the Python
functions those stacks run, and their packaging as content-addressed zip assets."""

# The version of the templates this code renders (the stacks' `aws-solution/version` tag). A release that
# changes the templates raises it; the next run of a pipeline's reconciler upgrades each stack to it.
TEMPLATE_VERSION = "v1.2.0"
