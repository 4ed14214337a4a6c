"""Bootstrap classes for forms we do not build ourselves (allauth's), so every form looks the same."""

from __future__ import annotations

from django import forms, template
from django.forms.boundfield import BoundField
from django.utils.safestring import SafeString

register = template.Library()


@register.filter
def bootstrap_widget(field: BoundField) -> SafeString:
    """The field's widget with the class our own forms get from `portal.forms.BootstrapMixin`."""
    widget = field.field.widget
    if isinstance(widget, forms.CheckboxInput | forms.CheckboxSelectMultiple | forms.RadioSelect):
        css = "form-check-input"
    elif isinstance(widget, forms.Select | forms.SelectMultiple):
        css = "form-select"
    else:
        css = "form-control"
    existing = widget.attrs.get("class", "")
    if css not in existing.split():
        existing = f"{existing} {css}".strip()
    if field.errors:
        existing += " is-invalid"
    return field.as_widget(attrs={"class": existing})
