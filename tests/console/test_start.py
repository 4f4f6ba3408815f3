"""/console/ itself: staff land on their entity, choose among several, or are told they have none."""

from __future__ import annotations

import html
import re

import pytest
from django.contrib.auth.models import User
from django.test import Client

from leadbill.web.services import staff_add
from tests.factories import make_entity
from tests.webworld import ACME_USER, OTHER_ADMIN, PASSWORD, STAFF, Site

FINANCE = STAFF["finance"]


def text(response) -> str:
    return html.unescape(response.content.decode())


def dashboard_links(response) -> list[str]:
    """The console URLs the page links to, in page order."""
    return re.findall(r'href="(/console/[^"]+)"', response.content.decode())


@pytest.fixture
def third(site: Site):
    """A third business, with its own admin: none of the site's staff belong to it."""
    entity = make_entity(slug="third", legal_name="Third Leads Ltd")
    staff_add(actor="test", entity=entity, email="admin@third.test", name="Third", role="admin", password=PASSWORD)
    return entity


@pytest.fixture
def finance_of_two(site: Site, third):
    """The site's finance user, also read-only in the other business."""
    site.other.legal_name = "Other Leads Ltd"
    site.other.save()
    site.entity.legal_name = "Leadco Ltd"
    site.entity.save()
    staff_add(actor="test", entity=site.other, email=FINANCE, name="Finance", role="readonly")
    return site.login(FINANCE)


def test_staff_of_one_entity_go_straight_to_its_dashboard(site: Site):
    assert site.login(FINANCE).get("/console/").url == "/console/leadco/"
    assert site.login(OTHER_ADMIN).get("/console/").url == "/console/other/"


def test_staff_of_several_entities_choose_among_exactly_theirs(site: Site, finance_of_two):
    response = finance_of_two.get("/console/")
    assert response.status_code == 200
    assert [t.name for t in response.templates][:2] == ["console/start.html", "console/base.html"]
    assert dashboard_links(response) == ["/console/leadco/", "/console/other/"]  # by name; not /console/third/
    page = text(response)
    assert "Choose a business" in page and "Leadco Ltd" in page and "Other Leads Ltd" in page
    assert "Third Leads Ltd" not in page
    assert "Finance" in page and "Read-only" in page  # the role in each
    assert 'aria-label="Sections"' not in page  # no entity's navigation: none is chosen yet
    assert "Sign out" in page
    for url in dashboard_links(response):
        assert finance_of_two.get(url).status_code == 200, url


def test_the_start_page_gives_staff_the_same_choice(site: Site, finance_of_two):
    response = finance_of_two.get("/")
    assert response.status_code == 200
    assert dashboard_links(response) == ["/console/leadco/", "/console/other/"]


def test_the_choice_costs_the_same_few_queries_however_many_entities(
    site: Site, finance_of_two, django_assert_max_num_queries
):
    with django_assert_max_num_queries(3):  # session, user, memberships with their entities
        finance_of_two.get("/console/")
    for n in range(5):
        staff_add(actor="test", entity=make_entity(slug=f"more-{n}"), email=FINANCE, name="Finance", role="finance")
    with django_assert_max_num_queries(3):
        response = finance_of_two.get("/console/")
    assert len(dashboard_links(response)) == 7


def test_staff_of_no_entity_are_refused_with_the_reason(site: Site):
    nobody = Client()
    nobody.force_login(User.objects.create_user("drifter@leadco.test", password=PASSWORD))
    response = nobody.get("/console/")
    assert response.status_code == 403
    assert "no access to any business yet" in text(response)
    assert dashboard_links(response) == []
    assert "Sign out" in text(response)  # not stuck: sign-in would only bring them back here


def test_anonymous_visitors_are_sent_to_sign_in_and_back(site: Site, client):
    response = client.get("/console/")
    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/?next=/console/"


def test_partner_users_are_sent_to_the_portal(site: Site):
    partner_user = site.login(ACME_USER)
    response = partner_user.get("/console/")
    assert response.status_code == 302 and response.url == "/portal/"
    assert partner_user.get(response.url).status_code == 200


def test_the_start_page_reads_only(site: Site):
    assert site.login(FINANCE).post("/console/").status_code == 405


def sign_in(client: Client, email: str, **query: str):
    suffix = "".join(f"?{k}={v}" for k, v in query.items())
    return client.post("/accounts/login/" + suffix, {"username": email, "password": PASSWORD})


def test_signing_in_without_next_sends_staff_to_the_console_and_partners_to_the_portal(site: Site, finance_of_two):
    assert sign_in(Client(), FINANCE).url == "/console/"
    assert sign_in(Client(), OTHER_ADMIN).url == "/console/"
    assert sign_in(Client(), ACME_USER).url == "/portal/"
    assert sign_in(Client(), FINANCE, next="/console/other/invoices/").url == "/console/other/invoices/"
