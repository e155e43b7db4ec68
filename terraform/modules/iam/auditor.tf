# receipts-auditor, the reconciliation (the hourly Flex Template job, and `receipts
# reconcile` run as it): reads the ledger, the state and the archive, verifies with the
# published JWKS (no KMS access), creates its reports and cannot replace one, publishes the
# discrepancy alert, and writes one row: Intake, to freeze intake on a discrepancy
# (Spanner role receipts_auditor).
resource "google_project_iam_member" "auditor" {
  for_each = toset(concat(local.dataflow_worker_roles, ["roles/datastore.viewer"]))

  project = var.project_id
  role    = each.value
  member  = local.auditor
}

resource "google_pubsub_topic_iam_member" "auditor_alerts" {
  project = var.project_id
  topic   = var.reconcile_alert_topic_name
  role    = "roles/pubsub.publisher"
  member  = local.auditor
}

resource "google_spanner_database_iam_member" "auditor" {
  project  = var.project_id
  instance = var.spanner_instance
  database = var.spanner_database
  role     = "roles/spanner.fineGrainedAccessUser"
  member   = local.auditor
}

resource "google_spanner_database_iam_member" "auditor_database_role" {
  project  = var.project_id
  instance = var.spanner_instance
  database = var.spanner_database
  role     = "roles/spanner.databaseRoleUser"
  member   = local.auditor

  condition {
    title      = "receipts_auditor role only"
    expression = "resource.type == \"spanner.googleapis.com/DatabaseRole\" && resource.name.endsWith(\"/databaseRoles/receipts_auditor\")"
  }
}

resource "google_storage_bucket_iam_member" "auditor_reads" {
  for_each = toset([var.archive_bucket, var.releases_bucket])

  bucket = each.value
  role   = "roles/storage.objectViewer"
  member = local.auditor
}

# Create only: a report, once written, cannot be replaced or deleted by the job that wrote it
# (nor by anyone before the bucket's retention period ends).
resource "google_storage_bucket_iam_member" "auditor_reports" {
  bucket = var.reports_bucket
  role   = "roles/storage.objectCreator"
  member = local.auditor
}

resource "google_storage_bucket_iam_member" "auditor_staging" {
  bucket = var.job_staging_buckets["reconcile"]
  role   = "roles/storage.objectAdmin"
  member = local.auditor
}

resource "google_artifact_registry_repository_iam_member" "auditor_pulls" {
  project    = var.project_id
  location   = var.registry_location
  repository = var.registry_repository
  role       = "roles/artifactregistry.reader"
  member     = local.auditor
}
