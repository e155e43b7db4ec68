"""`receipts init`: create what the streaming job needs, idempotently (what exists is kept).

Pub/Sub topics (events, dead letters) and the job's subscription, the Spanner instance and
the database from `spanner.sql` (the file Terraform reads too), the archive bucket, and the
Firestore composite index the ledger queries use with the single-field index exemptions of
`firestore.indexes.json`. In production Terraform owns these (terraform/modules/pubsub says
why the subscription has no dead-letter or retry policy and retains acked messages); `init`
is for the emulators and for trying a fresh project by hand.
"""

import os
from collections.abc import Callable
from dataclasses import dataclass

from google.api_core import exceptions as api_exceptions

from receipts.producer.publisher import DEAD_LETTER_TOPIC, SUBSCRIPTION, TOPIC
from receipts.stores.gcp.location import GcpLocation, client_options
from receipts.stores.gcp.schema import firestore_field_overrides, firestore_indexes, missing_statements, spanner_ddl
from receipts.stores.retry import with_backoff

EMULATOR_INSTANCE_CONFIG = "emulator-config"
# The job's subscription keeps acked messages as long as Pub/Sub allows (7 days), so a
# failover can seek back over work the job had acked but not written (terraform/scripts/failover-seek.sh).
RETENTION_SECONDS = 7 * 24 * 3600
# No dead-letter and no retry policy: Dataflow supports neither (it acks after a durable
# checkpoint and extends deadlines itself), and Pub/Sub would move valid events that are
# merely waiting to the dead-letter topic, uncharged. The job dead-letters invalid input.
SUBSCRIPTION_SETTINGS = {
    "ack_deadline_seconds": 60,
    "retain_acked_messages": True,
    "message_retention_duration": {"seconds": RETENTION_SECONDS},
}


@dataclass(frozen=True)
class Names:
    topic: str = TOPIC
    subscription: str = SUBSCRIPTION
    dead_letter_topic: str = DEAD_LETTER_TOPIC


def init(
    location: GcpLocation,
    names: Names = Names(),
    spanner_config: str | None = None,
    report: Callable[[str], None] = print,
) -> None:
    _pubsub(location.project, names, report)
    _spanner(location, spanner_config, report)
    _bucket(location, report)
    _firestore_indexes(location, report)


def _created(report: Callable[[str], None], what: str, call: Callable[[], object]) -> bool:
    """True if `call` created it, False if it existed already."""
    try:
        with_backoff(f"create {what}", call, give_up_after=60)
        report(f"created {what}")
        return True
    except api_exceptions.AlreadyExists:
        report(f"kept {what} (exists)")
        return False


def _pubsub(project: str, names: Names, report: Callable[[str], None]) -> None:
    from google.cloud import pubsub_v1

    publisher, subscriber = pubsub_v1.PublisherClient(), pubsub_v1.SubscriberClient()
    topic = publisher.topic_path(project, names.topic)
    dead = publisher.topic_path(project, names.dead_letter_topic)
    for path in (topic, dead):
        _created(report, f"topic {path}", lambda path=path: publisher.create_topic(name=path))
    subscription = subscriber.subscription_path(project, names.subscription)
    created = _created(
        report,
        f"subscription {subscription} (acked messages retained {RETENTION_SECONDS // 86400} days)",
        lambda: subscriber.create_subscription(request={"name": subscription, "topic": topic, **SUBSCRIPTION_SETTINGS}),
    )
    if not created:
        _mend_subscription(subscriber, subscription, report)
    # A subscription on the dead-letter topic, so what lands there can be read.
    dead_subscription = subscriber.subscription_path(project, f"{names.dead_letter_topic}-sub")
    _created(
        report,
        f"subscription {dead_subscription}",
        lambda: subscriber.create_subscription(request={"name": dead_subscription, "topic": dead}),
    )


def _mend_subscription(subscriber, subscription: str, report: Callable[[str], None]) -> None:
    """A subscription an older `init` made has a dead-letter policy (valid events that wait
    too long are moved out, never charged) and drops acked messages: set it as a new one is."""
    existing = with_backoff("read the subscription", lambda: subscriber.get_subscription(subscription=subscription))
    wrong = [
        what
        for what, bad in (
            ("dead-letter policy removed", bool(existing.dead_letter_policy.dead_letter_topic)),
            ("retry policy removed", "retry_policy" in existing),
            ("acked messages retained", not existing.retain_acked_messages),
            (
                f"retention {RETENTION_SECONDS // 86400} days",
                existing.message_retention_duration.total_seconds() != RETENTION_SECONDS,
            ),
        )
        if bad
    ]
    if not wrong:
        return
    paths = ["dead_letter_policy", "retry_policy", "retain_acked_messages", "message_retention_duration"]
    with_backoff(
        "update the subscription",
        lambda: subscriber.update_subscription(
            request={
                "subscription": {"name": subscription, **SUBSCRIPTION_SETTINGS},
                "update_mask": {"paths": paths},
            }
        ),
    )
    report(f"updated subscription {subscription}: {', '.join(wrong)}")


def _spanner(location: GcpLocation, config: str | None, report: Callable[[str], None]) -> None:
    from google.cloud import spanner

    client = spanner.Client(project=location.project, **client_options())
    if config is None:
        config = EMULATOR_INSTANCE_CONFIG if os.environ.get("SPANNER_EMULATOR_HOST") else "regional-us-central1"
    instance = client.instance(
        location.instance,
        configuration_name=f"projects/{location.project}/instanceConfigs/{config}",
        display_name="Billing receipts",
        node_count=1,
    )
    _created(report, f"Spanner instance {location.instance}", lambda: instance.create().result(300))
    database = instance.database(location.database, ddl_statements=spanner_ddl())
    _created(report, f"Spanner database {location.database}", lambda: database.create().result(300))
    existing = {table.table_id for table in with_backoff("list Spanner tables", lambda: list(database.list_tables()))}
    growth = missing_statements(spanner_ddl(), existing, _columns(database))
    if growth:
        with_backoff("update the Spanner schema", lambda: database.update_ddl(growth).result(300))
        report(f"updated Spanner database {location.database}: {len(growth)} new table(s), index(es) and column(s)")
    if os.environ.get("SPANNER_EMULATOR_HOST"):
        report("Spanner emulator: database roles are not supported (spanner_roles.sql applies in production)")
    else:
        _database_roles(database, report)


def _columns(database) -> set[tuple[str, str]]:
    """(table, column) of every column the database's own tables have."""

    def read() -> set[tuple[str, str]]:
        with database.snapshot() as snapshot:
            rows = snapshot.execute_sql(
                "SELECT TABLE_NAME, COLUMN_NAME FROM INFORMATION_SCHEMA.COLUMNS WHERE TABLE_SCHEMA = ''"
            )
            return {(table, column) for table, column in rows}

    return with_backoff("list Spanner columns", read)


def _database_roles(database, report: Callable[[str], None]) -> None:
    """spanner_roles.sql: each role created once; grants are idempotent."""
    existing = {role.name.rsplit("/", 1)[-1] for role in database.list_database_roles()}
    statements = [
        statement
        for statement in spanner_ddl("spanner_roles.sql")
        if not (statement.startswith("CREATE ROLE ") and statement.split()[2] in existing)
    ]
    with_backoff("grant the Spanner database roles", lambda: database.update_ddl(statements).result(300))
    report(f"Spanner database roles: {len(statements)} statement(s) of spanner_roles.sql applied")


def _bucket(location: GcpLocation, report: Callable[[str], None]) -> None:
    from google.cloud import storage

    client = storage.Client(project=location.project, **client_options())
    _created(report, f"bucket gs://{location.bucket}", lambda: _create_bucket(client, location.bucket))


def _create_bucket(client, name: str) -> None:
    try:
        client.create_bucket(name)
    except api_exceptions.Conflict as error:  # Cloud Storage says 409 for an existing bucket
        raise api_exceptions.AlreadyExists(str(error)) from error


def _firestore_indexes(location: GcpLocation, report: Callable[[str], None]) -> None:
    """The composite indexes and the single-field index exemptions of firestore.indexes.json,
    as terraform/modules/firestore applies them. Exemptions are updates (idempotent); the
    emulator ignores indexes, so nothing is asked of it."""
    overrides = firestore_field_overrides()
    if os.environ.get("FIRESTORE_EMULATOR_HOST"):
        report(
            f"Firestore emulator: composite indexes and {len(overrides)} index exemption(s) are not needed"
            " (Terraform creates them in production)"
        )
        return
    from google.cloud import firestore_admin_v1

    admin = firestore_admin_v1.FirestoreAdminClient()
    database = f"projects/{location.project}/databases/(default)"
    for index in firestore_indexes():
        parent = f"{database}/collectionGroups/{index['collectionGroup']}"
        fields = [{"field_path": field["fieldPath"], "order": field["order"]} for field in index["fields"]]
        _created(
            report,
            f"Firestore index on {index['collectionGroup']} ({', '.join(f['fieldPath'] for f in index['fields'])})",
            lambda parent=parent, spec={"query_scope": index["queryScope"], "fields": fields}: admin.create_index(
                parent=parent, index=spec
            ),
        )
    for override in overrides:
        request = {"field": field_override_request(database, override), "update_mask": {"paths": ["index_config"]}}
        with_backoff(
            f"set the Firestore index settings of {override['collectionGroup']}.{override['fieldPath']}",
            lambda request=request: admin.update_field(request=request),
            give_up_after=60,
        )
    exempt = [f"{o['collectionGroup']}.{o['fieldPath']}" for o in overrides if not o["indexes"]]
    report(f"Firestore single-field index exemptions requested: {', '.join(exempt)}")


def field_override_request(database: str, override: dict) -> dict:
    """A fieldOverrides entry of firestore.indexes.json as the Admin API's Field: no indexes
    means exempt from automatic indexing."""
    indexes = [
        {
            "query_scope": index.get("queryScope", "COLLECTION"),
            **({"order": index["order"]} if "order" in index else {"array_config": index["arrayConfig"]}),
        }
        for index in override["indexes"]
    ]
    return {
        "name": f"{database}/collectionGroups/{override['collectionGroup']}/fields/{override['fieldPath']}",
        "index_config": {"indexes": indexes},
    }
