output "repository" {
  description = "Repository id."
  value       = google_artifact_registry_repository.images.id
}

output "repository_name" {
  description = "Repository name, for repository-level IAM."
  value       = google_artifact_registry_repository.images.name
}

output "image_prefix" {
  description = "Prefix of image names: LOCATION-docker.pkg.dev/PROJECT/REPOSITORY."
  value       = "${var.location}-docker.pkg.dev/${var.project_id}/${google_artifact_registry_repository.images.repository_id}"
}
