"""Turning untrusted text (prompts, completions, edits, instructions: LLM and labeler text) into safe HTML.

Markdown goes through comrak (a Rust port of GitHub's cmark-gfm), whose parser runs in time
linear in the input: the patterns that made Python-Markdown quadratic or worse (`[` repeated,
`![`, `a[b`, nested `[[…]]`, `[x](`: 8,000 `[` took 14.6 s) render 100,000 characters in tens
of milliseconds (bench/render_bench.py measures them). Raw HTML is escaped into text by comrak
(its `escape` option), and the output then goes through nh3 with a small allow-list that also
drops javascript: and other non-web links: two layers, so one mistake does not open a hole.

A render budget bounds what is left: a text longer than ARBITER_RENDER_MAX_CHARS, or whose
markdown nests deeper than RENDER_MAX_DEPTH blocks, is shown as escaped plain text with a note,
never dropped. Depth because nh3's HTML parser spends time quadratic in it (16,000 nested `> `
take it a second, 50,000 take twenty).

Rendered HTML is kept in Django's cache under the text's hash, so a text is rendered once
whatever page or request shows it again.
"""

import difflib
import hashlib
import re
from importlib.metadata import version

import comrak
import nh3
from django.conf import settings
from django.core.cache import cache
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe

ALLOWED_TAGS = set(
    "p br hr pre code em strong ul ol li blockquote a h1 h2 h3 h4 h5 h6 table thead tbody tr th td".split()
)
ALLOWED_ATTRIBUTES = {"a": {"href"}, "ol": {"start"}}
ALLOWED_URL_SCHEMES = {"http", "https", "mailto"}

# Far beyond what any answer nests (a quote in a list in a quote is 3), far below where nh3 slows.
RENDER_MAX_DEPTH = 100
_BLOCK_TAGS = re.compile(r"<(/?)(?:blockquote|ul|ol|li)\b")

# Part of every cache key: a new comrak, or a change to how this module renders, is a new key.
RENDERER_VERSION = f"comrak-{version('comrak')}-r1"
RENDER_CACHE_SECONDS = 24 * 3600


def _options():
    render = comrak.RenderOptions()
    render.escape = True  # raw HTML (<div>, <img ...>, <script>, comments) becomes visible text
    return render


_RENDER_OPTIONS = _options()


def _card_extensions():
    # Only for model cards: a table's columns cost the parser time quadratic in their number
    # (one row of 20,000 columns, 120,000 characters, took 1.4 s), which labeling text, up to
    # ARBITER_MAX_TEXT_CHARS of anyone's, must not be able to buy. A card is Arbiter's own.
    extensions = comrak.ExtensionOptions()
    extensions.table = True
    extensions.front_matter_delimiter = "---"  # the Hub's YAML metadata is not card text: left out
    return extensions


_CARD_EXTENSIONS = _card_extensions()


def _deeper_than(html, limit):
    depth = 0
    for match in _BLOCK_TAGS.finditer(html):
        depth += -1 if match.group(1) else 1
        if depth > limit:
            return True
    return False


def _plain(text, reason) -> str:
    return format_html('<p class="render-note">Shown as plain text: {}.</p><pre class="plain-text">{}</pre>', reason, text)


def _rendered(text, extensions) -> str:
    limit = settings.ARBITER_RENDER_MAX_CHARS
    if len(text) > limit:
        return _plain(text, f"longer than {limit:,} characters (ARBITER_RENDER_MAX_CHARS)")
    html = comrak.render_markdown(text, render_options=_RENDER_OPTIONS, extension_options=extensions)
    if _deeper_than(html, RENDER_MAX_DEPTH):
        return _plain(text, f"its markdown nests deeper than {RENDER_MAX_DEPTH} levels")
    return nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes=ALLOWED_URL_SCHEMES,
        link_rel="nofollow noopener",
    )


def render_markdown(text) -> SafeString:
    return _cached_render(text, kind="markdown", extensions=None)


def render_model_card(text) -> SafeString:
    """A checkpoint's README.md as the Hub shows it: with its tables, without its front matter."""
    return _cached_render(text, kind="card", extensions=_CARD_EXTENSIONS)


def _cached_render(text, *, kind, extensions) -> SafeString:
    data = (text or "").encode("utf-8", "replace")  # a lone surrogate (JSON's "\ud800") would stop comrak
    text = data.decode()
    digest = hashlib.sha256(data).hexdigest()
    key = f"arbiter-{kind}:{RENDERER_VERSION}:{settings.ARBITER_RENDER_MAX_CHARS}:{digest}"
    html = cache.get(key)
    if html is None:
        html = _rendered(text, extensions)
        cache.set(key, html, RENDER_CACHE_SECONDS)
    return mark_safe(html)  # nh3 has sanitised it, or it is escaped plain text


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
