"""Small English helpers for templates."""

from django import template

register = template.Library()


@register.filter
def with_article(noun: str) -> str:
    """The noun after its indefinite article: an admin, a member, a viewer."""
    noun = str(noun)
    return f"{'an' if noun[:1].lower() in 'aeiou' else 'a'} {noun}"
