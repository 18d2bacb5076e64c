"""The members page: add or create a member, change or remove a role, under the stated rules."""

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse

from annotator.models import AuditEntry, Membership
from tests import factories

pytestmark = pytest.mark.django_db


def add(client, project, **data):
    return client.post(reverse("project_members", args=[project.slug]), data)


def change(client, membership, **data):
    return client.post(reverse("member_change", args=[membership.project.slug, membership.pk]), data, follow=True)


def membership_of(project, user):
    return Membership.objects.get(project=project, user=user)


def test_lead_adds_an_existing_user_and_it_is_audited(client, project, lead, outsider):
    client.force_login(lead)
    assert add(client, project, username="outsider", role="labeler").status_code == 302
    assert membership_of(project, outsider).role == "labeler"
    entry = AuditEntry.objects.get(action="member.add")
    assert entry.detail == {"username": "outsider", "role": "labeler", "created_user": False}
    assert entry.actor_username == "lead"


def test_lead_creates_a_user_with_a_password_who_can_then_log_in(client, project, lead):
    client.force_login(lead)
    assert add(client, project, username="alice", role="lead", password="a-long-pass-1234").status_code == 302
    alice = get_user_model().objects.get(username="alice")
    assert alice.check_password("a-long-pass-1234") and membership_of(project, alice).role == "lead"
    assert AuditEntry.objects.get(action="member.add").detail["created_user"] is True


@pytest.mark.parametrize(
    "data, message",
    [
        ({"username": "nobody", "role": "labeler"}, "There is no user nobody: give a password to create one."),
        ({"username": "outsider", "role": "labeler", "password": "x-long-pass-99"}, "outsider already exists"),
        ({"username": "labeler", "role": "lead"}, "labeler is already a member"),
        ({"username": "bob", "role": "labeler", "password": "123"}, "This password is too short"),
        ({"username": "outsider", "role": "admin"}, "Only an admin can grant"),
        ({"username": "bob smith", "role": "labeler", "password": "x-long-pass-99"}, "Enter a valid username"),
    ],
)
def test_refused_additions_say_why_and_change_nothing(client, project, lead, labeler, outsider, settings, data, message):
    settings.AUTH_PASSWORD_VALIDATORS = [{"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"}]
    client.force_login(lead)
    members_before = set(Membership.objects.values_list("user__username", "role"))
    response = add(client, project, **data)
    assert response.status_code == 400
    assert message in response.content.decode()
    assert set(Membership.objects.values_list("user__username", "role")) == members_before
    assert not get_user_model().objects.filter(username="bob").exists()
    assert not AuditEntry.objects.exists()


def test_lead_changes_a_role_and_it_is_audited_with_old_and_new(client, project, lead, labeler):
    client.force_login(lead)
    membership = membership_of(project, labeler)
    change(client, membership, **{f"m{membership.pk}-role": "lead"})
    assert membership_of(project, labeler).role == "lead"
    entry = AuditEntry.objects.get(action="member.role")
    assert entry.detail == {"username": "labeler", "role": ["labeler", "lead"]}


def test_lead_removes_a_member_and_it_is_audited(client, project, lead, labeler):
    client.force_login(lead)
    change(client, membership_of(project, labeler), remove="1")
    assert not Membership.objects.filter(user=labeler).exists()
    assert AuditEntry.objects.get(action="member.remove").detail == {"username": "labeler", "role": "labeler"}


def test_lead_cannot_grant_change_or_remove_admin(client, project, lead, labeler, admin_user):
    client.force_login(lead)
    labeler_membership = membership_of(project, labeler)
    page = change(client, labeler_membership, **{f"m{labeler_membership.pk}-role": "admin"}).content.decode()
    assert "Only an admin can grant" in page
    change(client, membership_of(project, admin_user), remove="1")
    change(client, membership_of(project, admin_user), **{f"m{membership_of(project, admin_user).pk}-role": "lead"})
    assert membership_of(project, labeler).role == "labeler" and membership_of(project, admin_user).role == "admin"
    assert not AuditEntry.objects.exists()


def test_admin_grants_admin_but_the_last_admin_cannot_leave(client, project, labeler, admin_user):
    client.force_login(admin_user)
    own = membership_of(project, admin_user)
    page = change(client, own, remove="1").content.decode()
    assert "last admin" in page and Membership.objects.filter(pk=own.pk).exists()
    page = change(client, own, **{f"m{own.pk}-role": "lead"}).content.decode()
    assert "last admin" in page and membership_of(project, admin_user).role == "admin"
    other = membership_of(project, labeler)
    change(client, other, **{f"m{other.pk}-role": "admin"})
    change(client, own, remove="1")  # now there is another admin
    assert list(Membership.objects.filter(project=project, role="admin").values_list("user__username", flat=True)) == [
        "labeler"
    ]
    assert [e.action for e in AuditEntry.objects.order_by("id")] == ["member.role", "member.remove"]


def test_members_of_another_project_cannot_be_changed_from_this_one(client, project, lead):
    other = factories.project()
    stranger = factories.member(other, "labeler")
    client.force_login(lead)
    response = client.post(
        reverse("member_change", args=[project.slug, membership_of(other, stranger).pk]), {"remove": "1"}
    )
    assert response.status_code == 404
    assert Membership.objects.filter(user=stranger).exists()


def test_labeler_cannot_post_member_changes(client, project, labeler, lead):
    client.force_login(labeler)
    assert add(client, project, username="outsider", role="labeler").status_code == 403
    response = client.post(reverse("member_change", args=[project.slug, membership_of(project, lead).pk]), {"remove": "1"})
    assert response.status_code == 403
    assert Membership.objects.filter(user=lead).exists()
