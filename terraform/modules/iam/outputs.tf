output "pipeline_service_account" {
  description = "Email of the streaming job's service account (signs and appends)."
  value       = google_service_account.pipeline.email
}

output "auditor_service_account" {
  description = "Email of the reconciliation's service account (reads, freezes intake, creates reports)."
  value       = google_service_account.auditor.email
}

output "restorer_service_account" {
  description = "Email of the restore's service account (rewrites the ledger during a restore window only)."
  value       = google_service_account.restorer.email
}

output "statements_service_account" {
  description = "Email of the statements job's service account (signs statements, appends them once)."
  value       = google_service_account.statements.email
}

output "site_service_account" {
  description = "Email of the verifier site's service account."
  value       = google_service_account.site.email
}

output "deployer_service_account" {
  description = "Email of the service account CI deploys as."
  value       = google_service_account.deployer.email
}

output "site_session_secret" {
  description = "Secret Manager secret id holding the site's session-signing secret."
  value       = google_secret_manager_secret.site_session.secret_id
}
