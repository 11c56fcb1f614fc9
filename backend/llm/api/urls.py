from django.urls import path
from rest_framework.routers import SimpleRouter

from .views import ExecuteView, ModelsView, OperationsView, RunViewSet

router = SimpleRouter()
router.register("runs", RunViewSet, basename="llm-run")

urlpatterns = [
    path("execute/", ExecuteView.as_view(), name="llm-execute"),
    path("operations/", OperationsView.as_view(), name="llm-operations"),
    path("models/", ModelsView.as_view(), name="llm-models"),
    *router.urls,
]
