output "topic" {
  description = "Events topic id (projects/P/topics/T)."
  value       = google_pubsub_topic.this["events"].id
}

output "topic_name" {
  description = "Events topic name (the site publishes POST /v1/events here)."
  value       = google_pubsub_topic.this["events"].name
}

output "subscription" {
  description = "The streaming job's subscription id (projects/P/subscriptions/S): its --subscription."
  value       = google_pubsub_subscription.events.id
}

output "subscription_name" {
  description = "The streaming job's subscription name."
  value       = google_pubsub_subscription.events.name
}

output "dead_letter_topic" {
  description = "Dead-letter topic id: the job's --dead_letter_topic."
  value       = google_pubsub_topic.this["dead_letters"].id
}

output "dead_letter_topic_name" {
  description = "Dead-letter topic name."
  value       = google_pubsub_topic.this["dead_letters"].name
}

output "dead_letter_subscription" {
  description = "Subscription to read dead letters from."
  value       = google_pubsub_subscription.dead_letters.id
}

output "reconcile_alert_topic" {
  description = "Topic id the reconciliation job publishes discrepancy alerts to."
  value       = google_pubsub_topic.this["reconcile_alerts"].id
}

output "reconcile_alert_topic_name" {
  description = "Name of the reconciliation alert topic."
  value       = google_pubsub_topic.this["reconcile_alerts"].name
}
