variable "project_id" {
  description = "Google Cloud project id."
  type        = string
}

variable "name" {
  description = "Prefix of the load balancer's resource names."
  type        = string
  default     = "receipts-site"
}

variable "services" {
  description = "The site's Cloud Run services: region => service name."
  type        = map(string)
}

variable "domain" {
  description = "The site's domain (a Google-managed certificate is issued once its DNS A record points at the address output)."
  type        = string
}

variable "requests_per_minute_per_ip" {
  description = "Cloud Armor's per-IP request ceiling (the site's own token buckets allow 10/s per IP behind it)."
  type        = number
  default     = 1200
}

variable "signin_requests_per_minute_per_ip" {
  description = "Cloud Armor's per-IP ceiling on sign-in (POST /lookup and /account/sign-in, which take an API key): a person signs in a few times a minute; guessing keys gets 429s."
  type        = number
  default     = 20
}

variable "ingest_requests_per_minute_per_ip" {
  description = "Cloud Armor's per-IP ceiling on ingest (POST /v1/events and /v1/events:batch); at 500 events a batch, 300 requests a minute carry 2,500 events a second from one address."
  type        = number
  default     = 300
}

variable "waf_sensitivity" {
  description = "Sensitivity (OWASP paranoia level) of the preconfigured WAF rules: 1 has the fewest false positives; raise it only after reading the blocked requests of a week in preview."
  type        = number
  default     = 1

  validation {
    condition     = contains([1, 2, 3, 4], var.waf_sensitivity)
    error_message = "waf_sensitivity must be 1, 2, 3 or 4."
  }
}

variable "waf_preview" {
  description = "Run the OWASP rules in preview: they log what they would refuse (jsonPayload.previewSecurityPolicy) and refuse nothing."
  type        = bool
  default     = false
}

variable "waf_opt_out_rule_ids" {
  description = "Signatures turned off per preconfigured set after a confirmed false positive, e.g. { \"sqli-v33-stable\" = [\"owasp-crs-v030301-id942200-sqli\"] } (docs/RUNBOOK.md, Error rate spike)."
  type        = map(list(string))
  default     = {}

  validation {
    condition     = alltrue([for ids in values(var.waf_opt_out_rule_ids) : alltrue([for id in ids : can(regex("^owasp-crs-v030301-id[0-9]+-[a-z]+$", id))])])
    error_message = "Each opted-out signature is a CRS 3.3 id such as owasp-crs-v030301-id942200-sqli."
  }
}
