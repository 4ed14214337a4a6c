from __future__ import annotations

from rest_framework.routers import SimpleRouter

from projects.api import views

router = SimpleRouter()
router.register(r"organizations/(?P<org>[^/.]+)/projects", views.ProjectViewSet, basename="project")
router.register(
    r"organizations/(?P<org>[^/.]+)/projects/(?P<project>[^/.]+)/apps", views.AppViewSet, basename="app"
)

urlpatterns = router.urls
