variable "project_id" {
  description = "The development project's id."
  type        = string
}

variable "region" {
  description = "The one region everything runs in."
  type        = string
  default     = "us-central1"
}

variable "pipeline_image" {
  description = "The streaming Flex Template image (REGION-docker.pkg.dev/PROJECT/receipts/streaming:TAG); empty: no Dataflow job yet."
  type        = string
  default     = ""
}

variable "reconcile_image" {
  description = "The reconcile Flex Template image (REGION-docker.pkg.dev/PROJECT/receipts/reconcile:TAG); empty: no hourly reconciliation yet (it also needs the site, for its JWKS)."
  type        = string
  default     = ""
}

variable "site_image" {
  description = "The verifier site image (REGION-docker.pkg.dev/PROJECT/receipts/site:TAG); empty: no site yet."
  type        = string
  default     = ""
}

variable "signing_key_version" {
  description = "The KMS key version the job signs with (projects/…/cryptoKeyVersions/N); null: version 1. Change it to rotate."
  type        = string
  default     = null
}

variable "published_key_versions" {
  description = "Every KMS key version receipts were signed with, current first, published by the site; empty: the signing version alone."
  type        = list(string)
  default     = []
}

variable "notification_emails" {
  description = "E-mail addresses that receive alerts."
  type        = list(string)
}

variable "runbook_url" {
  description = "URL of docs/RUNBOOK.md as published (alerts link its sections)."
  type        = string
}

variable "log_origin" {
  description = "The transparency log's origin: a URL without its scheme that this deployment answers for, e.g. receipts.example.com/log (docs/LOG.md). Fixed for the log's life."
  type        = string
}
