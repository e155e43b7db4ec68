# Development: one region, the smallest sizes, an archive whose retention policy is not
# locked (the bucket can still be emptied and deleted), the site straight on Cloud Run.
# Workloads (the Dataflow job, the site) are created once their images exist: leave
# pipeline_image / site_image empty on the first apply (docs/DEPLOY.md).
locals {
  labels      = { system = "receipts", environment = "dev" }
  archive     = "${var.project_id}-receipts-archive"
  store_url   = "gcp://${var.project_id}?instance=${module.spanner.instance}&database=${module.spanner.database}&bucket=${module.storage.archive_bucket}"
  signing_key = coalesce(var.signing_key_version, module.kms.first_version)
  key_versions = length(var.published_key_versions) > 0 ? var.published_key_versions : [local.signing_key]
}

module "services" {
  source     = "../../modules/services"
  project_id = var.project_id
}

module "network" {
  source     = "../../modules/network"
  project_id = var.project_id
  subnets    = { (var.region) = "10.10.0.0/20" }

  depends_on = [module.services]
}

module "pubsub" {
  source     = "../../modules/pubsub"
  project_id = var.project_id
  labels     = local.labels

  depends_on = [module.services]
}

module "spanner" {
  source                   = "../../modules/spanner"
  project_id               = var.project_id
  instance_config          = "regional-${var.region}"
  edition                  = "STANDARD"
  processing_units         = 100
  version_retention_period = "1d"
  labels                   = local.labels

  depends_on = [module.services]
}

module "firestore" {
  source     = "../../modules/firestore"
  project_id = var.project_id
  location   = var.region

  depends_on = [module.services]
}

module "storage" {
  source                = "../../modules/storage"
  project_id            = var.project_id
  name_prefix           = "${var.project_id}-receipts"
  archive_bucket_name   = local.archive
  location              = upper(var.region)
  lock_retention_policy = false
  labels                = local.labels

  depends_on = [module.services]
}

module "kms" {
  source     = "../../modules/kms"
  project_id = var.project_id
  location   = var.region
  labels     = local.labels

  depends_on = [module.services]
}

module "registry" {
  source     = "../../modules/registry"
  project_id = var.project_id
  location   = var.region
  labels     = local.labels

  depends_on = [module.services]
}

module "iam" {
  source                     = "../../modules/iam"
  project_id                 = var.project_id
  subscription_name          = module.pubsub.subscription_name
  dead_letter_topic_name     = module.pubsub.dead_letter_topic_name
  reconcile_alert_topic_name = module.pubsub.reconcile_alert_topic_name
  spanner_instance           = module.spanner.instance
  spanner_database           = module.spanner.database
  archive_bucket             = module.storage.archive_bucket
  staging_bucket             = module.storage.staging_bucket
  signing_key_id             = module.kms.crypto_key
  log_signing_key_id         = module.kms.log_crypto_key
  registry_location          = var.region
  registry_repository        = module.registry.repository_name
  labels                     = local.labels
}

module "dataflow" {
  source = "../../modules/dataflow"
  count  = var.pipeline_image == "" ? 0 : 1

  project_id        = var.project_id
  region            = var.region
  template_spec     = "gs://${module.storage.staging_bucket}/templates/streaming.json"
  image             = var.pipeline_image
  service_account   = module.iam.pipeline_service_account
  subnetwork        = module.network.subnetworks[var.region]
  machine_type      = "n2-standard-2"
  max_workers       = 2
  staging_bucket    = module.storage.staging_bucket
  store_url         = local.store_url
  signer            = "kms://${local.signing_key}"
  log_origin        = var.log_origin
  log_signer        = "kms://${module.kms.log_first_version}"
  archive_url       = module.storage.archive_url
  subscription      = module.pubsub.subscription
  dead_letter_topic = module.pubsub.dead_letter_topic
  labels            = local.labels
}

module "site" {
  source = "../../modules/cloudrun"
  count  = var.site_image == "" ? 0 : 1

  project_id       = var.project_id
  region           = var.region
  image            = var.site_image
  service_account  = module.iam.site_service_account
  store_url        = "${local.store_url}&role=verifier_site" # Spanner fine-grained access (spanner_roles.sql)
  kms_key_versions = local.key_versions
  session_secret   = module.iam.site_session_secret
  ingress          = "INGRESS_TRAFFIC_ALL"
  trusted_proxies  = 1
  min_instances    = 0
  max_instances    = 3
  labels           = local.labels
}

module "reconcile_schedule" {
  source = "../../modules/reconcile_schedule"
  count  = var.reconcile_image == "" || var.site_image == "" ? 0 : 1

  project_id      = var.project_id
  region          = var.region
  template_spec   = "gs://${module.storage.staging_bucket}/templates/reconcile.json"
  image           = var.reconcile_image
  service_account = module.iam.pipeline_service_account
  subnetwork      = module.network.subnetworks[var.region]
  staging_bucket  = module.storage.staging_bucket
  max_workers     = 2
  store_url       = local.store_url
  archive_url     = module.storage.archive_url
  jwks_url        = "${module.site[0].url}/.well-known/jwks.json"
  report_url      = "gs://${module.storage.staging_bucket}/reports/reconcile-hourly.json"
  alert_topic     = module.pubsub.reconcile_alert_topic
  labels          = local.labels

  depends_on = [module.services]
}

module "monitoring" {
  source                     = "../../modules/monitoring"
  project_id                 = var.project_id
  notification_emails        = var.notification_emails
  runbook_url                = var.runbook_url
  subscription_name          = module.pubsub.subscription_name
  reconcile_alert_topic_name = module.pubsub.reconcile_alert_topic_name
  spanner_instance           = module.spanner.instance
  spanner_cpu_percent        = 65
  site_host                  = var.site_image == "" ? "" : trimsuffix(trimprefix(module.site[0].url, "https://"), "/")

  depends_on = [module.services]
}
