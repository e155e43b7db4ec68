output "scheduler_job" {
  description = "Id of the Cloud Scheduler job that launches the monthly statements close."
  value       = google_cloud_scheduler_job.statements.id
}

output "job_name" {
  description = "Name of the Dataflow jobs it launches (the statements_failed alert matches it)."
  value       = var.job_name
}

output "launcher_service_account" {
  description = "Email of the identity the scheduler launches the jobs as."
  value       = google_service_account.launcher.email
}
