variable "project_id" {
  description = "Google Cloud project id."
  type        = string
}

variable "region" {
  description = "Region the job runs in (its workers, state and Streaming Engine). Change it to fail over."
  type        = string
}

variable "job_name" {
  description = "Dataflow job name; alert policies match jobs by this name."
  type        = string
  default     = "receipts-streaming"
}

variable "template_spec" {
  description = "gs:// path of the Flex Template spec written by `gcloud dataflow flex-template build`."
  type        = string
}

variable "image" {
  description = "The template's container image (Artifact Registry), also used as the workers' SDK container, pinned by digest (NAME@sha256:DIGEST)."
  type        = string

  validation {
    condition     = can(regex("@sha256:[0-9a-f]{64}$", var.image))
    error_message = "image must be pinned by digest: NAME@sha256:<64 hex>, not a tag."
  }
}

variable "service_account" {
  description = "Email of the workers' service account (receipts-pipeline)."
  type        = string
}

variable "subnetwork" {
  description = "Self link of the worker subnetwork in this region (private IPs only)."
  type        = string
}

variable "machine_type" {
  description = "Worker machine type."
  type        = string
  default     = "n2-standard-2"
}

variable "max_workers" {
  description = "Upper bound of autoscaling."
  type        = number
  default     = 10
}

variable "staging_bucket" {
  description = "Bucket for the job's staging/ and temp/ files."
  type        = string
}

variable "store_url" {
  description = "The job's --store: gcp://PROJECT?instance=I&database=D&bucket=B."
  type        = string
}

variable "signer" {
  description = "The job's --signer: kms://projects/P/locations/L/keyRings/R/cryptoKeys/K/cryptoKeyVersions/N, or delegated://kms/…?wrap=…&window=1d."
  type        = string
}

variable "kid" {
  description = "The job's --kid, the RFC 7638 thumbprint the signing key must have; null derives it from the key at launch."
  type        = string
  default     = null
}

variable "log_origin" {
  description = "The job's --log_origin: the transparency log's name in every checkpoint (billing.example/log)."
  type        = string
}

variable "log_signer" {
  description = "The job's --log_signer: kms://projects/P/locations/L/keyRings/R/cryptoKeys/K/cryptoKeyVersions/N (EC_SIGN_ED25519)."
  type        = string
}

variable "log_witnesses" {
  description = "The job's --log_witness values: witnesses that cosign each checkpoint, as VKEY@URL (C2SP tlog-witness)."
  type        = list(string)
  default     = []
}

variable "log_witness_quorum" {
  description = "The job's --log_witness_quorum: cosignatures a checkpoint needs (null: every witness); fewer is published, flagged."
  type        = number
  default     = null
}

variable "log_interval_seconds" {
  description = "The job's --log_interval: seconds of processing time between integrations of the log."
  type        = number
  default     = 10
}

variable "archive_url" {
  description = "The job's --archive: gs://BUCKET/receipts."
  type        = string
}

variable "subscription" {
  description = "The job's --subscription: projects/P/subscriptions/S."
  type        = string
}

variable "dead_letter_topic" {
  description = "The job's --dead_letter_topic: projects/P/topics/T."
  type        = string
}

variable "archive_window_seconds" {
  description = "The job's --archive_window_seconds: processing-time window after which the archive catches up with the store."
  type        = number
  default     = 300
}

variable "archive_shard_receipts" {
  description = "The job's --archive_shard_receipts: receipts per archive catch-up; a window's customers are split into as many parallel catch-ups as its receipts need."
  type        = number
  default     = 20000
}

variable "charge_batch_size" {
  description = "The job's --charge_batch_size: most events of one customer charged in one store transaction."
  type        = number
  default     = 500
}

variable "charge_buffer_seconds" {
  description = "The job's --charge_buffer_seconds: longest an event waits for its customer's batch to fill."
  type        = number
  default     = 1.0
}

variable "max_future_seconds" {
  description = "The job's --max_future_seconds: an event timestamped further ahead of processing time is a dead letter (timestamp_in_future)."
  type        = number
  default     = 3600
}

variable "dedup_ttl_seconds" {
  description = "The job's --dedup_ttl_seconds: how long dedup state remembers a key before Spanner answers for it (past 300 s a hit asks Spanner anyway; a drain fires one timer per key remembered)."
  type        = number
  default     = 600
}

variable "labels" {
  description = "Labels on the job."
  type        = map(string)
  default     = {}
}
