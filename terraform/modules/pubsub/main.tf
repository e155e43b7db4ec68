# The events topic, the job's subscription, a subscription to read the dead letters, and the
# reconciliation alert topic. Names match receipts_cli/provision.py (`receipts init`), which
# does the same on the emulators.
#
# The job's subscription has no dead-letter or retry policy: Dataflow does not support them
# (Pub/Sub "Handling message failures"): Dataflow acks only after a durable checkpoint and
# extends deadlines itself, so Pub/Sub would count a backlog or a stalled key as failed
# deliveries and move valid events to the dead-letter topic, where nothing charges them. The
# job dead-letters invalid input itself (to billing-events-dead and the store); a message
# that is not being processed shows as the oldest unacked message age, which
# modules/monitoring alerts on. It retains acked messages, so a regional failover can seek
# back over work Dataflow had acked but not yet written (terraform/scripts/failover-seek.sh,
# docs/DEPLOY.md "Regional failover").
locals {
  topics = {
    events           = var.topic_name
    dead_letters     = var.dead_letter_topic_name
    reconcile_alerts = var.reconcile_alert_topic_name
  }
}

resource "google_pubsub_topic" "this" {
  for_each = local.topics

  project                    = var.project_id
  name                       = each.value
  labels                     = var.labels
  message_retention_duration = var.message_retention
  kms_key_name               = var.kms_key_name

  dynamic "message_storage_policy" {
    for_each = length(var.allowed_persistence_regions) > 0 ? [1] : []
    content {
      allowed_persistence_regions = var.allowed_persistence_regions
    }
  }
}

resource "google_pubsub_subscription" "events" {
  project = var.project_id
  name    = var.subscription_name
  topic   = google_pubsub_topic.this["events"].id
  labels  = var.labels

  # Dataflow extends deadlines itself; 60 s is what `receipts init` uses locally.
  ack_deadline_seconds = 60
  # Acked messages are kept as long as unacked ones: `gcloud pubsub subscriptions seek`
  # can replay any of the last message_retention (charged once: idempotency keys).
  message_retention_duration = var.message_retention
  retain_acked_messages      = true

  expiration_policy {
    ttl = "" # never expires, even while no job reads it
  }
}

resource "google_pubsub_subscription" "dead_letters" {
  project                    = var.project_id
  name                       = "${var.dead_letter_topic_name}-sub"
  topic                      = google_pubsub_topic.this["dead_letters"].id
  labels                     = var.labels
  ack_deadline_seconds       = 60
  message_retention_duration = var.message_retention

  expiration_policy {
    ttl = ""
  }
}
