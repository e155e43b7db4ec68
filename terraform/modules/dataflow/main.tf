# The streaming job, launched from the Flex Template built from templates/streaming/ (its
# image serves as the launcher and as the workers' SDK container). Parameters are the
# job's PipelineOptions, exactly those of templates/streaming/metadata.json.
#
# Changing a parameter or the template makes Terraform update the running job in place
# (Dataflow's update, state kept); destroying it drains, so nothing read is left unwritten.
#
# Dataflow jobs are regional. When the job's region fails, run it in the failover region
# (docs/DEPLOY.md, "Regional failover"): Pub/Sub keeps every unacknowledged event for the
# subscription's retention, and the new job hydrates dedup and chain state from Spanner,
# so no event is lost and none is billed twice.
resource "google_dataflow_flex_template_job" "streaming" {
  provider = google-beta

  project                 = var.project_id
  region                  = var.region
  name                    = var.job_name
  container_spec_gcs_path = var.template_spec
  sdk_container_image     = var.image
  service_account_email   = var.service_account
  subnetwork              = var.subnetwork
  ip_configuration        = "WORKER_IP_PRIVATE"
  enable_streaming_engine = true
  machine_type            = var.machine_type
  max_workers             = var.max_workers
  temp_location           = "gs://${var.staging_bucket}/temp"
  staging_location        = "gs://${var.staging_bucket}/staging"
  on_delete               = "drain"
  labels                  = var.labels

  parameters = merge(
    {
      store                  = var.store_url
      signer                 = var.signer
      archive                = var.archive_url
      subscription           = var.subscription
      dead_letter_topic      = var.dead_letter_topic
      archive_window_seconds = tostring(var.archive_window_seconds)
      archive_shard_receipts = tostring(var.archive_shard_receipts)
      charge_batch_size      = tostring(var.charge_batch_size)
      charge_buffer_seconds  = tostring(var.charge_buffer_seconds)
      dedup_ttl_seconds      = tostring(var.dedup_ttl_seconds)
      max_future_seconds     = tostring(var.max_future_seconds)
      log_origin             = var.log_origin
      log_signer             = var.log_signer
      log_interval           = tostring(var.log_interval_seconds)
    },
    var.kid == null ? {} : { kid = var.kid },
    length(var.log_witnesses) == 0 ? {} : { log_witness = join(" ", var.log_witnesses) },
    var.log_witness_quorum == null ? {} : { log_witness_quorum = tostring(var.log_witness_quorum) },
  )
}
