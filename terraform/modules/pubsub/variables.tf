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
  description = "Topic for dead letters: invalid events (published by the job) and undeliverable messages (by Pub/Sub)."
  type        = string
  default     = "billing-events-dead"
}

variable "reconcile_alert_topic_name" {
  description = "Topic the reconciliation job publishes a message to when it finds a discrepancy (alerted on)."
  type        = string
  default     = "receipts-reconcile-alerts"
}

variable "message_retention" {
  description = "How long unacknowledged messages are kept (max 7 days): the longest pipeline outage that loses no event."
  type        = string
  default     = "604800s"
}

variable "max_delivery_attempts" {
  description = "Deliveries of one message before Pub/Sub moves it to the dead-letter topic (5-100)."
  type        = number
  default     = 5
}

variable "retry_minimum_backoff" {
  description = "Retry policy: first redelivery delay after a nack or an expired deadline."
  type        = string
  default     = "10s"
}

variable "retry_maximum_backoff" {
  description = "Retry policy: longest redelivery delay (max 600s)."
  type        = string
  default     = "600s"
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
