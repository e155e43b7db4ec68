variable "project_id" {
  description = "Google Cloud project id."
  type        = string
}

variable "name_prefix" {
  description = "Prefix of the staging and access-log bucket names (bucket names are global: include the project id)."
  type        = string
}

variable "archive_bucket_name" {
  description = "Receipt archive bucket (the store URL's ?bucket=; `receipts` defaults to PROJECT-receipts-archive)."
  type        = string
}

variable "location" {
  description = "Bucket location: a region (US-CENTRAL1), or the multi-region code (US) that holds a dual-region archive."
  type        = string
}

variable "archive_data_locations" {
  description = "Two regions for a dual-region archive (e.g. [\"US-CENTRAL1\", \"US-EAST1\"], with location US) with turbo replication; empty for a single-region archive."
  type        = list(string)
  default     = []
}

variable "lock_retention_policy" {
  description = "Lock the retention policies of the archive (7 years) and the reports bucket. Irreversible: a locked policy can never be shortened or removed, and its bucket cannot be deleted until every object has passed it."
  type        = bool
}

variable "access_log_days" {
  description = "Days the buckets' access logs are kept."
  type        = number
  default     = 400
}

variable "labels" {
  description = "Labels on every bucket."
  type        = map(string)
  default     = {}
}

variable "report_retention_days" {
  description = "Days each reconciliation and restore report is kept unchangeable in the reports bucket (its retention policy, locked with lock_retention_policy)."
  type        = number
  default     = 400
}
