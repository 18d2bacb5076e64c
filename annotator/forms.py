"""Parsing what the labeling form posts into a JudgmentResult.

The form is the same with and without JavaScript: the script only fills the
fields (rank selects, time spent) and posts it with fetch. The console's forms
(project settings, members, the judgments filter) follow at the end.
"""

from django import forms
from django.conf import settings
from django.contrib.auth.validators import UnicodeUsernameValidator

from .judgments import InvalidJudgment, JudgmentResult
from .models import Comparison, Judgment, Membership, Project

MAX_TIME_SPENT_MS = 2**31 - 1  # the column is a PositiveIntegerField
PREFERENCES = (Judgment.Choice.A, Judgment.Choice.B)


class JudgmentForm(forms.Form):
    assignment = forms.IntegerField()
    client_id = forms.CharField(max_length=64)
    skip = forms.BooleanField(required=False)
    choice = forms.CharField(max_length=16, required=False)
    strength = forms.CharField(max_length=16, required=False)
    comment = forms.CharField(max_length=settings.ARBITER_MAX_TEXT_CHARS, required=False)  # as the API
    time_spent_ms = forms.IntegerField(min_value=0, required=False)
    edit_of = forms.IntegerField(required=False)

    def result(self, *, shown, mode) -> JudgmentResult:
        """The judgment the labeler made on an item showing `shown` (completion ids) in a `mode` project.

        Ranks arrive as one `rank_<id>` select per completion, labels as one
        `label_<id>` radio group per completion, and exclusions (both modes) as
        `excluded` checkboxes; the edited text as `edit_text_<id>` of the
        completion named by `edit_of`. Raises InvalidJudgment like the service.
        """
        data = self.cleaned_data
        ranking, excluded, labels = [], [], {}
        edit_of = data["edit_of"]
        if mode == Project.Mode.RANKING:
            ranking, excluded = self._ranking(shown, edit_alone_allowed=edit_of is not None)
        elif mode == Project.Mode.CLASSIFY:
            labels, excluded = self._labels(shown)
        time_spent = data["time_spent_ms"]
        # A browser sends a textarea's line breaks as CRLF, while the text it shows has LF (HTML
        # reads CRLF as LF): an unchanged edit must compare, and a changed one store, with LF.
        edit_text = self.data.get(f"edit_text_{edit_of}", "").replace("\r\n", "\n") if edit_of is not None else ""
        return JudgmentResult(
            choice=data["choice"],
            ranking=ranking,
            excluded=excluded,
            # "Slightly" or "much" better qualifies a preference; a tie, "both
            # bad" or a ranking has none, so a leftover select value is dropped.
            strength=data["strength"] if data["choice"] in PREFERENCES else "",
            comment=data["comment"].strip(),
            edit_of=edit_of,
            edit_text=edit_text,
            time_spent_ms=min(time_spent, MAX_TIME_SPENT_MS) if time_spent is not None else None,
            labels=labels,
        )

    def _excluded(self):
        try:
            return [int(v) for v in self.data.getlist("excluded")]
        except ValueError:
            raise InvalidJudgment({"excluded": "Not a completion id."}) from None

    def _labels(self, shown):
        """{completion id: label} and the excluded ids; the service checks the labels are the project's.

        An excluded completion's label is dropped rather than refused: without the script
        a picked radio button cannot be unpicked, so ticking "too hard" is how the labeler
        takes a label back.
        """
        excluded = self._excluded()
        labels = {
            completion_id: self.data[f"label_{completion_id}"]
            for completion_id in shown
            if completion_id not in excluded and self.data.get(f"label_{completion_id}")
        }
        return labels, excluded

    def _ranking(self, shown, *, edit_alone_allowed):
        excluded = self._excluded()
        if edit_alone_allowed and not excluded and not any(self.data.get(f"rank_{c}") for c in shown):
            return [], []  # an edit saved without ranking the others: it says only that the edit beats them
        ranks = {}
        for completion_id in shown:
            if completion_id in excluded:
                continue
            raw = self.data.get(f"rank_{completion_id}", "")
            # ASCII digits only ("²" is a digit to isdigit but not to int) and few of them: ranks
            # run 1..9, and int() refuses a string of over 4,300 digits.
            if not (raw.isascii() and raw.isdigit() and len(raw) <= 2):
                raise InvalidJudgment({"ranking": "Give every completion a rank or mark it excluded."})
            ranks[completion_id] = int(raw)
        if len(set(ranks.values())) != len(ranks):
            raise InvalidJudgment({"ranking": "Two completions have the same rank."})
        return sorted(ranks, key=ranks.__getitem__), excluded


# --- the console ---------------------------------------------------------------------

PROJECT_SETTINGS = (
    "name",
    "mode",
    "completions_shown",
    "labels",
    "positive_label",
    "overlap",
    "instructions",
    "lease_seconds",
    "allow_tie",
    "allow_edit",
    "retrain_min_new_comparisons",
    "base_model",
    "gold_min_accuracy",
    "repeat_share",
    "repeat_gap",
    "min_seconds",
    "exclude_flagged_from_training",
    "queue_order",
    "rl_audit_share",
)


class LabelListField(forms.CharField):
    """A classify project's label names as text: one per line, or comma-separated on one line.

    Cleans to the list Project.labels holds (names stripped, empty ones dropped); whether
    the list is a valid label set is the model's rule (Project.clean), checked on save.
    """

    widget = forms.Textarea(attrs={"rows": 3})

    def prepare_value(self, value):
        return "\n".join(value) if isinstance(value, list) else value

    def to_python(self, value):
        text = super().to_python(value)
        parts = text.splitlines() if "\n" in text.strip() else text.split(",")
        return [part.strip() for part in parts if part.strip()]


class ProjectSettingsForm(forms.Form):
    """A project's settings. A plain form, not a ModelForm: validating a ModelForm writes the
    new values onto the instance, and project_update needs the old ones to audit the change.
    The model's own validators run in project_update (full_clean)."""

    def __init__(self, *args, base_models, with_slug=False, **kwargs):
        super().__init__(*args, **kwargs)
        names = ("slug", *PROJECT_SETTINGS) if with_slug else PROJECT_SETTINGS
        self.fields.update(forms.fields_for_model(Project, fields=names))
        self.fields["base_model"] = forms.ChoiceField(
            choices=base_models, required=False, help_text="A model folder under ARBITER_MODEL_ROOTS."
        )
        self.fields["instructions"].widget.attrs.update(rows=8, **{"data-preview": "instructions-preview"})
        self.fields["labels"] = LabelListField(
            required=False,
            help_text="Classify mode: 2 to 9 label names, one per line (or comma-separated); keys 1..9 pick them in this order.",
        )

    def clean(self):
        data = super().clean()
        # Browsers send a textarea's line breaks as \r\n; stored as \n, so text saved unchanged
        # stays byte for byte what it was.
        for name, value in data.items():
            if isinstance(value, str):
                data[name] = value.replace("\r\n", "\n").replace("\r", "\n")
        if data.get("mode") == Project.Mode.PAIRWISE and data.get("completions_shown") not in (None, 2):
            self.add_error("completions_shown", "Pairwise mode shows 2 completions.")
        return data


class MemberAddForm(forms.Form):
    # The rules Django's own user forms apply, so a user created here can log in like any other.
    username = forms.CharField(max_length=150, validators=[UnicodeUsernameValidator()])
    role = forms.ChoiceField(choices=Membership.Role.choices)
    password = forms.CharField(
        required=False,
        strip=False,
        widget=forms.PasswordInput,
        help_text="Only to create a new user: leave it empty to add an existing one.",
    )


class MemberRoleForm(forms.Form):
    role = forms.ChoiceField(choices=Membership.Role.choices)


class AuditFilterForm(forms.Form):
    actor = forms.ChoiceField(required=False, label="Who")
    action = forms.ChoiceField(required=False, label="Action")
    since = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}), label="From")
    until = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}), label="To")

    def __init__(self, *args, actors, actions, no_actor, **kwargs):
        """`actors` and `actions`: those in the log; `no_actor`: the value for entries no one made."""
        super().__init__(*args, **kwargs)
        names = {no_actor: "Arbiter (no one logged in)"}
        self.fields["actor"].choices = [("", "anyone"), *((name, names.get(name, name)) for name in actors)]
        self.fields["action"].choices = [("", "any"), *((name, name) for name in actions)]

    def clean(self):
        data = super().clean()
        if data.get("since") and data.get("until") and data["since"] > data["until"]:
            self.add_error("until", "The end date is before the start date.")
        return data


YES_NO = [("", "any"), ("yes", "yes"), ("no", "no")]
RANKING_CHOICE = "ranking"  # judgments with a ranking, which have no choice


UNREVIEWED = "none"  # the judgments browser's review filter for judgments no one reviewed yet


class JudgmentFilterForm(forms.Form):
    source = forms.ChoiceField(
        required=False,
        choices=[(Comparison.Source.HUMAN, "human judgments"), (Comparison.Source.IMPORTED, "imported pairs")],
        help_text="Imported pairs came in already labelled: they have no choice, comment or edit.",
    )
    labeler = forms.ChoiceField(required=False)
    choice = forms.ChoiceField(
        required=False, choices=[("", "any"), *Judgment.Choice.choices, (RANKING_CHOICE, "Ranking")]
    )
    has_comment = forms.ChoiceField(required=False, choices=YES_NO)
    has_edit = forms.ChoiceField(required=False, choices=YES_NO)
    review = forms.ChoiceField(
        required=False, choices=[("", "any"), (UNREVIEWED, "not reviewed"), *Judgment.Review.choices]
    )
    since = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}), label="From")
    until = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}), label="To")

    def __init__(self, *args, labelers, labels=None, **kwargs):
        """`labels`: a classify project's label set. Its judgments have labels, never a choice or
        an edit, so those two filters give way to `label` (imported labels have one too)."""
        super().__init__(*args, **kwargs)
        self.fields["labeler"].choices = [("", "anyone"), *((name, name) for name in labelers)]
        self.classifies = labels is not None
        if self.classifies:
            del self.fields["choice"], self.fields["has_edit"]
            self.fields["label"] = forms.ChoiceField(
                required=False, choices=[("", "any"), *((name, name) for name in labels)],
                help_text="Judgments that gave this label to any completion.",
            )  # fmt: skip
            self.fields["source"].choices = [
                (Comparison.Source.HUMAN, "human judgments"), (Comparison.Source.IMPORTED, "imported labels")
            ]  # fmt: skip
            self.fields["source"].help_text = "Imported labels came in already labelled: they have no comment."
            self.order_fields(["source", "labeler", "label"])

    def clean(self):
        data = super().clean()
        if self.classifies:
            # A pairwise link (or hand-typed query) must not be silently ignored here.
            for name in ("choice", "has_edit"):
                if self.data.get(name):
                    what = name.removeprefix("has_")
                    self.add_error(None, f"This project classifies: its judgments have no {what}; filter by label instead.")
            if data.get("source") == Comparison.Source.IMPORTED and data.get("has_comment"):
                self.add_error("has_comment", "Imported labels have no comment: this filter is for human judgments.")
        elif data.get("source") == Comparison.Source.IMPORTED:
            for name in ("choice", "has_comment", "has_edit"):
                if data.get(name):
                    self.add_error(name, "Imported pairs have no choice, comment or edit: this filter is for human judgments.")
        if data.get("source") == Comparison.Source.IMPORTED and data.get("review"):
            self.add_error("review", "Imported rows have no judgment to review: this filter is for human judgments.")
        return data
