"""Ingest around the site: `receipts serve` options, and the producer reading receipts
through the site's API over HTTP."""

import threading
from pathlib import Path

import pytest
from click.testing import CliRunner
from werkzeug.serving import make_server

from receipts.producer import site_receipts
from receipts_cli.home import Home
from receipts_cli.main import main
from receipts_cli.site import ingest_config
from tests.site.conftest import Site


def test_serve_publishes_to_the_gcp_stores_topic_or_the_one_given(tmp_path: Path) -> None:
    local, cloud = Home(tmp_path), Home(tmp_path, "gcp://billing-local")
    assert ingest_config(local, None) == {}  # the embedded default: ingest off, the site as before
    assert ingest_config(cloud, None)["INGEST_TOPIC"] == "projects/billing-local/topics/billing-events"
    assert ingest_config(cloud, "other")["INGEST_TOPIC"] == "projects/billing-local/topics/other"
    given = ingest_config(local, "projects/p1/topics/t1", 50, 5, 3)
    assert given == {
        "INGEST_TOPIC": "projects/p1/topics/t1",
        "INGEST_MAX_IN_FLIGHT": 50,
        "INGEST_MAX_IN_FLIGHT_PER_CUSTOMER": 5,
        "INGEST_MAX_REQUESTS_PER_CUSTOMER": 3,
    }
    with pytest.raises(ValueError, match="needs --store gcp://PROJECT"):
        ingest_config(local, "billing-events")


def test_serve_refuses_a_bare_topic_name_without_a_project(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["--home", str(tmp_path), "serve", "--topic", "billing-events"])
    assert result.exit_code == 2 and "projects/P/topics/T" in result.output


def test_the_producer_reads_receipts_through_the_sites_api(site: Site) -> None:
    server = make_server("127.0.0.1", 0, site.app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        base = f"http://127.0.0.1:{server.server_port}"
        lookup = site_receipts(base, site.api_keys["cust_1"])
        known = site.receipts["cust_1"][1]
        assert lookup(known["receipt_id"]) == known
        assert lookup("r_" + "a" * 26) is None  # not written (yet)
        assert lookup(site.receipts["cust_2"][0]["receipt_id"]) is None  # another customer's: as missing
    finally:
        server.shutdown()
        thread.join(10)
