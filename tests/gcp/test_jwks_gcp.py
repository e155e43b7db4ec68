"""The public keys from a Cloud Storage object (the emulator): the scheduled reconciliation's
workers have private IPs only and no route to the site, so Terraform passes it
--jwks gs://…/keys/jwks.json, an object the deployer publishes (docs/DEPLOY.md)."""

import json

import pytest

from receipts.stores.gcp.bucket_archive import storage_client
from receipts.stores.public_keys import MAX_JWKS_BYTES, JwksUnavailable, NotAJwks, load_jwks


def test_the_jwks_is_read_from_a_bucket_object(cloud) -> None:
    bucket = storage_client().bucket(cloud.location.bucket)
    bucket.blob("keys/jwks.json").upload_from_string(json.dumps(cloud.keys.jwks()), content_type="application/json")
    url = f"gs://{cloud.location.bucket}/keys/jwks.json"
    jwks, described = load_jwks(url)
    assert set(jwks.keys) == {cloud.keys.current_kid} and described == url

    with pytest.raises(JwksUnavailable, match="no object"):
        load_jwks(f"gs://{cloud.location.bucket}/keys/missing.json")
    bucket.blob("keys/large.json").upload_from_string(b" " * (MAX_JWKS_BYTES + 10))
    with pytest.raises(NotAJwks, match="larger than"):
        load_jwks(f"gs://{cloud.location.bucket}/keys/large.json")
