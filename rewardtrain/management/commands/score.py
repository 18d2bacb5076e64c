"""python manage.py score <project> <in.jsonl> <out.jsonl>

Each input line is a JSON object with "prompt" and "completion" (other keys are kept); each
output line is the same object plus "reward" and "version", scored by the project's current
reward model in batches. Every line is checked before any is scored; a prompt or completion
longer than ARBITER_SCORE_MAX_CHARS is an error naming the line, as in the API.
"""

import json

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from annotator.models import Project
from rewardtrain import serving

BATCH_LINES = 256


class Command(BaseCommand):
    help = "Score (prompt, completion) lines with a project's current reward model."

    def add_arguments(self, parser):
        parser.add_argument("project")
        parser.add_argument("input", help="JSONL with prompt and completion on each line.")
        parser.add_argument("output", help="Where to write the lines with reward and version added.")

    def handle(self, *args, project, input, output, **_):
        project_row = Project.objects.filter(slug=project).first()
        if project_row is None:
            raise CommandError(f"No project {project!r}.")
        records = read_records(input)
        try:
            version, scorer = serving.current_scorer(project=project_row)
        except serving.ModelUnavailable as error:
            raise CommandError(str(error)) from None
        with open(output, "w", encoding="utf-8") as out:
            for start in range(0, len(records), BATCH_LINES):
                batch = records[start : start + BATCH_LINES]
                rewards = scorer.score([(r["prompt"], r["completion"]) for r in batch])
                for record, reward in zip(batch, rewards):
                    out.write(json.dumps({**record, "reward": reward, "version": version.version}, ensure_ascii=False) + "\n")
        self.stdout.write(f"Scored {len(records)} lines with v{version.version} into {output}.")


def read_records(path):
    records = []
    try:
        with open(path, encoding="utf-8") as f:
            for number, line in enumerate(f, 1):
                if not line.strip():
                    continue
                try:
                    record = json.loads(line)
                except json.JSONDecodeError as error:
                    raise CommandError(f"{path}:{number}: not JSON: {error}") from None
                if not isinstance(record, dict) or not all(isinstance(record.get(k), str) for k in ("prompt", "completion")):
                    raise CommandError(f'{path}:{number}: needs string "prompt" and "completion"')
                for key in ("prompt", "completion"):
                    if len(record[key]) > settings.ARBITER_SCORE_MAX_CHARS:
                        raise CommandError(
                            f"{path}:{number}: {key} is {len(record[key])} characters; "
                            f"at most {settings.ARBITER_SCORE_MAX_CHARS} (ARBITER_SCORE_MAX_CHARS)"
                        )
                records.append(record)
    except OSError as error:
        raise CommandError(f"Cannot read {path}: {error}") from None
    return records
