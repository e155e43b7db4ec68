variable "project_id" {
  description = "Google Cloud project id."
  type        = string
}

variable "notification_emails" {
  description = "On-call e-mail addresses that get every alert."
  type        = list(string)
}

variable "runbook_url" {
  description = "Where docs/RUNBOOK.md is published (each alert links its section)."
  type        = string
}

variable "job_name_prefix" {
  description = "The streaming job's name (or a prefix of it): the Beam counter alerts match jobs by it."
  type        = string
  default     = "receipts-streaming"
}

variable "statements_job_name" {
  description = "Name of the monthly statements close's Dataflow jobs: the statements_failed alert matches it exactly."
  type        = string
  default     = "receipts-statements"
}

variable "reconcile_job_name" {
  description = "Name of the scheduled reconciliation's Dataflow jobs: the reconcile_failed alert matches it exactly."
  type        = string
  default     = "receipts-reconcile"
}

variable "subscription_name" {
  description = "The events subscription (backlog alert)."
  type        = string
}

variable "reconcile_alert_topic_name" {
  description = "The topic the reconciliation job publishes discrepancies to."
  type        = string
}

variable "spanner_instance" {
  description = "Spanner instance id (CPU alert)."
  type        = string
}

variable "site_service_name" {
  description = "Cloud Run service name of the site (in every region)."
  type        = string
  default     = "receipts-site"
}

variable "site_host" {
  description = "Host name the uptime check probes (the load balancer's domain, or the run.app host); empty: no uptime check."
  type        = string
  default     = ""
}

variable "dead_letter_threshold" {
  description = "Dead letters per 10 minutes above which on-call is told."
  type        = number
  default     = 50
}

variable "idempotency_conflict_threshold" {
  description = "Idempotency conflicts per 10 minutes above which on-call is told."
  type        = number
  default     = 10
}

variable "backlog_seconds" {
  description = "Age in seconds of the oldest unacknowledged event in the job's subscription (pubsub.googleapis.com/subscription/oldest_unacked_message_age) that raises the backlog alert: the job is behind or stalled."
  type        = number
  default     = 300
}

variable "backlog_critical_seconds" {
  description = "Age in seconds of the oldest unacknowledged event that pages as critical: the subscription deletes events at its 7-day retention, so this leaves days to act."
  type        = number
  default     = 86400
}

variable "system_lag_seconds" {
  description = "Dataflow system lag in seconds that raises the latency alert. The seed's 100 ms p99 is for a synchronous request; here producers get their receipt id at publish time and the receipt is written within seconds."
  type        = number
  default     = 60
}

variable "kms_errors_per_second" {
  description = "Failed Cloud KMS calls per second (over 5 minutes) that raise the signing alert."
  type        = number
  default     = 0.1
}

variable "spanner_cpu_percent" {
  description = "High-priority CPU percent of the Spanner instance that raises the capacity alert (65 regional, 45 multi-region)."
  type        = number
  default     = 65
}

variable "site_error_ratio" {
  description = "Share of the site's requests answered 5xx that raises the error alert (the seed: 1%)."
  type        = number
  default     = 0.01
}

variable "site_latency_p99_ms" {
  description = "The site's p99 latency in ms that raises the latency alert (the seed: 100 ms)."
  type        = number
  default     = 100
}
