# Docker images: the Flex Template image (launcher and workers) and the verifier site.
resource "google_artifact_registry_repository" "images" {
  project       = var.project_id
  location      = var.location
  repository_id = var.repository_id
  format        = "DOCKER"
  description   = "Images of the receipts pipelines and the verifier site"
  labels        = var.labels
  kms_key_name  = var.kms_key_name

  docker_config {
    immutable_tags = true
  }
}
