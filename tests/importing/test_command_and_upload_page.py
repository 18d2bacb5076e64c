import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.urls import reverse

from annotator.models import Prompt
from tests import factories

pytestmark = pytest.mark.django_db

PROMPTS = "\n".join(
    json.dumps({"id": str(i), "prompt": f"p{i}", "completions": ["a", "b", "c"]}) for i in range(4)
).encode()


def run(*args):
    out, err = [], []

    class Sink:
        def __init__(self, into):
            self.into = into

        def write(self, text):
            self.into.append(text)

        def flush(self):
            pass

    call_command("import_prompts", *args, stdout=Sink(out), stderr=Sink(err))
    return "".join(out), "".join(err)


def test_command_prints_what_it_created_and_skipped(project, tmp_path):
    path = tmp_path / "prompts.jsonl"
    path.write_bytes(PROMPTS)
    out, _ = run(project.slug, str(path))
    assert out.strip() == "Created 4 prompts (12 completions, 0 comparisons); skipped 0 already there."
    out, _ = run(project.slug, str(path), "--format", "jsonl")
    assert out.strip() == "Created 0 prompts (0 completions, 0 comparisons); skipped 4 already there."


def test_command_prints_each_error_on_its_own_line_and_exits_1(project, tmp_path):
    path = tmp_path / "prompts.jsonl"
    path.write_bytes(PROMPTS + b'\n{"prompt": "x"}\n[]')
    with pytest.raises(CommandError) as failed:
        run(project.slug, str(path))
    assert failed.value.returncode == 1
    assert "2 errors" in str(failed.value) and "nothing was imported" in str(failed.value)
    assert Prompt.objects.count() == 0


def test_command_error_lines_go_to_stderr(project, tmp_path, capsys):
    path = tmp_path / "prompts.jsonl"
    path.write_bytes(b'{"prompt": "x"}\n[]')
    with pytest.raises(CommandError):
        call_command("import_prompts", project.slug, str(path))
    assert capsys.readouterr().err.splitlines() == [
        "line 1, completions: required: a list of texts or objects",
        "line 2: must be a JSON object, got list",
    ]


def test_command_refuses_an_unknown_project(db, tmp_path):
    path = tmp_path / "prompts.jsonl"
    path.write_bytes(PROMPTS)
    with pytest.raises(CommandError, match="No project with slug 'nope'"):
        run("nope", str(path))


def upload(client, project, data=PROMPTS, name="prompts.jsonl", **fields):
    return client.post(
        reverse("project_import", args=[project.slug]), {"file": SimpleUploadedFile(name, data), **fields}
    )


def test_lead_uploads_a_file_and_sees_the_report(client, project, lead):
    client.force_login(lead)
    assert client.get(reverse("project_import", args=[project.slug])).status_code == 200
    response = upload(client, project)
    assert response.status_code == 200
    assert "Created 4 prompts (12 completions, 0 comparisons); skipped 0 already there." in response.content.decode()
    assert Prompt.objects.filter(project=project).count() == 4


def test_admin_member_may_upload_with_an_explicit_format(client, project, admin_user):
    client.force_login(admin_user)
    response = upload(client, project, data=b"prompt,completion_1,completion_2\nq,a,b\n", name="x.txt", format="csv")
    assert response.status_code == 200 and Prompt.objects.count() == 1


def test_upload_page_lists_the_first_50_errors_and_counts_the_rest(client, project, lead):
    client.force_login(lead)
    response = upload(client, project, data=b"[]\n" * 60)
    page = response.content.decode()
    assert response.status_code == 400
    assert page.count("must be a JSON object") == 50 and "and 10 more errors" in page
    assert "line 50: must be a JSON object" in page and "line 51:" not in page
    assert Prompt.objects.count() == 0


def test_upload_page_escapes_text_from_the_file(client, project, lead):
    client.force_login(lead)
    line = b'{"id": "<script>x</script>", "prompt": "p", "completions": ["a", "b"]}\n'
    response = upload(client, project, data=line + line.replace(b'"p"', b'"q"'))
    assert "<script>x" not in response.content.decode() and "&lt;script&gt;x" in response.content.decode()


def test_labeler_gets_403_on_the_upload_page(client, project, labeler):
    client.force_login(labeler)
    assert client.get(reverse("project_import", args=[project.slug])).status_code == 403
    assert upload(client, project).status_code == 403
    assert Prompt.objects.count() == 0


def test_outsider_gets_404_on_the_upload_page(client, project, outsider):
    client.force_login(outsider)
    assert client.get(reverse("project_import", args=[project.slug])).status_code == 404
    assert upload(client, project).status_code == 404


def test_anonymous_is_sent_to_log_in(client, project):
    response = client.get(reverse("project_import", args=[project.slug]))
    assert response.status_code == 302 and response.url.startswith(reverse("login"))


def test_upload_needs_a_csrf_token(project, lead):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    client.force_login(lead)
    assert upload(client, project).status_code == 403
    assert Prompt.objects.count() == 0


def test_lead_of_another_project_cannot_upload_here(client, project):
    other_lead = factories.member(factories.project(), "lead")
    client.force_login(other_lead)
    assert upload(client, project).status_code == 404
