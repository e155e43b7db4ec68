# The events topic, the job's subscription with its dead-letter topic and retry policy, a
# subscription to read the dead letters, and the reconciliation alert topic. Names match
# receipts_cli/provision.py (`receipts init`), which does the same on the emulators.
data "google_project" "this" {
  project_id = var.project_id
}

locals {
  # Pub/Sub's own service agent moves undeliverable messages to the dead-letter topic.
  pubsub_agent = "serviceAccount:service-${data.google_project.this.number}@gcp-sa-pubsub.iam.gserviceaccount.com"
  topics = {
    events            = var.topic_name
    dead_letters      = var.dead_letter_topic_name
    reconcile_alerts  = var.reconcile_alert_topic_name
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
  ack_deadline_seconds       = 60
  message_retention_duration = var.message_retention
  retain_acked_messages      = false

  expiration_policy {
    ttl = "" # never expires, even while no job reads it
  }

  retry_policy {
    minimum_backoff = var.retry_minimum_backoff
    maximum_backoff = var.retry_maximum_backoff
  }

  dead_letter_policy {
    dead_letter_topic     = google_pubsub_topic.this["dead_letters"].id
    max_delivery_attempts = var.max_delivery_attempts
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

resource "google_pubsub_topic_iam_member" "agent_publishes_dead_letters" {
  project = var.project_id
  topic   = google_pubsub_topic.this["dead_letters"].name
  role    = "roles/pubsub.publisher"
  member  = local.pubsub_agent
}

resource "google_pubsub_subscription_iam_member" "agent_forwards_from_events" {
  project      = var.project_id
  subscription = google_pubsub_subscription.events.name
  role         = "roles/pubsub.subscriber"
  member       = local.pubsub_agent
}
