output "job_id" {
  description = "Id of the running Dataflow job."
  value       = google_dataflow_flex_template_job.streaming.job_id
}

output "job_name" {
  description = "Name of the Dataflow job."
  value       = google_dataflow_flex_template_job.streaming.name
}
