"""Each user's API tokens page: make a named token (its key shown once), see last uses, revoke."""

from django import forms
from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import HttpResponseBadRequest
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods, require_POST
from rest_framework.authtoken.models import Token

from . import tokens
from .models import ApiToken

NEW_KEY = "new_token_key"


class TokenForm(forms.Form):
    name = forms.CharField(
        max_length=ApiToken._meta.get_field("name").max_length,
        help_text="What the token is for, e.g. “labeling script”.",
    )


@login_required
@require_http_methods(["GET", "POST"])
def token_list(request):
    form = TokenForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        _token, key = tokens.token_create(user=request.user, name=form.cleaned_data["name"])
        # Redirect, so reloading the page makes no second token; the key waits in the server-side
        # session for that one next page and is gone from it once shown.
        request.session[NEW_KEY] = key
        return redirect("token_list")
    own, command_line = tokens.tokens_of(request.user)
    context = {
        "form": form,
        "key": request.session.pop(NEW_KEY, None),
        "tokens": own,
        "command_line": command_line,
        "cache_seconds": settings.ARBITER_TOKEN_CACHE_SECONDS,
    }
    response = render(request, "registration/tokens.html", context, status=400 if form.errors else 200)
    response["Cache-Control"] = "no-store"  # the key is in it
    return response


@login_required
@require_POST
def token_revoke(request, token_id):
    token = get_object_or_404(ApiToken, pk=token_id, user=request.user)
    tokens.token_revoke(actor=request.user, token=token)
    return redirect("token_list")


@login_required
@require_POST
def command_line_token_revoke(request):
    token = Token.objects.filter(user=request.user).first()
    if token is None:
        return HttpResponseBadRequest("You have no command-line token.")
    tokens.drf_token_revoke(actor=request.user, token=token)
    return redirect("token_list")
