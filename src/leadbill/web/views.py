"""Sign in (throttled), sign out, password reset (throttled), accepting an invitation, and the home redirect."""

from __future__ import annotations

import logging
from typing import Any

from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse, reverse_lazy

from leadbill.console.views.start import start as console_start
from leadbill.web import throttle
from leadbill.web.access import is_partner_user

log = logging.getLogger(__name__)


class SignIn(auth_views.LoginView):
    """Django's sign-in with a pause after repeated failures for an account or an address."""

    template_name = "web/login.html"
    redirect_authenticated_user = True

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        username = request.POST.get("username", "")
        wait = throttle.wait_seconds(username, throttle.client_address(request))
        if wait:
            form = self.get_form()
            minutes = max(1, round(wait / 60))
            form.errors.clear()
            form.add_error(
                None, f"Too many failed sign-ins. Try again in about {minutes} minute{'s' * (minutes != 1)}."
            )
            return self.render_to_response(self.get_context_data(form=form), status=429)
        return super().post(request, *args, **kwargs)

    def form_invalid(self, form: Any) -> HttpResponse:
        throttle.failure_record(self.request.POST.get("username", ""), throttle.client_address(self.request))
        return super().form_invalid(form)

    def form_valid(self, form: Any) -> HttpResponse:
        throttle.failures_clear(form.get_user().get_username())
        return super().form_valid(form)

    def get_default_redirect_url(self) -> str:
        """No `next`: partner users to the portal, staff to /console/ (their entity, or a choice of them)."""
        return reverse("portal:invoices" if is_partner_user(self.request.user) else "console:start")


def home(request: HttpRequest) -> HttpResponse:
    """The start page does what /console/ does: staff to their entity (or a choice), partner users to the portal."""
    return console_start(request)


class Invitation(auth_views.PasswordResetConfirmView):
    """An invitation link: the invited person chooses a password and is signed in."""

    template_name = "web/invitation.html"
    post_reset_login = True
    success_url = reverse_lazy("web:home")

    def form_valid(self, form: Any) -> HttpResponse:
        response = super().form_valid(form)
        messages.success(self.request, "Welcome to Leadbill. Your password is set.")
        return response


class PasswordReset(auth_views.PasswordResetView):
    """Django's password reset, throttled per account and per address like sign-in.

    Every request counts, whether or not the address has a login, and a throttled request
    gets the same "check your email" page as any other: only no email is sent. So neither
    the page nor the throttle tells whether an account exists.
    """

    template_name = "web/password_reset.html"
    email_template_name = "web/email/password_reset.txt"
    subject_template_name = "web/email/password_reset_subject.txt"
    success_url = reverse_lazy("web:password_reset_sent")

    def form_valid(self, form: Any) -> HttpResponse:
        email = form.cleaned_data["email"]
        address = throttle.client_address(self.request)
        if throttle.wait_seconds(email, address, throttle.PASSWORD_RESET):
            log.warning("password reset throttled for %s from %s: no email sent", throttle.account_key(email), address)
            return HttpResponseRedirect(self.get_success_url())
        throttle.failure_record(email, address, throttle.PASSWORD_RESET)
        return super().form_valid(form)


class PasswordResetConfirm(auth_views.PasswordResetConfirmView):
    template_name = "web/password_reset_confirm.html"
    success_url = reverse_lazy("web:login")

    def form_valid(self, form: Any) -> HttpResponse:
        response = super().form_valid(form)
        messages.success(self.request, "Your password is changed. Sign in with it.")
        return response


def sign_out(request: HttpRequest) -> HttpResponse:
    """POST only (a link must not sign anyone out); GET shows the button."""
    if request.method == "POST":
        return auth_views.LogoutView.as_view()(request)
    return HttpResponseRedirect(reverse("web:home"))
