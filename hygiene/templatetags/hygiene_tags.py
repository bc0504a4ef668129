from django import template
from django.utils import timezone

from hygiene.selectors import policy_week

register = template.Library()


@register.simple_tag
def dormancy_week():
    """What the dormancy policy did in the last seven days (the Users tab's banner)."""
    return policy_week(now=timezone.now())
