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
  description = "The streaming job's Dataflow staging bucket (staging/, temp/)."
  value       = module.storage.staging_bucket
}

output "releases_bucket" {
  description = "Where the deployer publishes the Flex Template specs (templates/) and the JWKS (keys/jwks.json)."
  value       = module.storage.releases_bucket
}

output "reports_bucket" {
  description = "Where the reconciliation and the restore create their reports."
  value       = module.storage.reports_bucket
}

output "job_staging_buckets" {
  description = "The batch jobs' Dataflow staging buckets (reconcile, restore, statements)."
  value       = module.storage.job_staging_buckets
}

output "image_prefix" {
  description = "Where to push images: IMAGE_PREFIX/streaming:TAG and IMAGE_PREFIX/site:TAG."
  value       = module.registry.image_prefix
}

output "pipeline_service_account" {
  description = "Service account the streaming job runs as (signs and appends)."
  value       = module.iam.pipeline_service_account
}

output "auditor_service_account" {
  description = "Service account the reconciliation runs as."
  value       = module.iam.auditor_service_account
}

output "restorer_service_account" {
  description = "Service account a restore runs as (holds roles only while restore_until is set and not past)."
  value       = module.iam.restorer_service_account
}

output "deployer_service_account" {
  description = "Service account CI applies Terraform as."
  value       = module.iam.deployer_service_account
}

output "auditor_store_url" {
  description = "The reconciliation's --store (Spanner database role receipts_auditor)."
  value       = local.auditor_store
}

output "statements_store_url" {
  description = "The statements close's --store (Spanner database role statements_closer)."
  value       = local.closer_store
}

output "statements_service_account" {
  description = "Email of the statements close's service account (receipts-statements)."
  value       = module.iam.statements_service_account
}

output "restorer_store_url" {
  description = "The restore's --store (Spanner database role receipts_restorer)."
  value       = "${local.store_url}&role=receipts_restorer"
}

output "site_service_account" {
  description = "Service account the site runs as."
  value       = module.iam.site_service_account
}

output "site_session_secret" {
  description = "Secret Manager secret to add the site's session secret to."
  value       = module.iam.site_session_secret
}

output "site_url" {
  description = "The site's URL (empty until site_image is set)."
  value       = var.site_image == "" ? "" : module.site[0].url
}

output "job_id" {
  description = "The streaming job's id (empty until pipeline_image is set)."
  value       = var.pipeline_image == "" ? "" : module.dataflow[0].job_id
}
