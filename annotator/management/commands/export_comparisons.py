"""python manage.py export_comparisons <project-slug> [--format jsonl] [-o FILE]"""

import os
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from annotator.exports import export_jsonl_lines
from annotator.models import Project


class Command(BaseCommand):
    help = "Write a project's comparisons as JSONL (prompt, chosen, rejected, ids, annotator, source, created_at)."

    def add_arguments(self, parser):
        parser.add_argument("project", help="project slug")
        parser.add_argument("--format", choices=["jsonl"], default="jsonl")
        parser.add_argument("-o", "--output", type=Path, help="file to write; standard output when left out")

    def handle(self, *, project, output, **options):
        project_row = Project.objects.filter(slug=project).first()
        if project_row is None:
            raise CommandError(f"No project with slug {project!r}.")
        lines = export_jsonl_lines(project=project_row)
        if output is None:
            for line in lines:
                self.stdout.write(line, ending="")
            return
        # Written beside the target and renamed into place, so a failed export
        # never leaves a truncated file that looks complete.
        partial = output.with_name(output.name + ".partial")
        count = 0
        try:
            with open(partial, "w", encoding="utf-8") as f:
                for count, line in enumerate(lines, 1):
                    f.write(line)
            os.replace(partial, output)
        except OSError as exc:
            partial.unlink(missing_ok=True)
            raise CommandError(f"Cannot write {output}: {exc.strerror}.") from None
        self.stderr.write(f"Wrote {count} comparisons to {output}.")
