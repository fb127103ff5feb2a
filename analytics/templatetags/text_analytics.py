"""Template filters of the text analytics pages."""

from django import template

from analytics.models import RiskFlag

register = template.Library()


@register.filter
def risk_label(flag: str) -> str:
    """监管投诉 for "regulator": the label of a stored risk flag."""
    return RiskFlag(flag).label if flag in RiskFlag.values else flag
