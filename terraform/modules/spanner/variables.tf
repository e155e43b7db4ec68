variable "project_id" {
  description = "Google Cloud project id."
  type        = string
}

variable "instance_name" {
  description = "Spanner instance id (the store URL's ?instance=, default receipts)."
  type        = string
  default     = "receipts"
}

variable "database_name" {
  description = "Spanner database id (the store URL's ?database=, default receipts)."
  type        = string
  default     = "receipts"
}

variable "instance_config" {
  description = "Instance configuration: regional-REGION for one region, or a multi-region configuration such as nam6 (no data loss and no manual failover when a region goes down)."
  type        = string
}

variable "edition" {
  description = "Spanner edition: STANDARD (regional only), ENTERPRISE, or ENTERPRISE_PLUS (needed for multi-region configurations)."
  type        = string
  default     = "STANDARD"
}

variable "processing_units" {
  description = "Fixed compute capacity (1000 processing units = 1 node) when autoscaling is null."
  type        = number
  default     = 100
}

variable "autoscaling" {
  description = "Managed autoscaling bounds and the high-priority CPU target (65% regional, 45% multi-region are Google's recommended maxima); null for a fixed size."
  type = object({
    min_processing_units      = number
    max_processing_units      = number
    high_priority_cpu_percent = number
  })
  default = null
}

variable "version_retention_period" {
  description = "Point-in-time recovery window (1h to 7d): how far back a stale read or a restore can go after corruption."
  type        = string
  default     = "7d"
}

variable "backup_retention" {
  description = "How long each daily (and incremental) backup is kept."
  type        = string
  default     = "2592000s"
}

variable "incremental_backup_hours" {
  description = "Hours between incremental backups (Enterprise and Enterprise Plus editions only); null: daily full backups alone."
  type        = number
  default     = null

  validation {
    condition     = var.incremental_backup_hours == null || contains([1, 2, 3, 4, 6, 8, 12], coalesce(var.incremental_backup_hours, 1))
    error_message = "incremental_backup_hours must divide a day: 1, 2, 3, 4, 6, 8 or 12."
  }
}

variable "monthly_backup_retention" {
  description = "How long the full backup of the first of each month is kept (Spanner keeps a backup at most a year)."
  type        = string
  default     = "31536000s"
}

variable "serving_database" {
  description = "The database the services use: null for the one this module creates; the id of a database restored from a backup or a point in time, once verified (docs/RUNBOOK.md, Restoring a database)."
  type        = string
  default     = null
}

variable "kms_key_names" {
  description = "Customer-managed keys for the database, one per region of the instance configuration; empty: Google-managed (the decision and its reasons: docs/SECURITY.md, Encryption at rest). Only at creation."
  type        = list(string)
  default     = []
}

variable "labels" {
  description = "Labels on the instance."
  type        = map(string)
  default     = {}
}
