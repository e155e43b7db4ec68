variable "project_id" {
  description = "Google Cloud project id."
  type        = string
}

variable "region" {
  description = "Region of this Cloud Run service."
  type        = string
}

variable "service_name" {
  description = "Cloud Run service name (the same in every region)."
  type        = string
  default     = "receipts-site"
}

variable "image" {
  description = "The site image built from verifier_site/Dockerfile, pinned by digest (NAME@sha256:DIGEST)."
  type        = string

  validation {
    condition     = can(regex("@sha256:[0-9a-f]{64}$", var.image))
    error_message = "image must be pinned by digest: NAME@sha256:<64 hex>, not a tag."
  }
}

variable "service_account" {
  description = "Email of the site's service account (receipts-site)."
  type        = string
}

variable "store_url" {
  description = "RECEIPTS_STORE: gcp://PROJECT?instance=I&database=D&bucket=B."
  type        = string
}

variable "kms_key_versions" {
  description = "Every KMS key version receipts were signed with, current first: the site publishes their public keys."
  type        = list(string)
}

variable "session_secret" {
  description = "Secret Manager secret id of the session-signing secret (RECEIPTS_SITE_SECRET)."
  type        = string
}

variable "ingress" {
  description = "INGRESS_TRAFFIC_ALL (reachable at its run.app URL) or INGRESS_TRAFFIC_INTERNAL_LOAD_BALANCER (only through the HTTPS load balancer)."
  type        = string
  default     = "INGRESS_TRAFFIC_ALL"
}

variable "trusted_proxies" {
  description = "X-Forwarded-For hops the site trusts for client IPs (rate limits): 1 on Cloud Run alone, 2 behind the HTTPS load balancer."
  type        = number
  default     = 1
}

variable "min_instances" {
  description = "Instances kept warm (the seed asks for 3 in production for HA)."
  type        = number
  default     = 0
}

variable "max_instances" {
  description = "Upper bound of autoscaling (the seed's cost cap is 100)."
  type        = number
  default     = 10
}

variable "labels" {
  description = "Labels on the service."
  type        = map(string)
  default     = {}
}
