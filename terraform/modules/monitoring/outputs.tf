output "alert_policies" {
  description = "Names of the alert policies created."
  value = concat(
    [for policy in google_monitoring_alert_policy.counter : policy.display_name],
    [
      google_monitoring_alert_policy.backlog.display_name,
      google_monitoring_alert_policy.backlog_near_retention.display_name,
      google_monitoring_alert_policy.latency.display_name,
      google_monitoring_alert_policy.job_failed.display_name,
      google_monitoring_alert_policy.reconcile_failed.display_name,
      google_monitoring_alert_policy.reconcile_discrepancy.display_name,
      google_monitoring_alert_policy.statements_failed.display_name,
      google_monitoring_alert_policy.signing_errors.display_name,
      google_monitoring_alert_policy.spanner_cpu.display_name,
      google_monitoring_alert_policy.site_errors.display_name,
      google_monitoring_alert_policy.site_latency.display_name,
    ],
    [for policy in google_monitoring_alert_policy.site_down : policy.display_name],
  )
}

output "notification_channels" {
  description = "Ids of the on-call e-mail channels (the audit module's alerts use them too)."
  value       = local.channels
}
