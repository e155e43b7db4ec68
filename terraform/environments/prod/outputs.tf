output "store_url" {
  description = "The store URL for every receipts command and job (--store)."
  value       = local.store_url
}

output "signer" {
  description = "The job's --signer."
  value       = "kms://${local.signing_key}"
}

output "log_origin" {
  description = "The transparency log's origin (--log-origin, the jobs' --log_origin)."
  value       = var.log_origin
}

output "log_signer" {
  description = "The log's checkpoint key (--log-signer, the jobs' --log_signer)."
  value       = "kms://${module.kms.log_first_version}"
}

output "published_key_versions" {
  description = "The KMS key versions the site publishes (receipts keys jwks --kms-key for each)."
  value       = local.key_versions
}

output "subscription" {
  description = "The events subscription (--subscription)."
  value       = module.pubsub.subscription
}

output "topic" {
  description = "The events topic producers publish to."
  value       = module.pubsub.topic
}

output "dead_letter_topic" {
  description = "The dead-letter topic (--dead_letter_topic)."
  value       = module.pubsub.dead_letter_topic
}

output "archive_url" {
  description = "The archive (--archive)."
  value       = module.storage.archive_url
}

output "staging_bucket" {
  description = "Bucket for Flex Template specs (templates/) and Dataflow staging/temp files."
  value       = module.storage.staging_bucket
}

output "image_prefix" {
  description = "Where to push images: IMAGE_PREFIX/streaming:TAG and IMAGE_PREFIX/site:TAG."
  value       = module.registry.image_prefix
}

output "pipeline_service_account" {
  description = "Service account the Dataflow job runs as."
  value       = module.iam.pipeline_service_account
}

output "site_service_account" {
  description = "Service account the site runs as."
  value       = module.iam.site_service_account
}

output "site_session_secret" {
  description = "Secret Manager secret to add the site's session secret to."
  value       = module.iam.site_session_secret
}

output "site_address" {
  description = "The load balancer's IPv4 address for the site domain's A record (empty until site_image is set)."
  value       = var.site_image == "" ? "" : module.loadbalancer[0].address
}

output "site_url" {
  description = "The site's public URL."
  value       = "https://${var.site_domain}/"
}

output "job_id" {
  description = "The streaming job's id (empty until pipeline_image is set)."
  value       = var.pipeline_image == "" ? "" : module.dataflow[0].job_id
}
