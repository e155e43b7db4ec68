variable "project_id" {
  description = "Google Cloud project id."
  type        = string
}

variable "location" {
  description = "Firestore location: a region (us-central1) or a multi-region (nam5) that survives a region outage with no data loss."
  type        = string
}

variable "backup_retention" {
  description = "How long each daily Firestore backup is kept (at most 14 weeks)."
  type        = string
  default     = "604800s"
}

variable "weekly_backup_retention" {
  description = "How long each weekly (Sunday) Firestore backup is kept (at most 14 weeks, Firestore's limit)."
  type        = string
  default     = "8467200s"
}

variable "kms_key_name" {
  description = "Customer-managed key for the database (in the KMS location matching the database's); null: Google-managed (the decision and its reasons: docs/SECURITY.md, Encryption at rest). Only at creation."
  type        = string
  default     = null
}
