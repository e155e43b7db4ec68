variable "project_id" {
  description = "Google Cloud project id."
  type        = string
}

variable "instance_name" {
  description = "Spanner instance id (the store URL's ?instance=, default receipts)."
  type        = string
  default     = "receipts"
}

variable "database_name" {
  description = "Spanner database id (the store URL's ?database=, default receipts)."
  type        = string
  default     = "receipts"
}

variable "instance_config" {
  description = "Instance configuration: regional-REGION for one region, or a multi-region configuration such as nam6 (no data loss and no manual failover when a region goes down)."
  type        = string
}

variable "edition" {
  description = "Spanner edition: STANDARD (regional only), ENTERPRISE, or ENTERPRISE_PLUS (needed for multi-region configurations)."
  type        = string
  default     = "STANDARD"
}

variable "processing_units" {
  description = "Fixed compute capacity (1000 processing units = 1 node) when autoscaling is null."
  type        = number
  default     = 100
}

variable "autoscaling" {
  description = "Managed autoscaling bounds and the high-priority CPU target (65% regional, 45% multi-region are Google's recommended maxima); null for a fixed size."
  type = object({
    min_processing_units      = number
    max_processing_units      = number
    high_priority_cpu_percent = number
  })
  default = null
}

variable "version_retention_period" {
  description = "Point-in-time recovery window (1h to 7d): how far back a stale read or a restore can go after corruption."
  type        = string
  default     = "7d"
}

variable "backup_retention" {
  description = "How long each daily backup is kept."
  type        = string
  default     = "2592000s"
}

variable "labels" {
  description = "Labels on the instance."
  type        = map(string)
  default     = {}
}
