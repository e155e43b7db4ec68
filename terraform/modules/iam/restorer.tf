# receipts-restorer, the restore (pipelines/restore.py, `receipts restore`): writes ledger
# documents and state rows from the verified archive, replacing what differs (Spanner role
# receipts_restorer; Firestore create and update, never delete). It holds nothing at all
# until an operator opens a restore window (restore_until, an RFC 3339 time: docs/RUNBOOK.md,
# "The ledger is damaged"), and every grant below ends by itself at that time (an IAM
# condition on request.time), so the streaming job's signer is never the identity that can
# rewrite the ledger, and the restorer is not one outside a restore. Its Spanner grants are
# on the serving database, or on restore_database: a database restored from a backup, rolled
# forward from the archive before anything serves from it (docs/RUNBOOK.md, "Restoring a
# database"). No grant here reaches a backup (tests/test_terraform_edges.py).
locals {
  restoring        = var.restore_until != null
  until            = "request.time < timestamp(\"${coalesce(var.restore_until, "1970-01-01T00:00:00Z")}\")"
  restore_database = coalesce(var.restore_database, var.spanner_database)
}

resource "google_project_iam_member" "restorer" {
  for_each = local.restoring ? toset(local.dataflow_worker_roles) : toset([])

  project = var.project_id
  role    = each.value
  member  = local.restorer

  condition {
    title      = "restore window"
    expression = local.until
  }
}

resource "google_project_iam_member" "restorer_rewrites_ledger" {
  count = local.restoring ? 1 : 0

  project = var.project_id
  role    = google_project_iam_custom_role.ledger_restorer.name
  member  = local.restorer

  condition {
    title      = "restore window"
    expression = local.until
  }
}

resource "google_spanner_database_iam_member" "restorer" {
  count = local.restoring ? 1 : 0

  project  = var.project_id
  instance = var.spanner_instance
  database = local.restore_database
  role     = "roles/spanner.fineGrainedAccessUser"
  member   = local.restorer

  condition {
    title      = "restore window"
    expression = local.until
  }
}

resource "google_spanner_database_iam_member" "restorer_database_role" {
  count = local.restoring ? 1 : 0

  project  = var.project_id
  instance = var.spanner_instance
  database = local.restore_database
  role     = "roles/spanner.databaseRoleUser"
  member   = local.restorer

  condition {
    title      = "receipts_restorer role, restore window"
    expression = "resource.type == \"spanner.googleapis.com/DatabaseRole\" && resource.name.endsWith(\"/databaseRoles/receipts_restorer\") && ${local.until}"
  }
}

resource "google_storage_bucket_iam_member" "restorer_reads" {
  for_each = local.restoring ? toset([var.archive_bucket, var.releases_bucket]) : toset([])

  bucket = each.value
  role   = "roles/storage.objectViewer"
  member = local.restorer

  condition {
    title      = "restore window"
    expression = local.until
  }
}

resource "google_storage_bucket_iam_member" "restorer_reports" {
  count = local.restoring ? 1 : 0

  bucket = var.reports_bucket
  role   = "roles/storage.objectCreator"
  member = local.restorer

  condition {
    title      = "restore window"
    expression = local.until
  }
}

resource "google_storage_bucket_iam_member" "restorer_staging" {
  count = local.restoring ? 1 : 0

  bucket = var.job_staging_buckets["restore"]
  role   = "roles/storage.objectAdmin"
  member = local.restorer

  condition {
    title      = "restore window"
    expression = local.until
  }
}

resource "google_artifact_registry_repository_iam_member" "restorer_pulls" {
  count = local.restoring ? 1 : 0

  project    = var.project_id
  location   = var.registry_location
  repository = var.registry_repository
  role       = "roles/artifactregistry.reader"
  member     = local.restorer

  condition {
    title      = "restore window"
    expression = local.until
  }
}

# The operators named in `restorers` may, during the window, launch Dataflow jobs as the
# restorer (serviceAccountUser) and run `receipts restore` as it (token creator:
# `gcloud auth application-default login --impersonate-service-account`).
resource "google_service_account_iam_member" "restorers_launch" {
  for_each = local.restoring ? toset(var.restorers) : toset([])

  service_account_id = google_service_account.restorer.name
  role               = "roles/iam.serviceAccountUser"
  member             = each.value

  condition {
    title      = "restore window"
    expression = local.until
  }
}

resource "google_service_account_iam_member" "restorers_impersonate" {
  for_each = local.restoring ? toset(var.restorers) : toset([])

  service_account_id = google_service_account.restorer.name
  role               = "roles/iam.serviceAccountTokenCreator"
  member             = each.value

  condition {
    title      = "restore window"
    expression = local.until
  }
}
