"""The console's own sign-in: login (throttled), logout, password change and the tenant switcher.

Any active user with a password signs in here; staff status is never needed (the admin keeps its
own login for platform operators). What a member may then do is their role in the tenant.
"""

from django.conf import settings
from django.contrib.auth import login
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.contrib.auth.forms import AuthenticationForm
from django.shortcuts import redirect, render
from django.urls import reverse, reverse_lazy
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_POST

from console import login_throttle, selectors

# The session key holding the tenant picked in the switcher (a slug).
TENANT_SESSION_KEY = "console_tenant"


def _next_url(request) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return reverse(settings.LOGIN_REDIRECT_URL)


@sensitive_post_parameters("password")
@csrf_protect
@never_cache
def login_view(request):
    """Username and password; failed attempts are limited per username and per client address."""
    next_url = _next_url(request)
    if request.method != "POST":
        if request.user.is_authenticated:
            return redirect(next_url)
        form = AuthenticationForm(request)
        return render(request, "console/account/login.html", {"form": form, "next": next_url})
    username = request.POST.get("username", "")[:150]
    address = request.META.get("REMOTE_ADDR", "")
    form = AuthenticationForm(request, data=request.POST)
    lockout = login_throttle.login_lockout(username=username, address=address)
    if lockout is not None:
        # The password is not even checked: a locked-out guess learns nothing.
        context = {"form": AuthenticationForm(request, initial={"username": username}), "next": next_url}
        response = render(request, "console/account/login.html", {**context, "lockout": lockout.message}, status=429)
        response["Retry-After"] = str(lockout.retry_after_seconds)
        return response
    if form.is_valid():
        login_throttle.login_succeeded(username=username)
        login(request, form.get_user())
        return redirect(next_url)
    login_throttle.login_failed(username=username, address=address)
    return render(request, "console/account/login.html", {"form": form, "next": next_url}, status=200)


logout_view = auth_views.LogoutView.as_view(next_page=reverse_lazy("console:login"))

password_change = auth_views.PasswordChangeView.as_view(
    template_name="console/account/password_change.html", success_url=reverse_lazy("console:password-change-done")
)
password_change_done = auth_views.PasswordChangeDoneView.as_view(
    template_name="console/account/password_change_done.html"
)


@login_required
@require_POST
def tenant_switch(request):
    """Remember the picked tenant for this session's pages (only one the user belongs to)."""
    slug = request.POST.get("tenant", "")
    if selectors.console_membership(user=request.user, tenant_slug=slug) is None:
        return render(request, "console/account/no_tenant.html", {"unknown": slug}, status=404)
    request.session[TENANT_SESSION_KEY] = slug
    return redirect("console:dashboard")


def no_tenant(request, *, unknown: str = ""):
    """The page for a signed-in user with no active tenant: what it means and what to do."""
    return render(request, "console/account/no_tenant.html", {"unknown": unknown})
