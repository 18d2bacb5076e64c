"""What the reward-model pages post, checked field by field before anything is converted."""

from django import forms

# A row id is a bigint: 19 digits at most, and int() refuses a string of over 4,300.
MAX_ID_DIGITS = 19


class IdListField(forms.Field):
    """Several ids under one name (ticked checkboxes): ASCII digits only, "²" and "1e3" refused."""

    widget = forms.MultipleHiddenInput
    default_error_messages = {"invalid": "Not a sample id: %(value)s."}

    def to_python(self, value):
        ids = []
        for text in value or []:
            if not (text.isascii() and text.isdigit() and len(text) <= MAX_ID_DIGITS) or int(text) >= 2**63:
                raise forms.ValidationError(self.error_messages["invalid"], code="invalid", params={"value": text[:24]})
            ids.append(int(text))
        return ids


class AuditSelectionForm(forms.Form):
    """The RL audit page's "Make labeling items": the ticked samples."""

    sample = IdListField(required=False)  # none ticked: the page asks for some, not a 400
