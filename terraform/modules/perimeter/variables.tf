variable "project_id" {
  description = "Google Cloud project id (the project the perimeter encloses)."
  type        = string
}

variable "access_policy" {
  description = "The organisation's Access Context Manager policy number (gcloud access-context-manager policies list --organization ORG)."
  type        = string

  validation {
    condition     = can(regex("^[0-9]+$", var.access_policy))
    error_message = "access_policy is the policy's number, e.g. 123456789012."
  }
}

variable "name" {
  description = "Perimeter name (letters, digits and underscores) and prefix of the DNS zone's name."
  type        = string
  default     = "receipts"
}

variable "enforce" {
  description = "false: dry run, violations logged and nothing refused; true: enforced. Enforce only after a week of dry-run logs (docs/DEPLOY.md)."
  type        = bool
  default     = false
}

variable "network" {
  description = "Self link of the workers' VPC network, which resolves googleapis.com to restricted.googleapis.com."
  type        = string
}

variable "operator_members" {
  description = "Who may call the project's APIs from outside the perimeter: the deployer (Terraform in CI), on-call operators, a restore window's restorer (user:… or serviceAccount:…)."
  type        = list(string)

  validation {
    condition     = length(var.operator_members) > 0
    error_message = "Name at least one operator: an enforced perimeter with none would lock Terraform out of the project."
  }
}

variable "producer_members" {
  description = "Producer identities outside the perimeter that publish to billing-events (serviceAccount:…); Publish is all they may call."
  type        = list(string)
  default     = []
}

variable "scheduler_members" {
  description = "The reconciliation scheduler's launcher identity (serviceAccount:…): Cloud Scheduler calls the Dataflow API from outside the perimeter."
  type        = list(string)
  default     = []
}
