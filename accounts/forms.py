from django import forms
from django.contrib.auth import authenticate, get_user_model

from accounts.models import Membership

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
        # Only someone who knows the password learns that the membership is deactivated.
        user = get_user_model().objects.filter(email__iexact=email).first()
        knows_password = user is not None and user.check_password(password)
        if knows_password and Membership.objects.filter(user=user, state=Membership.State.DEACTIVATED).exists():
            return DEACTIVATED_MESSAGE
        return INVALID_MESSAGE

    def get_user(self):
        return self.user_cache
