variable "project_id" {
  description = "Google Cloud project id."
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
  description = "Dataflow staging bucket name."
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

variable "registry_location" {
  description = "Artifact Registry repository location."
  type        = string
}

variable "registry_repository" {
  description = "Artifact Registry repository name."
  type        = string
}

variable "labels" {
  description = "Labels on the session secret."
  type        = map(string)
  default     = {}
}
