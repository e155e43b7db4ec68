output "perimeter" {
  description = "The service perimeter's name (accessPolicies/P/servicePerimeters/N)."
  value       = google_access_context_manager_service_perimeter.receipts.name
}

output "enforced" {
  description = "Whether the perimeter refuses calls (true) or only logs what it would refuse (dry run)."
  value       = var.enforce
}

output "restricted_services" {
  description = "The APIs the perimeter restricts."
  value       = local.restricted_services
}
