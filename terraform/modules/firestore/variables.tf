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
