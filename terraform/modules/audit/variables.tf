variable "project_id" {
  description = "Google Cloud project id."
  type        = string
}

variable "notification_channels" {
  description = "Notification channel ids the audit alerts page (the monitoring module's)."
  type        = list(string)
}

variable "runbook_url" {
  description = "Where docs/RUNBOOK.md is published (the alerts link its section Audit alerts)."
  type        = string
}

variable "retained_buckets" {
  description = "Buckets whose every configuration change pages: the archive, the reports and the access logs."
  type        = list(string)
}

variable "log_data_reads" {
  description = "Also log Spanner and Firestore reads (DATA_READ): one entry per read, and the streaming job reads for every event."
  type        = bool
  default     = false
}

variable "retention_days" {
  description = "Days the receipts-audit log bucket keeps every audit log."
  type        = number
  default     = 400
}

variable "lock_retention" {
  description = "Lock the receipts-audit log bucket's retention (irreversible: it can then never be shortened, nor the bucket deleted)."
  type        = bool
}
