from django.contrib import admin
from django.http import HttpRequest, JsonResponse
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from backend.llm.observability.views import metrics_view

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/llm/", include("backend.llm.api.urls")),
    path("api/", include("backend.pillars.urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="api-docs"),
    path("metrics", metrics_view, name="metrics"),
]


def _json_error(code: str, message: str, status: int) -> JsonResponse:
    body: dict[str, object] = {
        "error": {"code": code, "message": message, "context": {}, "suggestion": None}
    }
    return JsonResponse(body, status=status)


def not_found(request: HttpRequest, exception: Exception) -> JsonResponse:
    return _json_error("not_found", "Not found.", 404)


def server_error(request: HttpRequest) -> JsonResponse:
    return _json_error("internal_error", "Internal server error.", 500)


handler404 = not_found
handler500 = server_error
