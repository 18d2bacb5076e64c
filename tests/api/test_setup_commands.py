"""create_project and add_member: the scriptable way to set a project up."""

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import CommandError
from rest_framework.authtoken.models import Token

from annotator.models import Membership, Project
from tests import factories

pytestmark = pytest.mark.django_db


def test_create_project_with_every_option(tmp_path):
    instructions = tmp_path / "guide.md"
    instructions.write_text("Prefer **honest** answers.")
    call_command(
        "create_project", "rank-4", "--name", "Rank four", "--mode", "ranking", "--shown", "4", "--overlap", "3",
        "--instructions-file", str(instructions), "--lease-seconds", "120", "--no-tie", "--no-edit",
    )
    project = Project.objects.get(slug="rank-4")
    assert (project.name, project.mode, project.completions_shown, project.overlap) == ("Rank four", "ranking", 4, 3)
    assert project.instructions == "Prefer **honest** answers."
    assert (project.lease_seconds, project.allow_tie, project.allow_edit) == (120, False, False)


def test_create_project_defaults_to_pairwise_named_after_its_slug():
    call_command("create_project", "plain")
    project = Project.objects.get(slug="plain")
    assert (project.name, project.mode, project.completions_shown, project.overlap) == ("plain", "pairwise", 2, 1)


@pytest.mark.parametrize(
    "args,message",
    [
        (["taken"], "already exists"),
        (["bad slug!"], "slug"),
        (["p2", "--shown", "3"], "pairwise project shows exactly 2"),
        (["r10", "--mode", "ranking", "--shown", "10"], "completions_shown"),
        (["o0", "--overlap", "0"], "overlap"),
        (["nofile", "--instructions-file", "/no/such/file.md"], "Cannot read"),
    ],
)
def test_create_project_refuses_bad_input_with_a_clear_message(args, message):
    factories.project(slug="taken")
    with pytest.raises(CommandError, match=message):
        call_command("create_project", *args)
    assert Project.objects.count() == 1


def test_add_member_gives_an_existing_user_a_role_and_can_change_it(project):
    person = factories.user("ann")
    call_command("add_member", project.slug, "ann", "labeler")
    call_command("add_member", project.slug, "ann", "lead")
    assert Membership.objects.get(user=person, project=project).role == "lead"


def test_add_member_creates_a_user_with_a_password_and_prints_a_token(project, capsys):
    call_command("add_member", project.slug, "bob", "labeler", "--create", "--password", "s3cret-pass", "--print-token")
    bob = get_user_model().objects.get(username="bob")
    assert bob.check_password("s3cret-pass")
    assert capsys.readouterr().out.strip() == Token.objects.get(user=bob).key
    assert Membership.objects.get(user=bob, project=project).role == "labeler"


@pytest.mark.parametrize(
    "args,message",
    [
        (["no-such-project", "ann", "labeler"], "No project 'no-such-project'"),
        (["{slug}", "nobody", "labeler"], "No user 'nobody'. Pass --create"),
        (["{slug}", "ann", "labeler", "--password", "x"], "--password only goes with --create"),
        (["{slug}", "ann", "labeler", "--create", "--password", "x"], "already exists"),
    ],
)
def test_add_member_refuses_bad_input_with_a_clear_message(project, args, message):
    ann = factories.user("ann")
    with pytest.raises(CommandError, match=message):
        call_command("add_member", *(a.format(slug=project.slug) for a in args))
    assert not Membership.objects.filter(user=ann).exists()
    assert ann.check_password(factories.PASSWORD)


def test_add_member_refuses_an_unknown_role(project):
    factories.user("ann")
    with pytest.raises(CommandError, match="invalid choice"):
        call_command("add_member", project.slug, "ann", "boss")
