variable "project_id" {
  description = "Google Cloud project id."
  type        = string
}

variable "events_topic_name" {
  description = "The events topic (billing-events) the site publishes POST /v1/events to."
  type        = string
}

variable "subscription_name" {
  description = "The events subscription the pipeline reads."
  type        = string
}

variable "dead_letter_topic_name" {
  description = "The dead-letter topic the pipeline publishes to."
  type        = string
}

variable "reconcile_alert_topic_name" {
  description = "The topic the reconciliation job publishes discrepancy alerts to."
  type        = string
}

variable "spanner_instance" {
  description = "Spanner instance id."
  type        = string
}

variable "spanner_database" {
  description = "Spanner database id."
  type        = string
}

variable "archive_bucket" {
  description = "Receipt archive bucket name."
  type        = string
}

variable "staging_bucket" {
  description = "The streaming job's Dataflow staging bucket name."
  type        = string
}

variable "job_staging_buckets" {
  description = "Dataflow staging bucket of each batch job: {reconcile = ..., restore = ..., statements = ...}."
  type        = map(string)
}

variable "releases_bucket" {
  description = "Bucket of the Flex Template specs and the published JWKS (the deployer writes, the jobs read)."
  type        = string
}

variable "reports_bucket" {
  description = "Bucket the reconciliation and the restore create their reports in."
  type        = string
}

variable "signing_key_id" {
  description = "The KMS signing key (projects/P/locations/L/keyRings/R/cryptoKeys/K); roles on it cover every version."
  type        = string
}

variable "log_signing_key_id" {
  description = "The log's checkpoint key (EC_SIGN_ED25519): the pipeline signs with it, the site reads its public key."
  type        = string
}

variable "delegated_wrapping_key_id" {
  description = "The delegated signer's wrapping key (ENCRYPT_DECRYPT): the pipeline wraps and unwraps the window keys with it."
  type        = string
}

variable "registry_location" {
  description = "Artifact Registry repository location."
  type        = string
}

variable "registry_repository" {
  description = "Artifact Registry repository name."
  type        = string
}

variable "restore_until" {
  description = "End of a restore window (RFC 3339, e.g. 2026-03-01T18:00:00Z): until then receipts-restorer may rewrite the ledger and state; null (the default): it holds no role at all."
  type        = string
  default     = null
}

variable "restore_database" {
  description = "The Spanner database a restore window's grants are on: null for spanner_database (the serving one); a database restored from a backup while it is rolled forward, before it serves (docs/RUNBOOK.md, Restoring a database)."
  type        = string
  default     = null
}

variable "restorers" {
  description = "Members (user:, group:) who may act as receipts-restorer during a restore window."
  type        = list(string)
  default     = []
}

variable "deployer_principals" {
  description = "Workload Identity Federation principals (principal://… or principalSet://…, the CI's) that may act as receipts-deployer."
  type        = list(string)
  default     = []
}

variable "labels" {
  description = "Labels on the session secret."
  type        = map(string)
  default     = {}
}
