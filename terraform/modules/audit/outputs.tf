output "audited_services" {
  description = "Services with Data Access audit logs on, and the log types of each."
  value       = { for service, config in google_project_iam_audit_config.data_access : service => [for log in config.audit_log_config : log.log_type] }
}

output "audit_log_bucket" {
  description = "The log bucket every audit log is routed to."
  value       = google_logging_project_bucket_config.audit.id
}

output "alert_policies" {
  description = "Names of the audit alert policies."
  value       = [for policy in google_monitoring_alert_policy.audit : policy.display_name]
}
