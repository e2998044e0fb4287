"""The journeys API: read, switch on, replace the steps; bad input writes nothing."""

import pytest

from campaigns.journey_models import Enrollment, Journey
from campaigns.journey_seed import ensure_journeys
from campaigns.services import journeys
from tests.campaigns.factories import CustomerFactory
from tests.factories import make_token

pytestmark = pytest.mark.django_db


@pytest.fixture
def marketer(token_client):
    _, plain = make_token(["campaigns:read", "campaigns:write"], name="Marketing")
    return token_client(plain)


@pytest.fixture
def seeded():
    return {journey.key: journey for journey in ensure_journeys(active=False)}


def steps_of(journey):
    return list(journey.steps.values_list("position", "kind", "wait", "rule", "message_key"))


def test_journeys_are_listed_with_their_ordered_steps(marketer, seeded):
    response = marketer.get("/api/v1/journeys/abandoned-cart/")

    assert response.status_code == 200
    body = response.json()
    assert body["trigger"] == "cart_idle"
    assert [step["kind"] for step in body["steps"]] == [
        "exit_when",
        "exit_when",
        "exit_when",
        "wait",
        "send",
        "wait",
        "send",
    ]
    assert body["steps"][3]["wait"] == "01:00:00"
    assert body["steps"][6]["promotion"] is not None


def test_a_marketer_switches_a_journey_on(marketer, seeded):
    response = marketer.patch("/api/v1/journeys/win-back/", {"active": True}, format="json")

    assert response.status_code == 200
    assert Journey.objects.get(key="win-back").active


def test_a_timed_trigger_without_a_duration_is_refused(marketer, seeded):
    response = marketer.patch(
        "/api/v1/journeys/win-back/", {"trigger_after": None, "active": True}, format="json"
    )

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_journey_step"
    journey = Journey.objects.get(key="win-back")
    assert not journey.active
    assert journey.trigger_after is not None


def test_the_steps_are_replaced_in_the_order_given(marketer, seeded):
    response = marketer.put(
        "/api/v1/journeys/welcome/steps/",
        {
            "steps": [
                {"kind": "wait", "wait": "00:10:00"},
                {"kind": "send", "message_key": "follow_up"},
                {"kind": "send", "message_key": "welcome"},
            ]
        },
        format="json",
    )

    assert response.status_code == 200
    assert [step["message_key"] for step in response.json()["steps"]] == [
        "",
        "follow_up",
        "welcome",
    ]
    assert [row[0] for row in steps_of(seeded["welcome"])] == [1, 2, 3]


@pytest.mark.parametrize(
    ("steps", "code"),
    [
        ([{"kind": "teleport"}], "invalid_input"),
        ([{"kind": "wait"}], "invalid_journey_step"),
        ([{"kind": "wait", "wait": "-1 00:00:00"}], "invalid_journey_step"),
        ([{"kind": "exit_when", "rule": "moon_is_full"}], "invalid_input"),
        ([{"kind": "condition"}], "unknown_journey_rule"),
        ([{"kind": "send", "message_key": "no_such_message"}], "invalid_journey_step"),
        ([{"kind": "send", "message_key": "welcome", "code_valid_days": 0}], "invalid_input"),
        ([{"kind": "send", "message_key": "welcome", "promotion": 999999}], "invalid_input"),
        ("not a list", "invalid_input"),
    ],
)
def test_bad_steps_get_the_error_shape_and_write_nothing(marketer, seeded, steps, code):
    before = steps_of(seeded["welcome"])

    response = marketer.put("/api/v1/journeys/welcome/steps/", {"steps": steps}, format="json")

    assert response.status_code == 400
    assert response.json()["error"]["code"] == code
    assert steps_of(seeded["welcome"]) == before


def test_a_reader_cannot_change_steps(token_client, seeded):
    _, plain = make_token(["campaigns:read"], name="Reports")
    before = steps_of(seeded["welcome"])

    response = token_client(plain).put(
        "/api/v1/journeys/welcome/steps/", {"steps": []}, format="json"
    )

    assert response.status_code == 403
    assert steps_of(seeded["welcome"]) == before


def test_an_unknown_journey_is_404(marketer, seeded):
    response = marketer.put("/api/v1/journeys/nope/steps/", {"steps": []}, format="json")

    assert response.status_code == 404
    assert "error" in response.json()


def test_enrolments_are_listed_by_journey_and_state(marketer, seeded):
    ana, bea = CustomerFactory(), CustomerFactory(first_name="Bea")
    journeys.enrol(journey=seeded["welcome"], customer=ana, trigger_key="signup")
    journeys.enrol(journey=seeded["win-back"], customer=bea, trigger_key="lapsed:1")

    response = marketer.get("/api/v1/journey-enrollments/?journey=welcome&state=active")

    assert response.status_code == 200
    results = response.json()["results"]
    assert [row["customer"] for row in results] == [str(ana.public_id)]
    assert results[0]["state"] == "active"
    assert Enrollment.objects.count() == 2
