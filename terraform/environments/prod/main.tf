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
  labels    = { system = "receipts", environment = "prod" }
  regions   = [var.primary_region, var.failover_region]
  archive   = "${var.project_id}-receipts-archive"
  store_url = "gcp://${var.project_id}?instance=${module.spanner.instance}&database=${module.spanner.database}&bucket=${module.storage.archive_bucket}"
  # Each workload connects to Spanner with its own database role (spanner_roles.sql).
  writer_store  = "${local.store_url}&role=receipts_writer"
  auditor_store = "${local.store_url}&role=receipts_auditor"
  closer_store  = "${local.store_url}&role=statements_closer"
  reconcile_job = "receipts-reconcile"  # the scheduled jobs' name, which the reconcile_failed alert matches
  closing_job   = "receipts-statements" # the monthly close's jobs, which the statements_failed alert matches
  signing_key   = coalesce(var.signing_key_version, module.kms.first_version)
  # The jobs' --signer: the KMS key itself, or (delegated_window set) daily keys it endorses.
  job_signer   = var.delegated_window == null ? "kms://${local.signing_key}" : "delegated://kms/${local.signing_key}?wrap=${module.kms.delegated_wrapping_key}&window=${var.delegated_window}"
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
  incremental_backup_hours = 4
  kms_key_names            = [] # Google-managed, decided before the first apply: docs/SECURITY.md, Encryption at rest
  # Sized from benchmarks/streaming_throughput.py (docs/PERFORMANCE.md, "Scale on paper"):
  # at 10,000 receipts/s in per-customer micro-batches Spanner takes about 13 nodes; the
  # ceiling leaves a backlog's catch-up room above that, the floor serves a quiet night.
  autoscaling = {
    min_processing_units      = 1000
    max_processing_units      = 20000
    high_priority_cpu_percent = 45
  }
  serving_database = var.spanner_serving_database # null until a restore (docs/RUNBOOK.md)
  labels           = local.labels

  depends_on = [module.services]
}

module "firestore" {
  source           = "../../modules/firestore"
  project_id       = var.project_id
  location         = var.firestore_location
  backup_retention = "2419200s"
  kms_key_name     = null # Google-managed, decided before the first apply: docs/SECURITY.md, Encryption at rest

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
  events_topic_name          = module.pubsub.topic_name
  subscription_name          = module.pubsub.subscription_name
  dead_letter_topic_name     = module.pubsub.dead_letter_topic_name
  reconcile_alert_topic_name = module.pubsub.reconcile_alert_topic_name
  spanner_instance           = module.spanner.instance
  spanner_database           = module.spanner.database
  archive_bucket             = module.storage.archive_bucket
  staging_bucket             = module.storage.staging_bucket
  job_staging_buckets        = module.storage.job_staging_buckets
  releases_bucket            = module.storage.releases_bucket
  reports_bucket             = module.storage.reports_bucket
  signing_key_id             = module.kms.crypto_key
  log_signing_key_id         = module.kms.log_crypto_key
  delegated_wrapping_key_id  = module.kms.delegated_wrapping_key
  registry_location          = "us"
  registry_repository        = module.registry.repository_name
  restore_until              = var.restore_until
  restore_database           = var.restore_database
  restorers                  = var.restorers
  deployer_principals        = var.deployer_principals
  labels                     = local.labels

  depends_on = [module.services]
}

module "dataflow" {
  source = "../../modules/dataflow"
  count  = var.pipeline_image == "" ? 0 : 1

  project_id        = var.project_id
  region            = var.dataflow_region
  template_spec     = "gs://${module.storage.releases_bucket}/templates/streaming.json"
  image             = var.pipeline_image
  service_account   = module.iam.pipeline_service_account
  subnetwork        = module.network.subnetworks[var.dataflow_region]
  machine_type      = "n2-standard-4"
  max_workers       = 20
  staging_bucket    = module.storage.staging_bucket
  store_url         = local.writer_store
  signer            = local.job_signer
  log_origin        = var.log_origin
  log_signer        = "kms://${module.kms.log_first_version}"
  kid               = var.signing_kid
  archive_url       = module.storage.archive_url
  subscription      = module.pubsub.subscription
  dead_letter_topic = module.pubsub.dead_letter_topic
  labels            = local.labels

  depends_on = [module.iam] # its grants exist before the job launches
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

  depends_on = [module.iam] # its grants exist before the first revision starts
}

module "loadbalancer" {
  source = "../../modules/loadbalancer"
  count  = var.site_image == "" ? 0 : 1

  project_id = var.project_id
  services   = { for region, site in module.site : region => site.service_name }
  domain     = var.site_domain

  depends_on = [module.services]
}

module "reconcile_schedule" {
  source = "../../modules/reconcile_schedule"
  count  = var.reconcile_image == "" ? 0 : 1

  project_id      = var.project_id
  region          = var.dataflow_region
  job_name        = local.reconcile_job
  template_spec   = "gs://${module.storage.releases_bucket}/templates/reconcile.json"
  image           = var.reconcile_image
  service_account = module.iam.auditor_service_account
  deployer        = module.iam.deployer_service_account
  subnetwork      = module.network.subnetworks[var.dataflow_region]
  staging_bucket  = module.storage.job_staging_buckets["reconcile"]
  releases_bucket = module.storage.releases_bucket
  max_workers     = 8
  store_url       = local.auditor_store
  archive_url     = module.storage.archive_url
  jwks_url        = "gs://${module.storage.releases_bucket}/keys/jwks.json" # private workers: no route to the site
  report_url      = "gs://${module.storage.reports_bucket}/reconcile/{as_of}.json"
  alert_topic     = module.pubsub.reconcile_alert_topic
  labels          = local.labels

  depends_on = [module.services, module.iam]
}

module "statements_schedule" {
  source = "../../modules/statements_schedule"
  count  = var.statements_image == "" ? 0 : 1

  project_id      = var.project_id
  region          = var.dataflow_region
  job_name        = local.closing_job
  template_spec   = "gs://${module.storage.releases_bucket}/templates/statements.json"
  image           = var.statements_image
  service_account = module.iam.statements_service_account
  deployer        = module.iam.deployer_service_account
  subnetwork      = module.network.subnetworks[var.dataflow_region]
  staging_bucket  = module.storage.job_staging_buckets["statements"]
  releases_bucket = module.storage.releases_bucket
  max_workers     = 4
  store_url       = local.closer_store
  signer          = local.job_signer # the streaming job's: statements name its (the KMS key's) kid
  labels          = local.labels

  depends_on = [module.services, module.iam]
}

module "monitoring" {
  source                     = "../../modules/monitoring"
  project_id                 = var.project_id
  notification_emails        = var.notification_emails
  runbook_url                = var.runbook_url
  subscription_name          = module.pubsub.subscription_name
  reconcile_alert_topic_name = module.pubsub.reconcile_alert_topic_name
  reconcile_job_name         = local.reconcile_job
  statements_job_name        = local.closing_job
  spanner_instance           = module.spanner.instance
  spanner_cpu_percent        = 45
  site_host                  = var.site_image == "" ? "" : var.site_domain

  depends_on = [module.services]
}

module "audit" {
  source                = "../../modules/audit"
  project_id            = var.project_id
  notification_channels = module.monitoring.notification_channels
  runbook_url           = var.runbook_url
  retained_buckets      = [module.storage.archive_bucket, module.storage.reports_bucket, module.storage.access_log_bucket]
  lock_retention        = var.lock_archive_retention

  depends_on = [module.services]
}

# VPC Service Controls around the project, where the organisation allows it: set
# access_policy (the organisation's policy number) to create the perimeter, in dry run
# until perimeter_enforced is true (docs/DEPLOY.md, "VPC Service Controls").
module "perimeter" {
  source = "../../modules/perimeter"
  count  = var.access_policy == "" ? 0 : 1

  project_id       = var.project_id
  access_policy    = var.access_policy
  enforce          = var.perimeter_enforced
  network          = module.network.network
  producer_members = var.producer_identities
  scheduler_members = [
    for schedule in concat(module.reconcile_schedule, module.statements_schedule) : "serviceAccount:${schedule.launcher_service_account}"
  ]
  # CI applies and publishes as receipts-deployer, from outside; a restore run from a
  # workstation calls as receipts-restorer, which holds nothing outside its window anyway.
  operator_members = concat(
    ["serviceAccount:${module.iam.deployer_service_account}"],
    var.restore_until == null ? [] : ["serviceAccount:${module.iam.restorer_service_account}"],
    var.perimeter_operators,
  )

  depends_on = [module.services]
}
