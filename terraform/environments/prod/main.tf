# Production, multi-region as the seed asks (us-central1 primary, us-east1 failover):
#   Spanner     multi-region configuration (synchronous replication; no data loss and no
#               manual step when one region is lost)
#   Firestore   multi-region location
#   Archive     dual-region bucket with turbo replication, 7-year retention, locked
#   KMS         multi-region key ring: signing continues through a region outage
#   Pub/Sub     message storage policy pinned to the two regions
#   Site        Cloud Run in both regions behind one global HTTPS load balancer
#   Dataflow    one streaming job in the primary region; failover starts it in the other
#               (docs/DEPLOY.md, "Regional failover", with the seed's RTO/RPO)
locals {
  labels      = { system = "receipts", environment = "prod" }
  regions     = [var.primary_region, var.failover_region]
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
  subnets = {
    (var.primary_region)  = "10.20.0.0/20"
    (var.failover_region) = "10.21.0.0/20"
  }

  depends_on = [module.services]
}

module "pubsub" {
  source                      = "../../modules/pubsub"
  project_id                  = var.project_id
  allowed_persistence_regions = local.regions
  labels                      = local.labels

  depends_on = [module.services]
}

module "spanner" {
  source                   = "../../modules/spanner"
  project_id               = var.project_id
  instance_config          = var.spanner_config
  edition                  = "ENTERPRISE_PLUS"
  version_retention_period = "7d"
  backup_retention         = "7776000s"
  # Sized from benchmarks/streaming_throughput.py (docs/PERFORMANCE.md, "Scale on paper"):
  # at 10,000 receipts/s in per-customer micro-batches Spanner takes about 13 nodes; the
  # ceiling leaves a backlog's catch-up room above that, the floor serves a quiet night.
  autoscaling = {
    min_processing_units      = 1000
    max_processing_units      = 20000
    high_priority_cpu_percent = 45
  }
  labels = local.labels

  depends_on = [module.services]
}

module "firestore" {
  source           = "../../modules/firestore"
  project_id       = var.project_id
  location         = var.firestore_location
  backup_retention = "2419200s"

  depends_on = [module.services]
}

module "storage" {
  source                 = "../../modules/storage"
  project_id             = var.project_id
  name_prefix            = "${var.project_id}-receipts"
  archive_bucket_name    = local.archive
  location               = "US"
  archive_data_locations = [upper(var.primary_region), upper(var.failover_region)]
  lock_retention_policy  = var.lock_archive_retention
  labels                 = local.labels

  depends_on = [module.services]
}

module "kms" {
  source     = "../../modules/kms"
  project_id = var.project_id
  location   = "us"
  labels     = local.labels

  depends_on = [module.services]
}

module "registry" {
  source     = "../../modules/registry"
  project_id = var.project_id
  location   = "us"
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
  registry_location          = "us"
  registry_repository        = module.registry.repository_name
  labels                     = local.labels
}

module "dataflow" {
  source = "../../modules/dataflow"
  count  = var.pipeline_image == "" ? 0 : 1

  project_id        = var.project_id
  region            = var.dataflow_region
  template_spec     = "gs://${module.storage.staging_bucket}/templates/streaming.json"
  image             = var.pipeline_image
  service_account   = module.iam.pipeline_service_account
  subnetwork        = module.network.subnetworks[var.dataflow_region]
  machine_type      = "n2-standard-4"
  max_workers       = 20
  staging_bucket    = module.storage.staging_bucket
  store_url         = local.store_url
  signer            = "kms://${local.signing_key}"
  log_origin        = var.log_origin
  log_signer        = "kms://${module.kms.log_first_version}"
  kid               = var.signing_kid
  archive_url       = module.storage.archive_url
  subscription      = module.pubsub.subscription
  dead_letter_topic = module.pubsub.dead_letter_topic
  labels            = local.labels
}

module "site" {
  source   = "../../modules/cloudrun"
  for_each = var.site_image == "" ? toset([]) : toset(local.regions)

  project_id       = var.project_id
  region           = each.value
  image            = var.site_image
  service_account  = module.iam.site_service_account
  store_url        = "${local.store_url}&role=verifier_site" # Spanner fine-grained access (spanner_roles.sql)
  kms_key_versions = local.key_versions
  session_secret   = module.iam.site_session_secret
  ingress          = "INGRESS_TRAFFIC_INTERNAL_LOAD_BALANCER"
  trusted_proxies  = 2
  min_instances    = 2
  max_instances    = 50
  labels           = local.labels
}

module "loadbalancer" {
  source = "../../modules/loadbalancer"
  count  = var.site_image == "" ? 0 : 1

  project_id = var.project_id
  services   = { for region, site in module.site : region => site.service_name }
  domain     = var.site_domain
}

module "reconcile_schedule" {
  source = "../../modules/reconcile_schedule"
  count  = var.reconcile_image == "" || var.site_image == "" ? 0 : 1

  project_id      = var.project_id
  region          = var.dataflow_region
  template_spec   = "gs://${module.storage.staging_bucket}/templates/reconcile.json"
  image           = var.reconcile_image
  service_account = module.iam.pipeline_service_account
  subnetwork      = module.network.subnetworks[var.dataflow_region]
  staging_bucket  = module.storage.staging_bucket
  max_workers     = 8
  store_url       = local.store_url
  archive_url     = module.storage.archive_url
  jwks_url        = "https://${var.site_domain}/.well-known/jwks.json"
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
  spanner_cpu_percent        = 45
  site_host                  = var.site_image == "" ? "" : var.site_domain

  depends_on = [module.services]
}
