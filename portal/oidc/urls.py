from __future__ import annotations

from django.urls import path

from portal.oidc import views

urlpatterns = [
    path("authenticate/", views.AuthenticateView.as_view(), name="oidc_authentication_init"),
    path("callback/", views.CallbackView.as_view(), name="oidc_authentication_callback"),
]
