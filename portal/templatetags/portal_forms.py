"""Bootstrap classes for forms we do not build ourselves (allauth's), so every form looks the same."""

from __future__ import annotations

from django import template
from django.forms.boundfield import BoundField
from django.utils.safestring import SafeString

from portal.forms import bootstrap_class

register = template.Library()


@register.filter
def bootstrap_widget(field: BoundField) -> SafeString:
    """The field's widget with the class our own forms get from `portal.forms.BootstrapMixin`."""
    classes = field.field.widget.attrs.get("class", "").split()
    css = bootstrap_class(field.field.widget)
    if css not in classes:
        classes.append(css)
    if field.errors:
        classes.append("is-invalid")
    return field.as_widget(attrs={"class": " ".join(classes)})
