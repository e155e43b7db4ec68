variable "project_id" {
  description = "The production project's id."
  type        = string
}

variable "primary_region" {
  description = "Primary region (the seed's us-central1)."
  type        = string
  default     = "us-central1"
}

variable "failover_region" {
  description = "Failover region (the seed's us-east1): the second Cloud Run service, the second worker subnet, the archive's second location."
  type        = string
  default     = "us-east1"
}

variable "dataflow_region" {
  description = "Region the streaming job runs in: the primary region, or the failover region during a regional outage."
  type        = string
  default     = "us-central1"
}

variable "region" {
  description = "Default region of the providers (regional resources name theirs explicitly)."
  type        = string
  default     = "us-central1"
}

variable "spanner_config" {
  description = "Spanner multi-region instance configuration with read-write replicas in the primary and failover regions' geography (nam6: Iowa, South Carolina, Oregon, Los Angeles)."
  type        = string
  default     = "nam6"
}

variable "firestore_location" {
  description = "Firestore multi-region location."
  type        = string
  default     = "nam5"
}

variable "lock_archive_retention" {
  description = "Lock the archive's 7-year retention policy (irreversible; docs/DEPLOY.md says when)."
  type        = bool
  default     = true
}

variable "pipeline_image" {
  description = "The streaming Flex Template image (us-docker.pkg.dev/PROJECT/receipts/streaming:TAG); empty: no Dataflow job yet."
  type        = string
  default     = ""
}

variable "reconcile_image" {
  description = "The reconcile Flex Template image (REGION-docker.pkg.dev/PROJECT/receipts/reconcile:TAG); empty: no hourly reconciliation yet (it also needs the site, for its JWKS)."
  type        = string
  default     = ""
}

variable "site_image" {
  description = "The verifier site image (us-docker.pkg.dev/PROJECT/receipts/site:TAG); empty: no site yet."
  type        = string
  default     = ""
}

variable "site_domain" {
  description = "The site's public domain; its A record must point at the load balancer's address output."
  type        = string
}

variable "signing_key_version" {
  description = "The KMS key version the job signs with (projects/…/cryptoKeyVersions/N); null: version 1. Change it to rotate."
  type        = string
  default     = null
}

variable "signing_kid" {
  description = "The kid the signing key must have (receipts keys jwks --kms-key VERSION shows it); null derives it at launch."
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
