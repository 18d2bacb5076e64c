"""The prompts browser's forms: the search and filter (GET) and the action on a selection (POST)."""

from typing import ClassVar

from django import forms

from .prompt_browser import FILTERS
from .prompt_selection import ACTION_CHOICES, REASSIGN


class PromptFilterForm(forms.Form):
    q = forms.CharField(required=False, max_length=200, label="Search", widget=forms.TextInput(attrs={"type": "search"}))
    filter = forms.ChoiceField(required=False, choices=[("", "all prompts"), *FILTERS.items()], label="Show")


class PromptIdsField(forms.Field):
    """The ticked checkboxes' prompt ids (the actions keep only the project's own)."""

    widget = forms.MultipleHiddenInput
    default_error_messages: ClassVar[dict[str, str]] = {
        "required": "Select one or more prompts first.",
        "invalid": "Prompt ids are whole numbers.",
    }

    def to_python(self, value):
        values = value or []
        if not all(isinstance(v, int) or (isinstance(v, str) and v.isdigit()) for v in values):
            raise forms.ValidationError(self.error_messages["invalid"], code="invalid")
        return sorted({int(v) for v in values})


class PromptActionForm(forms.Form):
    action = forms.ChoiceField(choices=ACTION_CHOICES)
    prompt_ids = PromptIdsField(label="Prompts")
    labeler = forms.ChoiceField(required=False, label="Labeler")

    def __init__(self, *args, labelers, **kwargs):
        """`labelers`: the usernames a prompt may be reassigned to."""
        super().__init__(*args, **kwargs)
        self.fields["labeler"].choices = [("", "—"), *((name, name) for name in labelers)]

    def clean(self):
        data = super().clean()
        if data.get("action") == REASSIGN and not data.get("labeler"):
            self.add_error("labeler", "Pick the labeler to reassign them to.")
        return data
