"""Small English helpers for templates."""

from django import template

register = template.Library()


@register.filter
def with_article(noun: str) -> str:
    """The noun after its indefinite article: an admin, a member, a viewer."""
    noun = str(noun)
    if not noun:
        return ""
    return f"{'an' if noun[0].lower() in 'aeiou' else 'a'} {noun}"
