"""The console's automation page: schedule, email templates, webhook endpoints and their delivery log."""

from leadbill.audit.models import AuditEvent
from leadbill.mailing.models import MailSettings
from leadbill.scheduling.models import Schedule
from leadbill.webhooks.models import Delivery, DeliveryState, Endpoint, Event
from tests.webworld import STAFF, Site


def test_admin_sets_a_weekly_schedule_and_a_refused_window_is_explained(site: Site):
    admin = site.login(STAFF["admin"])
    url = f"/console/{site.entity.slug}/automation/"
    base = {"frequency": "weekly", "start_day": "0", "start_time": "00:00", "end_day": "6", "end_time": "23:59",
            "generate_day": "6", "generate_time": "22:00", "send_email": "on"}  # fmt: skip
    page = admin.post(url + "schedule/", base, follow=True)
    assert (
        "Schedule not saved" in page.text and "ends Sunday 23:59, after the generation time Sunday 22:00" in page.text
    )
    assert not Schedule.objects.filter(entity=site.entity).exists()
    page = admin.post(url + "schedule/", {**base, "generate_day": "0", "generate_time": "06:00"}, follow=True)
    assert "Schedule saved: weekly: window Monday 00:00 to Sunday 23:59, generated Monday 06:00" in page.text
    assert "Next run:" in page.text
    schedule = Schedule.objects.get(entity=site.entity, partner=None)
    assert (schedule.generate_day, schedule.generate_minute, schedule.send_email) == (0, 360, True)


def test_admin_edits_email_templates_and_adds_an_endpoint(site: Site, settings, fake_dns):
    fake_dns({"hooks.example": ["93.184.216.34"]})
    admin = site.login(STAFF["admin"])
    url = f"/console/{site.entity.slug}/automation/"
    page = admin.post(url + "email/", {"sender": "Billing <b@leadco.test>", "subject_template": "$oops",
                                       "body_template": "x"}, follow=True)  # fmt: skip
    assert "unknown placeholder $oops" in page.text and not MailSettings.objects.exists()
    admin.post(url + "email/", {"sender": "Billing <b@leadco.test>", "subject_template": "$kind $number",
                                "body_template": "Hi $partner"})  # fmt: skip
    assert MailSettings.objects.get(entity=site.entity).subject_template == "$kind $number"
    page = admin.post(url + "webhooks/", {"url": "https://hooks.example/lb", "events": ["invoice.paid"]}, follow=True)
    endpoint = Endpoint.objects.get(entity=site.entity)
    assert endpoint.events == ["invoice.paid"] and endpoint.secret in page.text
    event = Event.objects.create(entity=site.entity, type="invoice.paid", payload={})
    delivery = Delivery.objects.create(event=event, endpoint=endpoint, state=DeliveryState.FAILED, attempts=7,
                                       last_status=500)  # fmt: skip
    page = admin.get(url)
    assert "invoice.paid" in page.text and "Failed" in page.text
    admin.post(url + f"deliveries/{delivery.pk}/retry/")
    delivery.refresh_from_db()
    assert delivery.state == DeliveryState.QUEUED  # its task runs once the request's transaction commits
    assert AuditEvent.objects.filter(action="webhook.redelivered", data__event=str(event.id)).count() == 1
