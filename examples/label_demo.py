"""A simulated labeler, for demos and benchmarks: it labels a project through Arbiter's HTTP API.

    python examples/label_demo.py --url http://127.0.0.1:8000 --project demo --token KEY

No person decides anything here. Every choice comes from the quality tags that the demo's
candidate answers carry in annotator/demo_data.py (looked up by prompt and answer text), applied
as a careful reviewer would: "best" beats everything, "good" beats every flawed answer, and two
flawed answers are "both bad". Rankings put best, then good, then the flaws mildest first
(FLAW_ORDER). It works the queue as any labeling client does: GET next, POST a judgment, and
skip an item it has no tag for (an edited answer, or a project that is not the demo), until
the queue is empty. Labels made this way are as good as the tags, and say nothing of how
people label.
"""

from __future__ import annotations

import argparse
import json
import sys
import urllib.request
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from annotator.demo_data import PROMPTS  # noqa: E402  (plain data; needs the repo on the path)

# Mildest flaw first: the tags do not order flaws, so this is the simulated reviewer's own call.
FLAW_ORDER = ("terse", "verbose", "off_topic", "wrong", "hallucinated", "rude", "unsafe")
ORDER = ("best", "good", *FLAW_ORDER)
TAGS = {(prompt, text): quality for _id, _category, prompt, candidates in PROMPTS for quality, text in candidates}


def tier(tag: str) -> int:
    """0 best, 1 good, 2 any flaw: pairwise choices compare tiers only."""
    return min(ORDER.index(tag), 2)


def decide(project: dict, prompt: str, completions: list[dict]) -> dict | None:
    """The judgment fields for one served item, or None when an answer has no tag."""
    tags = [TAGS.get((prompt, c["text"])) for c in completions]
    if None in tags:
        return None
    if project["mode"] == "ranking":
        ranked = sorted(zip(tags, completions), key=lambda tc: ORDER.index(tc[0]))
        return {"ranking": [c["id"] for _tag, c in ranked]}
    a, b = tier(tags[0]), tier(tags[1])
    if a == b == 2:
        return {"choice": "both_bad"}
    if a == b:
        return {"choice": "tie"} if project["allow_tie"] else None
    # best against good is the close call the tags describe; against a flaw it is clear
    return {"choice": "a" if a < b else "b", "strength": "much" if max(a, b) == 2 else "slightly"}


def call(url: str, token: str, method: str = "GET", body: dict | None = None):
    data = json.dumps(body).encode() if body is not None else None
    headers = {"Authorization": f"Token {token}", "Content-Type": "application/json"}
    with urllib.request.urlopen(urllib.request.Request(url, data, headers, method=method), timeout=60) as response:
        raw = response.read()
        return response.status, json.loads(raw) if raw else None


def label(url: str, slug: str, token: str) -> dict:
    """Work the caller's queue until it is empty; returns the counts."""
    api = url.rstrip("/") + "/api/v1"
    _status, projects = call(f"{api}/projects/", token)
    project = next(p for p in projects if p["slug"] == slug)
    if project["mode"] not in ("pairwise", "ranking"):
        raise SystemExit(f"{slug} is a {project['mode']} project; this labeler only compares answers")
    counts = {"judgments": 0, "comparisons": 0, "skipped": 0}
    while True:
        status, item = call(f"{api}/projects/{slug}/next/", token)
        if status == 204:
            return counts
        fields = decide(project, item["prompt"]["text"], item["completions"])
        if fields is None:
            call(f"{api}/assignments/{item['assignment']}/skip/", token, "POST")
            counts["skipped"] += 1
            continue
        body = {"assignment": item["assignment"], "client_id": uuid.uuid4().hex, **fields}
        _status, judgment = call(f"{api}/judgments/", token, "POST", body)
        counts["judgments"] += 1
        counts["comparisons"] += len(judgment["comparisons"])


def main(argv=None) -> dict:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--url", default="http://127.0.0.1:8000")
    p.add_argument("--project", default="demo")
    p.add_argument("--token", required=True, help="the labeler's API token")
    args = p.parse_args(argv)
    counts = label(args.url, args.project, args.token)
    print(f"stored {counts['judgments']} judgments ({counts['comparisons']} comparisons), skipped {counts['skipped']}")
    return counts


if __name__ == "__main__":
    main()
