from django.contrib.auth import views as auth_views
from django.urls import path

from . import views

urlpatterns = [
    path("accounts/login/", auth_views.LoginView.as_view(redirect_authenticated_user=True), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("", views.project_list, name="project_list"),
    path("projects/<slug:slug>/label/", views.label, name="label"),
    path("projects/<slug:slug>/mine/", views.my_judgments, name="my_judgments"),
    path("projects/<slug:slug>/mine/<int:judgment_id>/undo/", views.judgment_undo_page, name="judgment_undo"),
]
