"""SCIM filters (RFC 7644 §3.4.2.2) as Django queries on memberships.

The filter string is parsed and type-checked by ``scim2-models`` (``ScimFilter``); this module only
walks the syntax tree it produces. Supported: ``eq`` on ``userName``, ``externalId``, ``emails``
/ ``emails.value``, ``active`` and ``id``, joined by ``and``, ``or`` and ``not``. Anything else is
an ``invalidFilter`` error naming what is not supported.

``userName`` and ``externalId`` are point lookups on their own table, resolved to membership ids
first: each is one index probe, and the list query stays a plain primary-key scan.
"""

from django.db.models import Q
from django.db.models.functions import Lower
from scim2_models import InvalidFilterException, InvalidValueException, ScimFilter
from scim2_models.path import (
    CompareOperator,
    Comparison,
    FilterVisitor,
    LogicalExpr,
    LogicalOperator,
    Not,
    coerce_value,
)

from accounts.models import Membership
from scim.models import ScimIdentity
from scim.schema import RequestUser
from scim.selectors import membership_pk_of

SUPPORTED = "eq on userName, externalId, emails.value, active and id, joined by and/or/not"


def parse_filter(text: str) -> Q:
    """The memberships a filter selects, or InvalidFilterException."""
    if "\x00" in text:
        raise InvalidValueException(detail="'filter' cannot contain a NUL character.")
    try:
        parsed = ScimFilter[RequestUser](text)
    except InvalidFilterException:
        raise
    except (ValueError, TypeError) as error:
        raise InvalidFilterException(detail=f"Invalid filter: {error}") from error
    return _ToQuery(parsed).visit(parsed.ast)


def user_name_ids(value: str) -> list[int]:
    """Memberships whose ``userName`` is ``value`` (case-insensitive, RFC 7643 §4.1.1): a SCIM
    identity's own name, or the e-mail of a member who has none."""
    ids = list(
        ScimIdentity.objects.annotate(lower_name=Lower("user_name"))
        .filter(lower_name=value.lower(), deleted_at=None)
        .values_list("membership_id", flat=True)
    )
    # E-mails are stored lower-cased by the services; the exact forms keep the lookup on the index.
    ids += Membership.objects.filter(email__in={value, value.lower()}, scim_identity__isnull=True).values_list(
        "id", flat=True
    )
    return ids


class _ToQuery(FilterVisitor[Q]):
    def __init__(self, parsed: ScimFilter):
        self.parsed = parsed

    def visit_logical_expr(self, node: LogicalExpr) -> Q:
        queries = [self.visit(term) for term in node.terms]
        combined = queries[0]
        for query in queries[1:]:
            combined = combined & query if node.op == LogicalOperator.and_ else combined | query
        return combined

    def visit_not(self, node: Not) -> Q:
        return ~self.visit(node.expr)

    def visit_present(self, node) -> Q:
        raise InvalidFilterException(detail=f"'pr' is not supported; filters support {SUPPORTED}.")

    def visit_value_path(self, node) -> Q:
        raise InvalidFilterException(detail=f"'{node}' is not supported; filters support {SUPPORTED}.")

    def visit_comparison(self, node: Comparison) -> Q:
        binding = self.parsed.resolve_comparison(node.attr_path, strict=True)
        name = (
            binding.field_name if binding.sub_field_name is None else f"{binding.field_name}.{binding.sub_field_name}"
        )
        if node.op != CompareOperator.eq:
            raise InvalidFilterException(detail=f"'{node.op.value}' is not supported; filters support {SUPPORTED}.")
        value = coerce_value(binding, node.value, node.op)
        if isinstance(value, str) and "\x00" in value:  # PostgreSQL text cannot hold it
            raise InvalidValueException(detail=f"'{node.attr_path}' cannot contain a NUL character.")
        if name == "user_name":
            return Q(pk__in=user_name_ids(str(value)))
        if name == "external_id":
            ids = ScimIdentity.objects.filter(external_id=str(value), deleted_at=None).values_list(
                "membership_id", flat=True
            )
            return Q(pk__in=list(ids))
        if name == "emails.value":
            return Q(email__in={str(value), str(value).lower()})
        if name == "active":
            # true or false, or Entra's strings "True" and "False"; not whatever else a boolean
            # parser would take for one ("yes", "1", "on").
            raw = node.value
            if not isinstance(raw, bool) and not (isinstance(raw, str) and raw.strip().lower() in ("true", "false")):
                raise InvalidFilterException(detail="'active' compares with true or false.")
            deactivated = Q(state=Membership.State.DEACTIVATED)
            return ~deactivated if value else deactivated
        if name == "id":
            pk = membership_pk_of(value)
            return Q(pk=pk) if pk is not None else Q(pk__in=[])
        raise InvalidFilterException(detail=f"'{node.attr_path}' is not supported; filters support {SUPPORTED}.")
