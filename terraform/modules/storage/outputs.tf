output "archive_bucket" {
  description = "Receipt archive bucket name."
  value       = google_storage_bucket.archive.name
}

output "archive_url" {
  description = "The streaming job's --archive (gs://BUCKET/receipts)."
  value       = "gs://${google_storage_bucket.archive.name}/receipts"
}

output "staging_bucket" {
  description = "The streaming job's Dataflow staging bucket (staging/, temp/)."
  value       = google_storage_bucket.staging.name
}

output "releases_bucket" {
  description = "Bucket of the Flex Template specs (templates/) and the published JWKS (keys/jwks.json): the deployer writes, the jobs read."
  value       = google_storage_bucket.releases.name
}

output "reports_bucket" {
  description = "Bucket of the reconciliation's and the restore's reports (create-only for them, under a retention policy)."
  value       = google_storage_bucket.reports.name
}

output "job_staging_buckets" {
  description = "Dataflow staging bucket of each batch job (reconcile, restore, statements), one per job identity."
  value       = { for job, bucket in google_storage_bucket.job_staging : job => bucket.name }
}

output "access_log_bucket" {
  description = "Bucket receiving the other buckets' usage logs."
  value       = google_storage_bucket.access_logs.name
}
