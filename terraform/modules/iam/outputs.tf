output "pipeline_service_account" {
  description = "Email of the Dataflow workers' service account."
  value       = google_service_account.pipeline.email
}

output "site_service_account" {
  description = "Email of the verifier site's service account."
  value       = google_service_account.site.email
}

output "site_session_secret" {
  description = "Secret Manager secret id holding the site's session-signing secret."
  value       = google_secret_manager_secret.site_session.secret_id
}
