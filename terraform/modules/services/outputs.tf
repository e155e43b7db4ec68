output "enabled" {
  description = "The enabled services; depend on this output to order resources after the APIs."
  value       = [for service in google_project_service.this : service.service]
}
