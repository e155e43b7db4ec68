output "archive_bucket" {
  description = "Receipt archive bucket name."
  value       = google_storage_bucket.archive.name
}

output "archive_url" {
  description = "The streaming job's --archive (gs://BUCKET/receipts)."
  value       = "gs://${google_storage_bucket.archive.name}/receipts"
}

output "staging_bucket" {
  description = "Dataflow staging bucket name (templates/, staging/, temp/)."
  value       = google_storage_bucket.staging.name
}
