variable "project_id" {
  description = "Google Cloud project id."
  type        = string
}

variable "location" {
  description = "Repository location (a region or a multi-region such as us)."
  type        = string
}

variable "repository_id" {
  description = "Repository name: images are LOCATION-docker.pkg.dev/PROJECT/REPOSITORY/NAME:TAG."
  type        = string
  default     = "receipts"
}

variable "kms_key_name" {
  description = "Customer-managed encryption key for images (a symmetric Cloud KMS key); null uses Google-managed keys."
  type        = string
  default     = null
}

variable "labels" {
  description = "Labels on the repository."
  type        = map(string)
  default     = {}
}
