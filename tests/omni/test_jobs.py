"""Long actions in the worker with progress on a page: CSV imports (preview, per-row
errors, all or nothing) and exports, and the customer-metrics recompute."""

import csv
import io
import time

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.urls import reverse

from customers.models import Customer, Identity
from inventory.models import StockLevel, StockMovement
from inventory.services.stock import receive_stock
from omni.jobs import Progress, run_job, start_job
from omni.models import Job, Role
from tests.factories import LocationFactory, make_staff
from tests.inventory.factories import SkuFactory, StockLevelFactory

pytestmark = pytest.mark.django_db


def upload(client, kind: str, text: str, name: str = "file.csv"):
    return client.post(
        reverse("admin:csv_import", args=[kind]),
        {"file": SimpleUploadedFile(name, text.encode(), content_type="text/csv")},
    )


def confirm(client, kind: str, text: str):
    return client.post(reverse("admin:csv_import", args=[kind]), {"confirm": "1", "csv_text": text})


@pytest.fixture
def marketer(client):
    user = make_staff("marco", Role.MARKETER)
    client.force_login(user)
    return user


CUSTOMERS = (
    "first_name,last_name,email,phone,country\n"
    "Inês,Matos,ines@example.com,912 000 111,PT\n"
    "Hugo,Faria,hugo@example.com,,PT\n"
)


def test_a_customer_file_with_bad_rows_is_reported_row_by_row_and_nothing_written(client, marketer):
    text = CUSTOMERS + "Bad,Phone,bad@example.com,12,PT\nDup,Email,INES@example.com,,PT\n,,,,\n"
    page = upload(client, "customers", text).content.decode()
    errors = page.split('id="csv-errors"')[1].split("</table>")[0]
    assert "<td>4</td><td>phone</td>" in errors
    assert "<td>5</td><td>email</td><td>the same email is on row 2" in errors
    assert "<td>6</td><td>email</td><td>each customer needs an email" in errors
    assert "nothing will be imported" in page
    assert 'name="confirm"' not in page
    assert "Inês" in page.split('id="csv-preview"')[1]  # the rows as read
    assert not Customer.objects.exists()
    assert not Job.objects.exists()


def test_a_clean_customer_file_is_written_by_the_worker_with_its_result_on_the_job_page(
    client, marketer
):
    page = upload(client, "customers", CUSTOMERS).content.decode()
    assert "2 row(s): 2 new customer(s)" in page
    response = confirm(client, "customers", CUSTOMERS)
    job = Job.objects.get()
    assert (job.kind, job.state, job.created_by) == ("csv_import.customers", "queued", marketer)
    assert response["Location"] == reverse("admin:job", args=[job.pk])
    assert not Customer.objects.exists()

    job = run_job(job_id=job.pk)
    assert (job.state, job.progress_done, job.progress_total) == ("succeeded", 2, 2)
    assert Identity.objects.get(kind="phone").value == "+351912000111"
    assert Customer.objects.count() == 2
    page = client.get(response["Location"]).content.decode()
    assert "Imported 2 customer row(s): 2 new customer(s)." in page
    status = client.get(reverse("admin:job_status", args=[job.pk])).json()
    assert status == {
        "state": "succeeded",
        "state_label": "Done",
        "done": 2,
        "total": 2,
        "percent": 100,
        "note": "2 of 2 rows written",
        "finished": True,
    }


def test_a_job_delivered_twice_runs_once(client, marketer):
    confirm(client, "customers", CUSTOMERS)
    job = Job.objects.get()
    run_job(job_id=job.pk)
    again = run_job(job_id=job.pk)
    assert again.state == "succeeded"
    assert Customer.objects.count() == 2


def test_an_export_imports_back_unchanged(client, marketer):
    confirm(client, "customers", CUSTOMERS)
    run_job(job_id=Job.objects.get().pk)
    exported = client.get(reverse("admin:csv_export", args=["customers"]))
    assert exported["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(exported.content.decode())))
    assert {(row["email"], row["phone"]) for row in rows} == {
        ("ines@example.com", "+351912000111"),
        ("hugo@example.com", ""),
    }
    page = upload(client, "customers", exported.content.decode()).content.decode()
    assert "0 new customer(s)" in page


@pytest.fixture
def lisbon_counts(client):
    lisbon = LocationFactory(code="lisbon-chiado", name="Lisbon Chiado")
    porto = LocationFactory(code="porto-baixa", name="Porto Baixa")
    tee = SkuFactory(code="TEE-1")
    cap = SkuFactory(code="CAP-1")
    for place in (lisbon, porto):
        StockLevelFactory(location=place, sku=tee, on_hand=5)
        StockLevelFactory(location=place, sku=cap, on_hand=2)
    manager = make_staff("miguel", Role.STORE_MANAGER, [lisbon])
    client.force_login(manager)
    return {"lisbon": lisbon, "porto": porto, "tee": tee, "cap": cap}


def count_sheet(client) -> list[dict]:
    exported = client.get(reverse("admin:csv_export", args=["stock"])).content.decode()
    return list(csv.DictReader(io.StringIO(exported)))


def as_csv(rows: list[dict]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(rows[0]))
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()


def test_a_count_sheet_covers_the_managers_store_and_writes_the_counts(client, lisbon_counts):
    sheet = count_sheet(client)
    assert {row["location"] for row in sheet} == {"lisbon-chiado"}
    for row in sheet:
        row["counted"] = {"TEE-1": "4", "CAP-1": ""}[row["sku"]]
    text = as_csv(sheet)
    assert "1 count(s), 1 of them change on hand." in upload(client, "stock", text).content.decode()
    confirm(client, "stock", text)
    job = run_job(job_id=Job.objects.get().pk)
    assert job.state == "succeeded"
    level = StockLevel.objects.get(location=lisbon_counts["lisbon"], sku=lisbon_counts["tee"])
    assert level.on_hand == 4
    assert StockMovement.objects.filter(reason__contains="Count sheet").count() == 1


def test_a_count_of_another_store_is_refused(client, lisbon_counts):
    text = "location,sku,on_hand,counted\nporto-baixa,TEE-1,5,1\n"
    page = upload(client, "stock", text).content.decode()
    assert "no location of yours has the code" in page
    assert 'name="confirm"' not in page


def test_stock_that_moved_after_the_preview_fails_the_job_and_writes_no_count(
    client, lisbon_counts
):
    sheet = count_sheet(client)
    for row in sheet:
        row["counted"] = "0"
    text = as_csv(sheet)
    assert 'name="confirm"' in upload(client, "stock", text).content.decode()
    confirm(client, "stock", text)
    # A delivery arrives between the preview and the worker's turn.
    receive_stock(location=lisbon_counts["lisbon"], sku=lisbon_counts["cap"], quantity=3)
    job = run_job(job_id=Job.objects.get().pk)
    assert job.state == "failed"
    assert job.error["code"] == "csv_invalid"
    [error] = job.error["details"]["errors"]
    assert error["column"] == "on_hand"
    assert "5 on hand now, not 2" in error["message"]
    tee = StockLevel.objects.get(location=lisbon_counts["lisbon"], sku=lisbon_counts["tee"])
    assert tee.on_hand == 5  # the good row was not written either
    page = client.get(reverse("admin:job", args=[job.pk])).content.decode()
    assert "Nothing was changed." in page
    assert "stock moved since the sheet was exported" in page


def test_store_staff_may_not_import_products_or_recompute_metrics(client, lisbon_counts):
    assert client.get(reverse("admin:csv_import", args=["products"])).status_code == 403
    response = client.post(
        reverse("admin:job_start", args=["customers.recompute_metrics"]), follow=True
    )
    assert "Your role may not start this job" in response.content.decode()
    assert not Job.objects.exists()


def test_the_metrics_recompute_reports_its_steps(client, marketer):
    response = client.post(reverse("admin:job_start", args=["customers.recompute_metrics"]))
    job = Job.objects.get()
    assert response["Location"] == reverse("admin:job", args=[job.pk])
    seen = []

    class Watching(Progress):
        def __call__(self, done, total=None, note=""):
            seen.append((done, total))
            super().__call__(done, total, note)

    from customers.services.metrics import recompute_all_metrics

    recompute_all_metrics(progress=Watching(job))
    assert seen == [(0, 3), (1, 3), (2, 3), (3, 3)]
    job = run_job(job_id=job.pk)
    assert job.state == "succeeded"
    assert "recomputed" in job.result["message"]


def test_someone_elses_job_does_not_exist_for_you(client, marketer):
    other = make_staff("paula", Role.INVENTORY_PLANNER)
    job = start_job(kind="customers.recompute_metrics", user=make_staff("boss", Role.ADMINISTRATOR))
    assert client.get(reverse("admin:job", args=[job.pk])).status_code == 404
    client.force_login(other)
    assert client.get(reverse("admin:job_status", args=[job.pk])).status_code == 404


def test_a_file_that_is_not_utf8_is_refused_in_plain_words(client, marketer):
    page = upload(client, "customers", "").content.decode()
    assert "the file is empty" in page
    response = client.post(
        reverse("admin:csv_import", args=["customers"]),
        {"file": SimpleUploadedFile("x.csv", "email\nzé@example.com\n".encode("latin-1"))},
    )
    assert "not UTF-8 text" in response.content.decode()


@pytest.mark.celery_worker
@pytest.mark.django_db(transaction=True)
def test_the_worker_runs_a_queued_import_and_progress_is_visible_from_outside(
    celery_worker_thread,
):
    marketer = make_staff("marco", Role.MARKETER)
    with transaction.atomic():
        job = start_job(kind="csv_import.customers", user=marketer, payload=CUSTOMERS)
    deadline = time.monotonic() + 60
    while Job.objects.get(pk=job.pk).state in ("queued", "running"):
        assert time.monotonic() < deadline, "the worker did not finish the job"
        time.sleep(0.2)
    job.refresh_from_db()
    assert (job.state, job.progress_done, job.progress_total) == ("succeeded", 2, 2)
    assert Customer.objects.count() == 2


@pytest.mark.django_db(transaction=True)
def test_progress_reported_inside_the_write_transaction_is_seen_outside_it():
    job = Job.objects.create(kind="customers.recompute_metrics", title="Recompute")
    progress = Progress(job)
    try:
        with transaction.atomic():
            progress(7, 10, "halfway")
            # Another connection (the page polling) sees it before this one commits.
            from django.db import DEFAULT_DB_ALIAS, connections

            other = connections.create_connection(DEFAULT_DB_ALIAS)
            with other.cursor() as cursor:
                cursor.execute("SELECT progress_done FROM omni_job WHERE id = %s", [job.pk])
                assert cursor.fetchone() == (7,)
            other.close()
    finally:
        progress.close()
