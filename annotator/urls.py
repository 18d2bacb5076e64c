from django.contrib import admin
from django.urls import include, path

from . import api_docs

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/schema/", api_docs.schema_view, name="schema"),
    path("api/docs/", api_docs.docs_view, name="api_docs"),
    path("api/v1/", include("annotator.urls_api")),
    path("api/v1/", include("rewardtrain.urls_api")),
    path("", include("rewardtrain.urls_pages")),
    path("", include("annotator.urls_lead")),
    path("", include("annotator.urls_pages")),
]

# JSON under /api/, the styled templates/<code>.html pages elsewhere (used when DEBUG is off).
handler400 = "annotator.errors.bad_request"
handler403 = "annotator.errors.permission_denied"
handler404 = "annotator.errors.page_not_found"
handler500 = "annotator.errors.server_error"
