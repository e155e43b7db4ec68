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
