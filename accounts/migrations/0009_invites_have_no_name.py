"""Someone who has not joined has no name or username of their own: the API shows none (API.md),
so none is kept where the Users list searches and sorts. What an identity provider sent for them
stays in their SCIM identity."""

from django.db import migrations


def clear_names_without_account(apps, schema_editor):
    Membership = apps.get_model("accounts", "Membership")
    Membership.objects.filter(user__isnull=True).exclude(name=None, username=None).update(name=None, username=None)


class Migration(migrations.Migration):
    dependencies = [("accounts", "0008_apikey_scim_kind_deactivated_invites")]

    operations = [migrations.RunPython(clear_names_without_account, migrations.RunPython.noop)]
