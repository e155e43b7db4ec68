"""Keys, health, metrics and the OpenAPI document."""

from pathlib import Path

from receipts.stores.keyring import KeyRing
from tests.site.conftest import Site
from verifier_site import create_app
from verifier_site.key_source import KeyRingSource


def test_the_jwks_is_the_key_rings(site: Site, keyring: KeyRing) -> None:
    response = site.client.get("/.well-known/jwks.json")
    assert response.status_code == 200 and response.json == keyring.jwks()
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    assert response.headers["Cache-Control"].startswith("public")


def test_a_public_key_as_pem(site: Site, keyring: KeyRing) -> None:
    kid = keyring.current_kid
    response = site.client.get(f"/v1/keys/{kid}.pem")
    assert response.status_code == 200 and response.data == keyring.public_pem(kid)
    assert response.mimetype == "application/x-pem-file"
    assert b"PRIVATE" not in response.data


def test_pem_errors(site: Site) -> None:
    bad = site.client.get("/v1/keys/not-a-kid.pem")
    assert bad.status_code == 400 and bad.json["error"]["code"] == "invalid_kid"
    unknown = site.client.get(f"/v1/keys/{'A' * 43}.pem")
    assert unknown.status_code == 404 and unknown.json["error"]["code"] == "not_found"
    assert site.client.post(f"/v1/keys/{'A' * 43}.pem").status_code == 405


def test_an_empty_key_ring_serves_an_empty_jwks_and_creates_no_key(tmp_path: Path) -> None:
    app = create_app({"STORE_URL": f"sqlite:///{tmp_path / 'r.db'}", "KEYS_FOLDER": str(tmp_path / "keys")})
    client = app.test_client()
    assert client.get("/.well-known/jwks.json").json == {"keys": []}
    health = client.get("/healthz")
    assert health.status_code == 503 and health.json == {
        "status": "unavailable",
        "checks": {"store": "ok", "keys": "no published keys"},
        "intake": {"frozen": False, "reason": "", "since": None, "by": ""},
    }
    assert not (tmp_path / "keys").exists()


def test_a_rotated_key_is_published_after_the_cache_time(tmp_path: Path) -> None:
    now = [0.0]
    ring = KeyRing(tmp_path / "keys")
    first = ring.ensure_current()
    source = KeyRingSource(ring.folder, cache_seconds=60, clock=lambda: now[0])
    assert [key["kid"] for key in source.jwks()["keys"]] == [first]
    second = ring.rotate()
    assert [key["kid"] for key in source.jwks()["keys"]] == [first]
    now[0] = 61.0
    assert [key["kid"] for key in source.jwks()["keys"]] == [second, first]
    assert source.public_pem(first) == ring.public_pem(first) and source.public_pem("nope") is None


def test_healthz(site: Site) -> None:
    response = site.client.get("/healthz")
    assert response.status_code == 200
    assert response.json == {
        "status": "ok",
        "checks": {"store": "ok", "keys": "ok"},
        "intake": {"frozen": False, "reason": "", "since": None, "by": ""},
    }


def test_metrics_count_requests_verifications_and_latency(site: Site) -> None:
    receipt_id = site.receipts["cust_1"][0]["receipt_id"]
    site.client.get(f"/v1/receipts/{receipt_id}", headers=site.bearer())
    site.client.get(f"/v1/receipts/{receipt_id}")
    site.client.post("/v1/verify", json=site.receipts["cust_1"])
    text = site.client.get("/metrics").get_data(as_text=True)
    assert 'verifier_requests_total{method="GET",route="/v1/receipts/<receipt_id>",status="200"} 1.0' in text
    assert 'verifier_requests_total{method="GET",route="/v1/receipts/<receipt_id>",status="401"} 1.0' in text
    assert 'verifier_verifications_total{result="pass",source="api"} 3.0' in text
    assert 'verifier_request_duration_seconds_count{route="/v1/verify"} 1.0' in text
    assert "# TYPE verifier_request_duration_seconds histogram" in text


def test_two_apps_keep_separate_metrics(make_site) -> None:
    one, two = make_site(), make_site()
    one.client.get("/healthz")
    assert 'route="/healthz"' not in two.client.get("/metrics").get_data(as_text=True)


TILE_FORMS = ["/log/tile/{level}/{index}", "/log/tile/{level}/{index}.p/{width}"]


def test_openapi_describes_every_route(site: Site) -> None:
    document = site.client.get("/openapi.json").json
    assert document["openapi"].startswith("3.1")
    documented = {(path, method.upper()) for path, item in document["paths"].items() for method in item}
    served = set()
    for rule in site.app.url_map.iter_rules():
        path = rule.rule.replace("<", "{").replace(">", "}").replace("{path:filename}", "{filename}")
        # One route serves every tile path (N may hold x-groups: tile/0/x001/234); the
        # document names its two shapes, full and partial, as OpenAPI templates can.
        forms = TILE_FORMS if path == "/log/tile/{path:rest}" else [path]
        served |= {(form, method) for form in forms for method in rule.methods - {"HEAD", "OPTIONS"}}
    assert served == documented


def test_openapi_errors_are_described_for_every_api_route(site: Site) -> None:
    paths = site.client.get("/openapi.json").json["paths"]
    for path, item in paths.items():
        for operation in item.values():
            if path.startswith("/v1/receipts") or path.startswith("/v1/customers"):
                assert {"400", "401", "404", "429"} <= set(operation["responses"]), path
            if "429" in operation["responses"]:
                assert "Retry-After" in operation["responses"]["429"]["headers"]
