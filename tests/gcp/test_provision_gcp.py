"""`receipts init` on the emulators: the job's subscription is one Dataflow can read (no
dead-letter or retry policy) and a failover can seek (acked messages retained 7 days), also
when an older `init` made it with a dead-letter policy; the dead-letter topic and its
subscription stay, for the job's own dead letters."""

from google.cloud import pubsub_v1

from receipts_cli.provision import RETENTION_SECONDS, init


def test_the_job_subscription_has_no_dead_letter_policy_and_retains_acked_messages(cloud) -> None:
    subscriber = pubsub_v1.SubscriberClient()
    subscription = subscriber.get_subscription(subscription=cloud.subscription())
    assert not subscription.dead_letter_policy.dead_letter_topic
    assert "retry_policy" not in subscription
    assert subscription.retain_acked_messages
    assert subscription.message_retention_duration.total_seconds() == RETENTION_SECONDS
    dead = subscriber.get_subscription(subscription=cloud.subscription("billing-events-dead-sub"))
    assert dead.topic == cloud.topic("billing-events-dead")


def test_init_mends_a_subscription_an_older_init_made_with_a_dead_letter_policy(cloud) -> None:
    subscriber = pubsub_v1.SubscriberClient()
    subscriber.delete_subscription(subscription=cloud.subscription())
    subscriber.create_subscription(
        request={
            "name": cloud.subscription(),
            "topic": cloud.topic(),
            "ack_deadline_seconds": 60,
            "dead_letter_policy": {"dead_letter_topic": cloud.topic("billing-events-dead"), "max_delivery_attempts": 5},
        }
    )
    lines: list[str] = []
    init(cloud.location, report=lines.append)
    subscription = subscriber.get_subscription(subscription=cloud.subscription())
    assert not subscription.dead_letter_policy.dead_letter_topic
    assert subscription.retain_acked_messages
    assert subscription.message_retention_duration.total_seconds() == RETENTION_SECONDS
    [updated] = [line for line in lines if line.startswith("updated subscription")]
    assert "dead-letter policy removed" in updated and "acked messages retained" in updated, updated
    lines.clear()
    init(cloud.location, report=lines.append)  # and again: nothing left to mend
    assert not [line for line in lines if line.startswith("updated subscription")], lines
    assert any("index exemption(s) are not needed" in line for line in lines), lines


def test_dead_letters_come_back_in_recorded_order_without_an_index_on_recorded_at(cloud) -> None:
    """recorded_at is exempt from indexing (firestore.indexes.json), so no query orders by
    it; dead_letters() still lists them as recorded, not in document id order."""
    from receipts.records import DeadLetter

    store = cloud.store()
    letters = [DeadLetter("malformed_json", "bad", f"{{broken {n}".encode(), f"m-{n}") for n in range(6)]
    ids = [letter.dead_letter_id for letter in letters]
    assert ids != sorted(ids)  # else the test could not tell the two orders apart
    for letter in letters:
        assert store.add_dead_letters([letter]) == 1
    assert [record["dead_letter_id"] for record in store.dead_letters()] == ids
    assert all("recorded_at" not in record for record in store.dead_letters())
