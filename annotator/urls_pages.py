from django.contrib.auth import views as auth_views
from django.urls import path

from . import views, views_accounts

urlpatterns = [
    path("accounts/login/", views_accounts.LoginView.as_view(), name="login"),
    path("accounts/locks/", views_accounts.login_locks, name="login_locks"),
    path("accounts/locks/lift/", views_accounts.login_lock_lift, name="login_lock_lift"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("", views.project_list, name="project_list"),
    path("projects/<slug:slug>/label/", views.label, name="label"),
    path("projects/<slug:slug>/mine/", views.my_judgments, name="my_judgments"),
    path("projects/<slug:slug>/mine/<int:judgment_id>/undo/", views.judgment_undo_page, name="judgment_undo"),
]
