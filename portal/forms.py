"""Form bases shared by every app: Bootstrap widgets, and validation that sees the fields the view sets."""

from __future__ import annotations

from typing import Any

from django import forms


def bootstrap_class(widget: forms.Widget) -> str:
    """The Bootstrap class of a widget: check inputs, selects, or text-like controls."""
    if isinstance(widget, forms.CheckboxInput | forms.CheckboxSelectMultiple | forms.RadioSelect):
        return "form-check-input"
    if isinstance(widget, forms.Select | forms.SelectMultiple):
        return "form-select"
    return "form-control"


class BootstrapMixin:
    """Give every widget its Bootstrap class, and mark fields with errors as invalid."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[call-arg]
        for field in self.fields.values():  # type: ignore[attr-defined]
            widget = field.widget
            widget.attrs["class"] = f"{widget.attrs.get('class', '')} {bootstrap_class(widget)}".strip()

    def full_clean(self) -> None:
        super().full_clean()  # type: ignore[misc]
        for name in self.errors:  # type: ignore[attr-defined]
            if name in self.fields:  # type: ignore[attr-defined]
                widget = self.fields[name].widget  # type: ignore[attr-defined]
                widget.attrs["class"] = f"{widget.attrs.get('class', '')} is-invalid"


class Form(BootstrapMixin, forms.Form):
    pass


class OrganizationOwnedForm(BootstrapMixin, forms.ModelForm):
    """A model form whose view sets the organization (and parent) before validation.

    Django skips uniqueness checks that involve a field the form does not show; the organization and the
    parent are set by the view, so they are validated too — a duplicate id is a field error, never an
    IntegrityError.
    """

    scoped_fields = ("organization", "project")

    def _get_validation_exclusions(self) -> set[str]:
        return super()._get_validation_exclusions() - set(self.scoped_fields)  # type: ignore[misc]
