variable "project_id" {
  description = "Google Cloud project id."
  type        = string
}

variable "location" {
  description = "Key ring location: a region (us-central1) or a multi-region (us) that keeps signing through a region outage."
  type        = string
}

variable "key_ring_name" {
  description = "Key ring name (key rings cannot be deleted: choose it once)."
  type        = string
  default     = "receipts"
}

variable "key_name" {
  description = "Signing key name."
  type        = string
  default     = "receipt-signing"
}

variable "log_key_name" {
  description = "The transparency log's checkpoint key name (Ed25519)."
  type        = string
  default     = "log-signing"
}

variable "protection_level" {
  description = "HSM (the design's requirement) or SOFTWARE (cheaper, for throwaway projects)."
  type        = string
  default     = "HSM"

  validation {
    condition     = contains(["HSM", "SOFTWARE"], var.protection_level)
    error_message = "protection_level must be HSM or SOFTWARE."
  }
}

variable "labels" {
  description = "Labels on the key."
  type        = map(string)
  default     = {}
}

variable "delegated_wrapping_key_name" {
  description = "The delegated signer's wrapping key name (symmetric, ENCRYPT_DECRYPT)."
  type        = string
  default     = "delegated-key-wrapping"
}
