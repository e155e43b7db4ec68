"""The OpenAPI paths of ingest: POST /v1/events and /v1/events:batch."""

from collections.abc import Mapping
from typing import Any

from verifier_site.openapi.refs import ref
from verifier_site.openapi.responses import BEARER, JSON, RETRY_AFTER, error, json_response


def ingest_paths(config: Mapping[str, Any]) -> dict[str, Any]:
    """POST /v1/events and /v1/events:batch (verifier_site/blueprints/ingest.py)."""
    location = {"Location": {"description": "The receipt_url", "schema": {"type": "string"}}}
    refused = {
        "401": error("No valid API key; failed attempts spend the client IP's budget"),
        "429": error(
            "This customer's or this server's publishes in flight, requests in progress or waiting places are all "
            "taken (or, after failed authentications, the client IP's budget); retry the same event after Retry-After",
            headers=RETRY_AFTER,
        ),
        "503": error(
            "Ingest not configured, Pub/Sub slow or unavailable, the submission not recorded, or intake frozen (code "
            "ingest_not_configured, pubsub_unavailable, submission_not_recorded or intake_frozen; intake_frozen "
            "carries reason and since: nothing new is charged until an operator resumes intake, Retry-After 60); "
            "retrying the same event is safe",
            headers=RETRY_AFTER,
        ),
    }
    limit = config["INGEST_MAX_BATCH"]
    return {
        "/v1/events": {
            "post": {
                "summary": "Publish one usage event; 202 with its receipt_id once Pub/Sub has it "
                "(with wait: 200 with the receipt once stored)",
                "security": BEARER,
                "parameters": [
                    {
                        "name": "wait",
                        "in": "query",
                        "required": False,
                        "description": "Seconds to wait for the receipt: a plain decimal from 0 to 10 (at most 3 "
                        "decimals, given once; anything else is 400). The answer is the receipt (200) when stored in "
                        "time, else the 202. A duplicate whose receipt exists answers at once; waits are bounded "
                        "per server and per customer (429 too_many_waiting, nothing published)",
                        "schema": {"type": "number", "minimum": 0, "maximum": 10},
                    }
                ],
                "requestBody": {"required": True, "content": {JSON: {"schema": ref("Event")}}},
                "responses": {
                    "200": json_response(
                        "With wait: the receipt, exactly as GET /v1/receipts/{receipt_id} gives it",
                        ref("Receipt"),
                        {"Link": {"schema": {"type": "string"}}},
                    ),
                    "202": json_response(
                        "Published; the receipt follows at receipt_url", ref("EventAccepted"), location
                    ),
                    "400": error("Not a valid event: error.errors lists every rule it breaks"),
                    "403": error("The event names another customer than the API key's"),
                    "409": error(
                        "With wait: the receipt of this idempotent_key was made for another event (code "
                        "idempotency_conflict): this one charges nothing and is kept as a dead letter"
                    ),
                    "413": error("Body over 64 KiB, an event's limit"),
                    **refused,
                },
            }
        },
        "/v1/events:batch": {
            "post": {
                "summary": f"Publish up to {limit} events, answered per event",
                "security": BEARER,
                "requestBody": {
                    "required": True,
                    "description": "A JSON array of events, or JSONL (one event per line); each is published as "
                    "its exact bytes",
                    "content": {
                        JSON: {"schema": {"type": "array", "items": ref("Event"), "minItems": 1, "maxItems": limit}},
                        "application/x-ndjson": {"schema": {"type": "string"}},
                    },
                },
                "responses": {
                    "202": json_response("Every event published", ref("BatchResponse")),
                    "207": json_response(
                        "Some events refused: each result has the status and error POST /v1/events would give; "
                        "Retry-After when any may be retried",
                        ref("BatchResponse"),
                        RETRY_AFTER,
                    ),
                    "400": error("Not a JSON array or JSONL, or no events"),
                    "413": error(f"More than {limit} events, or a body over {config['MAX_CONTENT_LENGTH']} bytes"),
                    **refused,
                },
            }
        },
    }
