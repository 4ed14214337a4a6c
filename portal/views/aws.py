"""AWS account connections: an admin adds a role ARN, deploys our role template, and tests the connection.

Operators (who configure pipelines in these accounts) may see the connections and test them; only admins add,
change or remove them.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.forms import ModelForm
from django.http import HttpRequest, HttpResponse
from django.urls import reverse

from portal import aws_accounts, tables
from portal.filtersets import AwsAccountFilterSet
from portal.forms import OrganizationOwnedForm
from portal.models import AwsAccount
from portal.roles import Perm
from portal.views import generic
from portal.views.base import OrganizationAccess, current_user


class AwsAccountTable(tables.Table):
    columns = (
        tables.Column("name", "Name", order_by="name", link=True),
        tables.Column("account_id", "Account"),
        tables.Column("region", "Region", order_by="region"),
        tables.Column("last_test_ok", "Last test", value=lambda a: _test_label(a), order_by="last_test_ok"),
        tables.Column("last_tested_at", "Tested", order_by="last_tested_at"),
    )
    default_sort = "name"


def _test_label(account: AwsAccount) -> str:
    return {True: "passed", False: "failed", None: "not tested"}[account.last_test_ok]


class AwsAccountForm(OrganizationOwnedForm):
    class Meta:
        model = AwsAccount
        fields = ["name", "role_arn", "region"]


class AwsAccountMixin(OrganizationAccess):
    model = AwsAccount
    read_permission = Perm.MANAGE_PROJECTS
    write_permission = Perm.MANAGE_ORGANIZATION

    def get_success_url(self) -> str:
        return reverse("awsaccount_list", kwargs={"org": self.organization.slug})


class AwsAccountListView(AwsAccountMixin, generic.ObjectListView[AwsAccount]):
    table = AwsAccountTable
    filterset_class = AwsAccountFilterSet
    create_url_name = "awsaccount_add"


class AwsAccountDetailView(AwsAccountMixin, generic.ObjectDetailView[AwsAccount]):
    """The connection, its role template, and "Test connection" (a POST, open to operators too)."""

    template_name = "portal/awsaccount_detail.html"
    write_permission = Perm.MANAGE_PROJECTS  # testing writes only the test's outcome

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        url = aws_accounts.template_url()
        context.update(
            principal=aws_accounts.principal_arn(),
            quick_create_url=aws_accounts.quick_create_url(account=self.object, url=url) if url else "",
            can_manage=self.membership.has_perm(Perm.MANAGE_ORGANIZATION),
            stack_name=aws_accounts.STACK_NAME,
        )
        return context

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        account = self.get_object()
        result = aws_accounts.aws_account_test(account=account)
        (messages.success if result.ok else messages.error)(request, result.message)
        return generic.redirect(request, account.get_absolute_url())


class AwsAccountTemplateView(AwsAccountMixin, generic.ObjectDetailView[AwsAccount]):
    """The role template as a file, with this connection's values as parameter defaults."""

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        account = self.get_object()
        response = HttpResponse(
            aws_accounts.template_body(account=account), content_type="application/x-yaml"
        )
        response["Content-Disposition"] = f'attachment; filename="{aws_accounts.STACK_NAME}.yaml"'
        return response


class AwsAccountEditView(AwsAccountMixin, generic.ObjectEditView[AwsAccount]):
    form_class = AwsAccountForm
    read_permission = Perm.MANAGE_ORGANIZATION

    def save_object(self, form: ModelForm) -> AwsAccount:
        if form.instance._state.adding:
            form.instance.created_by = current_user(self.request)
        return form.save()


class AwsAccountDeleteView(AwsAccountMixin, generic.ObjectDeleteView[AwsAccount]):
    read_permission = Perm.MANAGE_ORGANIZATION
