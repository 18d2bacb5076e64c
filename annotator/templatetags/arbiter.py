"""Template helpers for the labeling pages. Load with {% load arbiter %}."""

from django import template

from annotator import rendering

register = template.Library()


@register.filter
def markdown(text):
    """Untrusted Markdown as sanitised HTML: {{ completion.text|markdown }}."""
    return rendering.render_markdown(text)


@register.filter
def model_card(text):
    """A checkpoint's README.md, sanitised like any text, with its tables: {{ card|model_card }}."""
    return rendering.render_model_card(text)


@register.simple_tag
def word_diff(old, new):
    return rendering.word_diff(old, new)


@register.filter
def letter(index):
    """0 -> "A", 1 -> "B": how completions are named on the page."""
    return chr(ord("A") + int(index))


@register.filter
def of(mapping, key):
    """mapping[key], or "" without one: {{ answer.ranks|of:completion.pk }}."""
    return mapping.get(key, "")
