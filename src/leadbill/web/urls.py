from django.contrib.auth import views as auth_views
from django.urls import path

from leadbill.web import views

app_name = "web"
urlpatterns = [
    path("", views.home, name="home"),
    path("accounts/login/", views.SignIn.as_view(), name="login"),
    path("accounts/logout/", views.sign_out, name="logout"),
    path("accounts/password/reset/", views.PasswordReset.as_view(), name="password_reset"),
    path(
        "accounts/password/reset/sent/",
        auth_views.PasswordResetDoneView.as_view(template_name="web/password_reset_sent.html"),
        name="password_reset_sent",
    ),
    path(
        "accounts/password/reset/<uidb64>/<token>/", views.PasswordResetConfirm.as_view(), name="password_reset_confirm"
    ),
    path("accounts/invitation/<uidb64>/<token>/", views.Invitation.as_view(), name="invitation"),
]
