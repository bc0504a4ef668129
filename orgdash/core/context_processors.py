from django.db import connection


def organization(request):
    tenant = getattr(request, "tenant", None) or getattr(connection, "tenant", None)
    if tenant is None or getattr(tenant, "schema_name", "public") == "public":
        return {"organization": None}
    return {"organization": tenant}
