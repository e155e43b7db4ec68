variable "project_id" {
  description = "Google Cloud project id."
  type        = string
}

variable "region" {
  description = "Region of the scheduler job and of the Dataflow reconciliation jobs it launches."
  type        = string
}

variable "schedule" {
  description = "When the reconciliation runs (cron, UTC): hourly by default, the seed's cadence."
  type        = string
  default     = "0 * * * *"
}

variable "job_name" {
  description = "Name of each launched Dataflow job; the monitoring module's reconcile_failed policy matches it."
  type        = string
  default     = "receipts-reconcile"
}

variable "template_spec" {
  description = "gs:// path of the reconcile Flex Template spec in the releases bucket (gcloud dataflow flex-template build, docs/DEPLOY.md)."
  type        = string
}

variable "image" {
  description = "The reconcile template's container image, also the workers' SDK container."
  type        = string
}

variable "service_account" {
  description = "Email of the service account the job runs as (receipts-auditor): reads the stores, creates the report, freezes intake."
  type        = string
}

variable "subnetwork" {
  description = "Self link of the worker subnetwork in the region (private IPs only)."
  type        = string
}

variable "staging_bucket" {
  description = "The job's own Dataflow staging bucket (staging/ and temp/)."
  type        = string
}

variable "releases_bucket" {
  description = "Bucket holding the template spec (the launcher reads it)."
  type        = string
}

variable "deployer" {
  description = "Email of the deployer's service account, which creates the scheduler job (and so must act as its launcher)."
  type        = string
}

variable "max_workers" {
  description = "Upper bound of the reconciliation job's autoscaling."
  type        = number
  default     = 4
}

variable "store_url" {
  description = "The job's --store: gcp://PROJECT?instance=I&database=D&bucket=B&role=receipts_auditor (intake is frozen there)."
  type        = string
}

variable "archive_url" {
  description = "The job's --archive: gs://BUCKET/receipts."
  type        = string
}

variable "jwks_url" {
  description = "The job's --jwks: gs://RELEASES/keys/jwks.json, published by the deployer (its workers have no route to the site)."
  type        = string
}

variable "report_url" {
  description = "The job's --report: gs://REPORTS/reconcile/{as_of}.json, a new object each run ({as_of} is its cut), which the job may create and nobody may replace."
  type        = string
}

variable "alert_topic" {
  description = "The job's --alert_topic: projects/P/topics/T for the discrepancy alert (it says when intake was frozen)."
  type        = string
}

variable "settle_seconds" {
  description = "The job's --settle_seconds: receipts this close to the cut may still be on their way to the archive."
  type        = number
  default     = 900
}

variable "labels" {
  description = "Labels on the launched jobs."
  type        = map(string)
  default     = {}
}
