from django.contrib.auth import views as auth_views
from django.urls import path

from . import views, views_accounts, views_tokens

urlpatterns = [
    path("accounts/login/", views_accounts.LoginView.as_view(), name="login"),
    path("accounts/locks/", views_accounts.login_locks, name="login_locks"),
    path("accounts/locks/lift/", views_accounts.login_lock_lift, name="login_lock_lift"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("accounts/tokens/", views_tokens.token_list, name="token_list"),
    path("accounts/tokens/<int:token_id>/revoke/", views_tokens.token_revoke, name="token_revoke"),
    path("accounts/tokens/command-line/revoke/", views_tokens.command_line_token_revoke, name="command_line_token_revoke"),
    path("accounts/password/", views_accounts.PasswordChangeView.as_view(), name="password_change"),
    path("accounts/password/done/", auth_views.PasswordChangeDoneView.as_view(), name="password_change_done"),
    path("accounts/password/reset/", auth_views.PasswordResetView.as_view(), name="password_reset"),
    path("accounts/password/reset/sent/", auth_views.PasswordResetDoneView.as_view(), name="password_reset_done"),
    path("accounts/password/reset/<uidb64>/<token>/", views_accounts.PasswordResetConfirmView.as_view(), name="password_reset_confirm"),
    path("accounts/password/reset/done/", auth_views.PasswordResetCompleteView.as_view(), name="password_reset_complete"),
    path("", views.project_list, name="project_list"),
    path("projects/<slug:slug>/label/", views.label, name="label"),
    path("projects/<slug:slug>/mine/", views.my_judgments, name="my_judgments"),
    path("projects/<slug:slug>/mine/<int:judgment_id>/undo/", views.judgment_undo_page, name="judgment_undo"),
]
