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
  description = "The streaming Flex Template image (REGION-docker.pkg.dev/PROJECT/receipts/streaming@sha256:DIGEST, by digest: docs/DEPLOY.md step 3); empty: no Dataflow job yet."
  type        = string
  default     = ""

  validation {
    condition     = var.pipeline_image == "" || can(regex("^[a-z0-9.-]+-docker\\.pkg\\.dev/[^@:]+@sha256:[0-9a-f]{64}$", var.pipeline_image))
    error_message = "pipeline_image must be an Artifact Registry image pinned by digest: LOCATION-docker.pkg.dev/PROJECT/REPOSITORY/NAME@sha256:<64 hex> (docs/DEPLOY.md step 3 reads it)."
  }
}

variable "reconcile_image" {
  description = "The reconcile Flex Template image (REGION-docker.pkg.dev/PROJECT/receipts/reconcile@sha256:DIGEST, by digest: docs/DEPLOY.md step 3); empty: no hourly reconciliation yet (it also needs keys/jwks.json in the releases bucket)."
  type        = string
  default     = ""

  validation {
    condition     = var.reconcile_image == "" || can(regex("^[a-z0-9.-]+-docker\\.pkg\\.dev/[^@:]+@sha256:[0-9a-f]{64}$", var.reconcile_image))
    error_message = "reconcile_image must be an Artifact Registry image pinned by digest: LOCATION-docker.pkg.dev/PROJECT/REPOSITORY/NAME@sha256:<64 hex> (docs/DEPLOY.md step 3 reads it)."
  }
}

variable "statements_image" {
  description = "The statements Flex Template image (REGION-docker.pkg.dev/PROJECT/receipts/statements@sha256:DIGEST, by digest: docs/DEPLOY.md step 3); empty: no monthly close yet (close by hand with `receipts statements close`)."
  type        = string
  default     = ""

  validation {
    condition     = var.statements_image == "" || can(regex("^[a-z0-9.-]+-docker\\.pkg\\.dev/[^@:]+@sha256:[0-9a-f]{64}$", var.statements_image))
    error_message = "statements_image must be an Artifact Registry image pinned by digest: LOCATION-docker.pkg.dev/PROJECT/REPOSITORY/NAME@sha256:<64 hex> (docs/DEPLOY.md step 3 reads it)."
  }
}

variable "site_image" {
  description = "The verifier site image (REGION-docker.pkg.dev/PROJECT/receipts/site@sha256:DIGEST, by digest: docs/DEPLOY.md step 3); empty: no site yet."
  type        = string
  default     = ""

  validation {
    condition     = var.site_image == "" || can(regex("^[a-z0-9.-]+-docker\\.pkg\\.dev/[^@:]+@sha256:[0-9a-f]{64}$", var.site_image))
    error_message = "site_image must be an Artifact Registry image pinned by digest: LOCATION-docker.pkg.dev/PROJECT/REPOSITORY/NAME@sha256:<64 hex> (docs/DEPLOY.md step 3 reads it)."
  }
}

variable "signing_key_version" {
  description = "The KMS key version the job signs with (projects/…/cryptoKeyVersions/N); null: version 1. Change it to rotate."
  type        = string
  default     = null
}

variable "delegated_window" {
  description = "Sign receipts with delegated keys, one per window of this length (1d, 6h: docs/DEPLOY.md, Choosing the signer), endorsed by the KMS signing key and kept wrapped in Spanner; null: the KMS key signs each receipt."
  type        = string
  default     = null

  validation {
    condition     = var.delegated_window == null || can(regex("^[0-9]+[smhd]$", var.delegated_window))
    error_message = "delegated_window is a whole number of s, m, h or d (e.g. 1d), between 1 minute and 31 days."
  }
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

variable "spanner_serving_database" {
  description = "The Spanner database the services use: null for the one Terraform created; a restored database's id once it is verified (docs/RUNBOOK.md, Restoring a database)."
  type        = string
  default     = null
}

variable "restore_until" {
  description = "End of a restore window (RFC 3339): until then receipts-restorer may rewrite the ledger (docs/RUNBOOK.md, \"The ledger is damaged\"); null: it holds no role."
  type        = string
  default     = null
}

variable "restore_database" {
  description = "During a restore window: the Spanner database the restorer's grants are on, when it is not the serving one (a restored database rolled forward before it serves: docs/RUNBOOK.md, Restoring a database); null: the serving database."
  type        = string
  default     = null
}

variable "restorers" {
  description = "Members (user:, group:) who may act as receipts-restorer during a restore window."
  type        = list(string)
  default     = []
}

variable "deployer_principals" {
  description = "Workload Identity Federation principals of the CI that may act as receipts-deployer (docs/DEPLOY.md)."
  type        = list(string)
  default     = []
}

variable "log_origin" {
  description = "The transparency log's origin: a URL without its scheme that this deployment answers for, e.g. receipts.example.com/log (docs/LOG.md). Fixed for the log's life."
  type        = string
}
