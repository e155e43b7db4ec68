variable "project_id" {
  description = "Google Cloud project id."
  type        = string
}

variable "region" {
  description = "Region of the scheduler job and of the Dataflow statements jobs it launches."
  type        = string
}

variable "schedule" {
  description = "When the month closes (cron, UTC): 02:00 on the 1st by default, past the month's end plus the grace (1h)."
  type        = string
  default     = "0 2 1 * *"
}

variable "grace" {
  description = "The job's --grace: how long after the month's end late events may still arrive before it closes (s, m, h or d); keep it below the schedule's lead over midnight."
  type        = string
  default     = "1h"
}

variable "job_name" {
  description = "Name of each launched Dataflow job; the monitoring module's statements_failed policy matches it."
  type        = string
  default     = "receipts-statements"
}

variable "template_spec" {
  description = "gs:// path of the statements Flex Template spec in the releases bucket (gcloud dataflow flex-template build, docs/DEPLOY.md)."
  type        = string
}

variable "image" {
  description = "The statements template's container image, also the workers' SDK container."
  type        = string
}

variable "service_account" {
  description = "Email of the service account the job runs as (receipts-statements): reads the chains, signs and appends statements."
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
  description = "Upper bound of the statements job's autoscaling."
  type        = number
  default     = 4
}

variable "store_url" {
  description = "The job's --store: gcp://PROJECT?instance=I&database=D&bucket=B&role=statements_closer."
  type        = string
}

variable "signer" {
  description = "The job's --signer: kms://…/cryptoKeyVersions/N, the streaming job's signing key version, so a statement names the receipts' kid."
  type        = string
}

variable "labels" {
  description = "Labels on the launched jobs."
  type        = map(string)
  default     = {}
}
