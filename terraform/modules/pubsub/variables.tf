variable "project_id" {
  description = "Google Cloud project id."
  type        = string
}

variable "topic_name" {
  description = "Topic producers publish billing events to."
  type        = string
  default     = "billing-events"
}

variable "subscription_name" {
  description = "Subscription the streaming job reads."
  type        = string
  default     = "billing-events-sub"
}

variable "dead_letter_topic_name" {
  description = "Topic for dead letters the job publishes (invalid events, refused receipts, events held while intake is frozen), raw bytes and reason."
  type        = string
  default     = "billing-events-dead"
}

variable "reconcile_alert_topic_name" {
  description = "Topic the reconciliation job publishes a message to when it finds a discrepancy (alerted on)."
  type        = string
  default     = "receipts-reconcile-alerts"
}

variable "message_retention" {
  description = "How long messages are kept, acked or not (max 7 days): the longest pipeline outage that loses no event, and how far back a failover can seek the job's subscription."
  type        = string
  default     = "604800s"
}

variable "allowed_persistence_regions" {
  description = "Message storage policy: regions where Pub/Sub may store messages; empty allows every region."
  type        = list(string)
  default     = []
}

variable "kms_key_name" {
  description = "Customer-managed encryption key for the topics (a symmetric Cloud KMS key); null uses Google-managed keys."
  type        = string
  default     = null
}

variable "labels" {
  description = "Labels on every topic and subscription."
  type        = map(string)
  default     = {}
}
