"""What the parsers yield: a record per valid line, a LineError per problem."""

import hashlib
from dataclasses import dataclass, field
from itertools import combinations


@dataclass(frozen=True)
class LineError:
    """One problem in an import file. `line` is 1-based (a CSV header is line 1); None for the file."""

    line: int | None
    field: str
    reason: str

    def __str__(self):
        where = "file" if self.line is None else f"line {self.line}"
        return f"{where}, {self.field}: {self.reason}" if self.field else f"{where}: {self.reason}"


@dataclass
class PromptRecord:
    line: int
    external_id: str
    text: str
    completions: list  # [(text, model_name, metadata)]
    metadata: dict = field(default_factory=dict)
    id_given: bool = True
    gold: list | None = None  # a gold item's expected ranking: indexes into completions, best first


@dataclass
class PairRecord:
    line: int
    external_id: str
    prompt: str
    chosen: str
    rejected: str
    id_field: str = ""  # "id" or "prompt_id" when the line named its prompt, else ""


@dataclass
class RankingRecord:
    line: int
    external_id: str
    prompt: str
    ranked: list  # texts, best first
    id_field: str = ""

    def pairs(self):
        """Every pair of the ranking, the better one chosen: K*(K-1)/2 of them."""
        return [
            PairRecord(self.line, self.external_id, self.prompt, better, worse, self.id_field)
            for better, worse in combinations(self.ranked, 2)
        ]


@dataclass
class LabelRecord:
    """One completion of a prompt given one label (the labels format, classify projects)."""

    line: int
    external_id: str
    prompt: str
    completion: str
    label: str
    metadata: dict = field(default_factory=dict)  # the completion's, kept when it is created
    id_field: str = ""


def text_id(text):
    """The external id of a prompt given without one: stable across files and re-imports."""
    return "sha1:" + hashlib.sha1(text.encode("utf-8")).hexdigest()[:16]
