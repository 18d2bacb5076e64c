"""python manage.py create_project <slug> [--name ...] [--mode pairwise|ranking|classify] [--shown N] [--overlap N] ...

    python manage.py create_project toxicity --mode classify --labels "not hate,hate" --positive "not hate"
"""

from pathlib import Path

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from annotator.models import Project
from annotator.projects import project_create


class Command(BaseCommand):
    help = "Create a labeling project."

    def add_arguments(self, parser):
        parser.add_argument("slug", help="Short name used in URLs, e.g. helpfulness-v1.")
        parser.add_argument("--name", default="", help="Display name (default: the slug).")
        parser.add_argument("--mode", choices=Project.Mode.values, default=Project.Mode.PAIRWISE)
        parser.add_argument(
            "--shown",
            type=int,
            default=None,
            help="Completions shown per item: 2 when pairwise, 2..9 when ranking, 1..9 when classifying (default 1).",
        )
        parser.add_argument("--labels", default="", help='Classify mode: comma-separated label names, e.g. "not hate,hate".')
        parser.add_argument("--positive", default="", help="Classify mode: the label whose logit is the reward.")
        parser.add_argument("--overlap", type=int, default=1, help="Judgments wanted per prompt.")
        parser.add_argument("--instructions-file", type=Path, help="Markdown shown above every item.")
        parser.add_argument("--lease-seconds", type=int, default=None, help="How long an item stays reserved.")
        parser.add_argument("--no-tie", action="store_true", help="Labelers may not answer 'tie'.")
        parser.add_argument("--no-edit", action="store_true", help="Labelers may not edit a completion.")

    def handle(self, *args, slug, name, mode, shown, overlap, instructions_file, lease_seconds, no_tie, no_edit,
               labels, positive, **_):  # fmt: skip
        if mode == Project.Mode.PAIRWISE and shown not in (None, 2):
            raise CommandError("A pairwise project shows exactly 2 completions; use --mode ranking to show more.")
        classify = mode == Project.Mode.CLASSIFY
        if classify and not (labels and positive):
            raise CommandError('A classify project needs --labels "a,b,..." and --positive LABEL.')
        if not classify and (labels or positive):
            raise CommandError("--labels and --positive are for --mode classify.")
        fields = {"allow_tie": not no_tie, "allow_edit": not no_edit and not classify}
        if classify:
            fields.update(labels=[label.strip() for label in labels.split(",")], positive_label=positive.strip())
        if instructions_file:
            try:
                fields["instructions"] = instructions_file.read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError) as error:
                raise CommandError(f"Cannot read {instructions_file}: {error}") from None
        if lease_seconds is not None:
            fields["lease_seconds"] = lease_seconds
        try:
            project = project_create(
                slug=slug, name=name, mode=mode, completions_shown=shown or (1 if classify else 2), overlap=overlap, **fields
            )
        except ValidationError as error:
            messages = "; ".join(f"{field}: {' '.join(errs)}" for field, errs in error.message_dict.items())
            raise CommandError(f"Cannot create project {slug!r}: {messages}") from None
        labelled = f", labels {', '.join(project.labels)}; positive {project.positive_label!r}" if classify else ""
        self.stdout.write(f"Created project {project.slug} ({project.mode}, overlap {project.overlap}{labelled}).")
