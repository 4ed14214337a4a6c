"""The AWS provider: one CloudFormation template per module stack (spec/control-plane.md §3.1–§3.3), the Python
functions those stacks run, and their packaging as content-addressed zip assets."""
