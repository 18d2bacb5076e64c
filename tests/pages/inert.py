"""What "rendered inert" means for a page that shows untrusted text, as a browser would parse it."""

from html.parser import HTMLParser


class _Elements(HTMLParser):
    """Every start tag and its attributes."""

    def __init__(self, html):
        super().__init__()
        self.tags = []
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))


def assert_inert(html, *, page_tags=()):
    """No script but the labeling page's own, no embedded content, no event handlers, no
    javascript: links. `page_tags`: tags the page's template has itself (a <style>)."""
    tags = _Elements(html).tags
    assert [attrs.get("src") for tag, attrs in tags if tag == "script"] in ([], ["/static/js/label.js"])
    forbidden = {"img", "iframe", "object", "embed", "svg", "style"} - set(page_tags)
    assert not [tag for tag, _ in tags if tag in forbidden]
    assert not [(tag, name) for tag, attrs in tags for name in attrs if name.startswith("on")]
    hrefs = [attrs.get("href") or "" for _, attrs in tags if "href" in attrs]
    assert not [href for href in hrefs if href.strip().lower().startswith("javascript:")]
