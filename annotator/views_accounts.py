"""Logging in, throttled (annotator/throttling.py), password change and reset, and the staff page of
locked logins."""

from django import forms
from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.forms.forms import NON_FIELD_ERRORS
from django.http import HttpResponseBadRequest
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from . import throttling
from .audit_log import audit_record
from .models import AuditEntry

LOCK_LOG_ENTRIES = 100


class LoginView(auth_views.LoginView):
    """Django's login, with the throttle checked before the form hashes any password."""

    redirect_authenticated_user = True

    def post(self, request, *args, **kwargs):
        self.address = throttling.client_address(request)
        self.username = throttling.username_subject(request.POST.get("username"))
        wait = throttling.locked_seconds(
            (throttling.LOGIN_USERNAME, self.username), (throttling.LOGIN_ADDRESS, self.address)
        )
        if wait:
            # An unbound form: the template reading a bound one's errors would validate it, which
            # checks the password.
            context = self.get_context_data(form=self.form_class(request), locked_minutes=-(-wait // 60))
            response = self.render_to_response(context, status=429)
            response["Retry-After"] = str(wait)
            return response
        return super().post(request, *args, **kwargs)

    def form_invalid(self, form):
        if form.has_error(NON_FIELD_ERRORS, "invalid_login"):  # a password was checked, and was wrong
            throttling.failure_record(scope=throttling.LOGIN_USERNAME, subject=self.username)
            throttling.failure_record(scope=throttling.LOGIN_ADDRESS, subject=self.address)
        return super().form_invalid(form)

    def form_valid(self, form):
        throttling.failures_forget(scope=throttling.LOGIN_USERNAME, subject=self.username)
        return super().form_valid(form)


class PasswordChangeView(auth_views.PasswordChangeView):
    """Django's password change, audited."""

    def form_valid(self, form):
        response = super().form_valid(form)
        audit_record(actor=self.request.user, project=None, action="password.change")
        return response


class PasswordResetConfirmView(auth_views.PasswordResetConfirmView):
    """Django's "set a new password" from a reset e-mail's link, audited (the user is not logged in)."""

    def form_valid(self, form):
        response = super().form_valid(form)
        audit_record(actor=form.user, project=None, action="password.reset")
        return response


class LockLiftForm(forms.Form):
    scope = forms.ChoiceField(choices=[(scope, scope) for scope in throttling.SCOPES])
    subject = forms.CharField(strip=False)


def _staff_only(user):
    if not (user.is_staff or user.is_superuser):
        raise PermissionDenied("Only staff see and lift login locks.")


@login_required
@require_GET
def login_locks(request):
    _staff_only(request.user)
    log = AuditEntry.objects.filter(project=None, action__in=("login.lockout", "login.unlock"))[:LOCK_LOG_ENTRIES]
    return render(request, "registration/locks.html", {"locks": throttling.locks_current(), "log": log})


@login_required
@require_POST
def login_lock_lift(request):
    _staff_only(request.user)
    form = LockLiftForm(request.POST)
    if not form.is_valid():
        return HttpResponseBadRequest(" ".join(f"{field}: {' '.join(errors)}" for field, errors in form.errors.items()))
    scope, subject = form.cleaned_data["scope"], form.cleaned_data["subject"]
    if throttling.lock_lift(actor=request.user, scope=scope, subject=subject):
        messages.success(request, f"Lifted the lock on {subject}.")
    else:
        messages.info(request, f"{subject} was no longer locked.")
    return redirect("login_locks")
