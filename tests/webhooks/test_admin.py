"""Staff register endpoints (the secret shown once; http and internal addresses refused when the
settings say so) and replay deliveries, audited."""

import re

import pytest
from django.contrib.auth.models import Permission

from api.services import api_client_create
from requests_app.models import AuditEvent, OutboxMessage
from tests.conftest import StaffClient
from tests.factories import FederationRequestFactory, UserFactory
from webhooks.events import DELIVER_TASK, queue_webhook_event
from webhooks.models import WebhookDelivery, WebhookEndpoint

pytestmark = pytest.mark.django_db

SECRET = re.compile(r'value="(whsec_[\w-]+)"')
ADD = "/admin/webhooks/webhookendpoint/add/"


@pytest.fixture
def staff(webhook_admin):
    browser = StaffClient()
    browser.force_login(webhook_admin)
    return browser


@pytest.fixture
def api_client(webhook_admin):
    client, _ = api_client_create(
        name="Tenant automation", scopes=["requests:read"], actor=webhook_admin
    )
    return client


def form(client, url, events=("request.state_changed",)):
    return {"client": client.pk, "url": url, "events": list(events)}


def test_registering_an_endpoint_shows_its_secret_once(staff, api_client):
    response = staff.post(ADD, form(api_client, "https://automation.example.org/hooks"))

    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    secret = SECRET.search(response.content.decode())[1]
    endpoint = WebhookEndpoint.objects.get()
    assert endpoint.secret == secret  # kept readable: every delivery is signed with it
    assert endpoint.events == ["request.state_changed"]
    assert endpoint.client == api_client
    page = staff.get(f"/admin/webhooks/webhookendpoint/{endpoint.pk}/change/").content.decode()
    assert secret not in page
    assert "https://automation.example.org/hooks" in page
    assert AuditEvent.objects.filter(action="webhook.endpoint_created").count() == 1


@pytest.mark.parametrize(
    "url",
    [
        "http://automation.example.org/hooks",
        "HTTP://automation.example.org/hooks",
        "ftp://automation.example.org/hooks",
    ],
)
def test_a_url_that_is_not_https_is_refused_when_https_is_required(
    staff, api_client, settings, url
):
    settings.WEBHOOKS_REQUIRE_HTTPS = True

    response = staff.post(ADD, form(api_client, url))

    assert response.status_code == 200
    assert not WebhookEndpoint.objects.exists()
    page = response.content.decode()
    assert "https://" in page and "errorlist" in page


@pytest.mark.parametrize(
    "url",
    [
        "https://127.0.0.1/hooks",
        "https://localhost:8443/hooks",
        "https://[::1]/hooks",
        "https://10.1.2.3/hooks",
        "https://192.168.0.10/hooks",
        "https://172.16.0.1/hooks",
        "https://169.254.169.254/latest/meta-data",  # a cloud's metadata service
        "https://[fd00::1]/hooks",
        "https://0.0.0.0/hooks",
        "https://2130706433/hooks",  # 127.0.0.1 written as one number
    ],
)
def test_an_address_inside_the_network_is_refused_in_production(staff, api_client, settings, url):
    settings.WEBHOOKS_REQUIRE_HTTPS = True
    settings.WEBHOOKS_ALLOW_PRIVATE_ADDRESSES = False

    response = staff.post(ADD, form(api_client, url))

    assert not WebhookEndpoint.objects.exists()
    assert "errorlist" in response.content.decode()


def test_loopback_http_is_allowed_where_the_settings_allow_it(staff, api_client, settings):
    settings.WEBHOOKS_REQUIRE_HTTPS = False
    settings.WEBHOOKS_ALLOW_PRIVATE_ADDRESSES = True

    staff.post(ADD, form(api_client, "http://127.0.0.1:8080/hooks"))

    assert WebhookEndpoint.objects.get().url == "http://127.0.0.1:8080/hooks"


@pytest.fixture
def delivery(make_endpoint):
    endpoint, _ = make_endpoint(["request.state_changed"])
    req = FederationRequestFactory()
    [queued] = queue_webhook_event(
        "request.state_changed",
        {"reference": req.reference, "state": "submitted"},
        occurred_at=req.created_at,
    )
    WebhookDelivery.objects.filter(pk=queued.pk).update(status="failed", attempts=8)
    queued.refresh_from_db()
    return queued


def test_replaying_a_delivery_sends_the_same_event_as_a_new_delivery_and_is_audited(
    staff, delivery, webhook_admin
):
    page = staff.get(f"/admin/webhooks/webhookdelivery/{delivery.pk}/change/").content.decode()
    assert "Replay" in page

    staff.post(f"/admin/webhooks/webhookdelivery/{delivery.pk}/replay/")

    replay = WebhookDelivery.objects.exclude(pk=delivery.pk).get()
    assert replay.event_id == delivery.event_id
    assert replay.payload == delivery.payload
    assert replay.endpoint == delivery.endpoint
    assert replay.status == "pending" and replay.attempts == 0
    event = AuditEvent.objects.get(action="webhook.replayed")
    assert event.actor == webhook_admin
    assert str(delivery.event_id) in event.message
    assert OutboxMessage.objects.filter(
        task_name=DELIVER_TASK, kwargs={"delivery_id": replay.pk}
    ).exists()


def test_the_replay_action_on_the_list_replays_each_selected_delivery(staff, delivery):
    staff.post(
        "/admin/webhooks/webhookdelivery/",
        {"action": "replay", "_selected_action": [delivery.pk]},
    )

    assert WebhookDelivery.objects.filter(event_id=delivery.event_id).count() == 2
    assert AuditEvent.objects.filter(action="webhook.replayed").count() == 1


def test_someone_who_may_not_manage_webhooks_cannot_replay(delivery):
    reader = UserFactory(username="fiona.feedback", groups=["Feedback team"], is_superuser=False)
    reader.user_permissions.add(Permission.objects.get(codename="view_webhookdelivery"))
    browser = StaffClient()
    browser.force_login(reader)

    browser.post(f"/admin/webhooks/webhookdelivery/{delivery.pk}/replay/")

    assert WebhookDelivery.objects.count() == 1
    assert not AuditEvent.objects.filter(action="webhook.replayed").exists()


def test_a_delivery_still_being_tried_is_not_replayed(staff, delivery):
    WebhookDelivery.objects.filter(pk=delivery.pk).update(status="pending", attempts=2)

    response = staff.post(f"/admin/webhooks/webhookdelivery/{delivery.pk}/replay/", follow=True)

    assert "still being tried" in response.content.decode()
    assert WebhookDelivery.objects.count() == 1
    assert not AuditEvent.objects.filter(action="webhook.replayed").exists()


def test_staff_change_an_endpoints_events_and_switch_it_off_audited(staff, make_endpoint):
    endpoint, secret = make_endpoint(["request.state_changed"])

    staff.post(
        f"/admin/webhooks/webhookendpoint/{endpoint.pk}/change/",
        {"events": ["request.state_changed", "support.updated"]},  # "active" unticked
    )

    endpoint.refresh_from_db()
    assert endpoint.events == ["request.state_changed", "support.updated"]
    assert endpoint.active is False
    assert endpoint.secret == secret
    assert AuditEvent.objects.filter(action="webhook.endpoint_changed").count() == 1
