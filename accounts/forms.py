from django import forms
from django.contrib.auth import authenticate, get_user_model
from django.contrib.auth.forms import PasswordChangeForm, SetPasswordForm

from accounts.models import USERNAME_HINT, USERNAME_PATTERN

DEACTIVATED_MESSAGE = "Your access to this organization has been deactivated. Ask one of its admins to reactivate you."
INVALID_MESSAGE = "That e-mail and password do not match an account of this organization."


class OrgLoginForm(forms.Form):
    email = forms.EmailField(widget=forms.EmailInput(attrs={"autocomplete": "email", "autofocus": True}))
    password = forms.CharField(strip=False, widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}))

    def __init__(self, request=None, *args, **kwargs):
        self.request = request
        self.user_cache = None
        super().__init__(*args, **kwargs)

    def clean(self):
        email = self.cleaned_data.get("email")
        password = self.cleaned_data.get("password")
        if email and password:
            self.user_cache = authenticate(self.request, email=email, password=password)
            if self.user_cache is None:
                raise forms.ValidationError(self._refusal_reason(email, password))
        return self.cleaned_data

    def _refusal_reason(self, email: str, password: str) -> str:
        # The backend has already checked the password once: no second hash, so a refusal costs the
        # same for known and unknown addresses (no user enumeration by timing).
        if getattr(self.request, "orgdash_login_refused_as_deactivated", False):
            return DEACTIVATED_MESSAGE
        return INVALID_MESSAGE

    def get_user(self):
        return self.user_cache


class InviteSignupForm(forms.Form):
    """A new person accepting an invite: their name and a password (Django's password rules)."""

    name = forms.CharField(max_length=200, widget=forms.TextInput(attrs={"autocomplete": "name", "autofocus": True}))
    password1 = forms.CharField(
        label="Password", strip=False, widget=forms.PasswordInput(attrs={"autocomplete": "new-password"})
    )
    password2 = forms.CharField(
        label="Password again", strip=False, widget=forms.PasswordInput(attrs={"autocomplete": "new-password"})
    )

    def __init__(self, *args, email: str, **kwargs):
        self.email = email
        super().__init__(*args, **kwargs)

    def clean(self):
        from django.contrib.auth import password_validation

        cleaned = super().clean()
        password1, password2 = cleaned.get("password1"), cleaned.get("password2")
        if password1 and password2 and password1 != password2:
            self.add_error("password2", "The two passwords differ.")
        elif password1:
            candidate = get_user_model()(email=self.email, name=cleaned.get("name", ""))
            try:
                password_validation.validate_password(password1, candidate)
            except forms.ValidationError as error:
                self.add_error("password1", error)
        return cleaned


class InviteLoginForm(forms.Form):
    """Someone who already has an account (any org) joins by proving their password."""

    password = forms.CharField(
        strip=False, widget=forms.PasswordInput(attrs={"autocomplete": "current-password", "autofocus": True})
    )

    def __init__(self, *args, user, **kwargs):
        self.user = user
        super().__init__(*args, **kwargs)

    def clean_password(self):
        password = self.cleaned_data["password"]
        if not (self.user.is_active and self.user.check_password(password)):
            raise forms.ValidationError("That password is not right for this account.")
        return password


class PasswordResetRequestForm(forms.Form):
    email = forms.EmailField(
        label="E-mail", widget=forms.EmailInput(attrs={"autocomplete": "email", "autofocus": True})
    )


class PasswordResetSetForm(SetPasswordForm):
    """The new password from a reset link: typed twice, Django's password rules (the validators)."""

    def save(self, commit=True):
        raise NotImplementedError("accounts.password_services.password_reset_complete sets the password")


class ProfileForm(forms.Form):
    """One's own name and username (the username is unique across the instance)."""

    name = forms.CharField(max_length=200, required=False, widget=forms.TextInput(attrs={"autocomplete": "name"}))
    username = forms.RegexField(
        regex=USERNAME_PATTERN,
        max_length=150,
        error_messages={"invalid": USERNAME_HINT},
        widget=forms.TextInput(attrs={"autocomplete": "username", "spellcheck": "false"}),
    )


class ApiKeyForm(forms.Form):
    label = forms.CharField(
        max_length=100,
        required=True,
        help_text="What the key is for, e.g. “laptop” or “nightly training job”.",
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )


class ProfilePasswordForm(PasswordChangeForm):
    """Django's, without its autofocus: the profile page holds several forms, and the browser would
    jump past the others (and past a new key's secret) to this one on every load."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["old_password"].widget.attrs.pop("autofocus", None)
