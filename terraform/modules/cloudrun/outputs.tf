output "service_name" {
  description = "Cloud Run service name."
  value       = google_cloud_run_v2_service.site.name
}

output "region" {
  description = "Region of the service."
  value       = google_cloud_run_v2_service.site.location
}

output "url" {
  description = "The service's own https://…run.app URL."
  value       = google_cloud_run_v2_service.site.uri
}
