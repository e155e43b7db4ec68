# Docker images: the Flex Template image (launcher and workers) and the verifier site.
# Tags are immutable, and environments take images by digest only (their *_image variables
# refuse a tag). Artifact Analysis scans every image pushed here and keeps rescanning it as
# new vulnerabilities are published (containerscanning.googleapis.com, enabled by the
# services module; docs/DEPLOY.md step 3 reads the findings before a deploy).
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

  vulnerability_scanning_config {
    enablement_config = "INHERITED" # on while the Container Scanning API is enabled
  }
}
