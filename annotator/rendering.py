"""Turning untrusted text (prompts, completions: LLM output) into safe HTML.

Two layers, so one mistake does not open a hole: Markdown is configured to
treat raw HTML as text, and its output then goes through nh3 with a small
allow-list that also drops javascript: and other non-web links.
"""

import difflib
import re

import markdown
import nh3
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe

ALLOWED_TAGS = set(
    "p br hr pre code em strong ul ol li blockquote a h1 h2 h3 h4 h5 h6 table thead tbody tr th td".split()
)
ALLOWED_ATTRIBUTES = {"a": {"href"}, "ol": {"start"}}
ALLOWED_URL_SCHEMES = {"http", "https", "mailto"}


def _markdown_without_raw_html():
    # A fresh converter per call: markdown.Markdown keeps state between
    # conversions and is not safe to share across request threads.
    md = markdown.Markdown(extensions=["fenced_code", "sane_lists"], output_format="html")
    md.preprocessors.deregister("html_block")  # <div>... blocks become escaped text
    md.inlinePatterns.deregister("html")  # so do inline <img ...>, <script> and comments
    return md


def render_markdown(text) -> SafeString:
    html = _markdown_without_raw_html().convert(text or "")
    cleaned = nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes=ALLOWED_URL_SCHEMES,
        link_rel="nofollow noopener",
    )
    return mark_safe(cleaned)  # nh3 has just sanitised it


# A word with the whitespace after it, so the diff compares words, never runs of spaces.
_TOKENS = re.compile(r"\s*\S+\s*|\s+")


# difflib is quadratic in the worst case: past this many words in all the diff
# would hold up the page for seconds, so the page says "too long" instead.
WORD_DIFF_MAX_WORDS = 4000


def word_diff(old, new) -> SafeString | None:
    """A word-level diff of two texts as escaped HTML: <del> for words only in
    `old`, <ins> for words only in `new`. Whitespace is kept so line breaks
    survive. None when the texts are too long to diff quickly."""
    old_tokens, new_tokens = _TOKENS.findall(old or ""), _TOKENS.findall(new or "")
    if len(old_tokens) + len(new_tokens) > WORD_DIFF_MAX_WORDS:
        return None
    parts = []
    matcher = difflib.SequenceMatcher(a=old_tokens, b=new_tokens)
    for op, a1, a2, b1, b2 in matcher.get_opcodes():
        if op == "equal":
            parts.append(("", "".join(old_tokens[a1:a2])))
            continue
        if op in ("delete", "replace"):
            parts.append(("del", "".join(old_tokens[a1:a2])))
        if op in ("insert", "replace"):
            parts.append(("ins", "".join(new_tokens[b1:b2])))
    return format_html_join(
        "",
        "{}",
        ((format_html("<{0} class='diff-{0}'>{1}</{0}>", tag, text) if tag else text,) for tag, text in parts),
    )
