variable "project_id" {
  description = "Google Cloud project id the receipts system runs in."
  type        = string
}

variable "services" {
  description = "APIs to enable (service names such as spanner.googleapis.com)."
  type        = list(string)
  default = [
    "accesscontextmanager.googleapis.com",
    "artifactregistry.googleapis.com",
    "cloudscheduler.googleapis.com",
    "cloudkms.googleapis.com",
    "compute.googleapis.com",
    "containerscanning.googleapis.com",
    "dataflow.googleapis.com",
    "dns.googleapis.com",
    "firebaserules.googleapis.com",
    "firestore.googleapis.com",
    "iam.googleapis.com",
    "logging.googleapis.com",
    "monitoring.googleapis.com",
    "pubsub.googleapis.com",
    "run.googleapis.com",
    "secretmanager.googleapis.com",
    "spanner.googleapis.com",
    "storage.googleapis.com",
  ]
}

variable "propagation_wait" {
  description = "How long to wait after enabling APIs before anything uses them (a first apply only: the error an API gives meanwhile says to wait a few minutes)."
  type        = string
  default     = "90s"
}
