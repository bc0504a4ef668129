"""Query parameters given more than once.

DRF, like Django's ``QueryDict.get``, keeps the last value of a repeated parameter and silently
drops the others, so ``?period=30d&period=all`` would answer for ``all`` while the client may have
meant either. A parameter that takes one value and is given several different ones is refused
with a 400 instead; the same value repeated (a ``next`` link merged with the client's own
parameters) is that value. A list-valued parameter takes every value it is given.
"""

import re
from collections.abc import Iterable

from rest_framework import serializers

DIGITS = re.compile(r"\s*[0-9]+\s*")


def refuse_differing_repeats(query_params, names: Iterable[str]) -> None:
    """Raises a 400 naming each of ``names`` given several different values."""
    if not hasattr(query_params, "getlist"):
        return
    repeated = {}
    for name in names:
        values = query_params.getlist(name)
        if len(values) > 1 and len(set(values)) > 1:
            repeated[name] = [f"Give {name} one value; it was given {len(set(values))} different ones."]
    if repeated:
        raise serializers.ValidationError(repeated)


class RepeatableCharField(serializers.CharField):
    """A comma-separated list in one query parameter; the parameter given several times reads as
    all its values joined (``?status=active&status=inactive`` is ``?status=active,inactive``)."""

    def get_value(self, dictionary):
        if hasattr(dictionary, "getlist") and len(dictionary.getlist(self.field_name)) > 1:
            return ",".join(dictionary.getlist(self.field_name))
        return super().get_value(dictionary)


class QueryParametersInputSerializer(serializers.Serializer):
    """Query parameters, each single-valued one refused when given different values;
    ``RepeatableCharField``s take every value."""

    def to_internal_value(self, data):
        refuse_differing_repeats(
            data, (name for name, field in self.fields.items() if not isinstance(field, RepeatableCharField))
        )
        return super().to_internal_value(data)


class WholeNumberField(serializers.IntegerField):
    """A whole number written in digits. DRF's IntegerField also reads "2.0" as 2, which the
    paginator, reading the raw parameter again, would not: a page or page size is digits only."""

    def to_internal_value(self, data):
        if isinstance(data, str) and not DIGITS.fullmatch(data):
            self.fail("invalid")
        return super().to_internal_value(data)
