"""python manage.py import_prompts <project-slug> <file> [--format jsonl|csv|pairs|hh]"""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from annotator.imports import FORMATS, ImportFailed, import_file, validate_import_size
from annotator.models import Project


class Command(BaseCommand):
    help = "Import prompts with completions (jsonl, csv) or labelled pairs (pairs, hh) into a project."

    def add_arguments(self, parser):
        parser.add_argument("project", help="project slug")
        parser.add_argument("file", type=Path)
        parser.add_argument("--format", choices=FORMATS, help="default: from the extension and the first line")

    def handle(self, *, project, file, format, **options):
        project_row = Project.objects.filter(slug=project).first()
        if project_row is None:
            raise CommandError(f"No project with slug {project!r}.")
        try:
            validate_import_size(file.stat().st_size)  # before reading a file that is too big
            report = import_file(project=project_row, data=file.read_bytes(), filename=file.name, format=format)
        except OSError as exc:
            raise CommandError(f"Cannot read {file}: {exc.strerror}.") from None
        except ImportFailed as failed:
            for error in failed.errors:
                self.stderr.write(str(error))
            raise CommandError(f"{len(failed.errors)} errors in {file}; nothing was imported.", returncode=1) from None
        self.stdout.write(report.summary())
