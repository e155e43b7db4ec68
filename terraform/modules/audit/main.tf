# The audit trail: Data Access audit logs where receipts are signed, stored and read, every
# audit log kept in a log bucket of its own, and on-call paged on the changes that could undo
# the product's promise: IAM, the signing key, retention, the schema, backups and the audit
# trail.
#
# Admin Activity audit logs (every change of IAM, keys, buckets, schema) are always on and
# cannot be turned off. Data Access audit logs are off by default; here:
#   cloudkms  every type: each AsymmetricSign, by whom, with which key version
#   storage   reads and writes of objects (archive, reports, releases)
#   datastore writes (the name that configures Firestore's logs, which carry
#             firestore.googleapis.com); reads too with log_data_reads
#   spanner   writes (commits, DML); reads too with log_data_reads (one entry per read: the
#             streaming job reads for every event)
# Firestore does not log the individual writes of an import, a bulk delete or TTL (Firestore
# "audit logging" notes); the bulk delete itself is Admin Activity, and pages below.
locals {
  reads = var.log_data_reads ? ["DATA_READ"] : []
  data_access = {
    "cloudkms.googleapis.com"  = ["ADMIN_READ", "DATA_READ", "DATA_WRITE"]
    "storage.googleapis.com"   = ["DATA_READ", "DATA_WRITE"]
    "datastore.googleapis.com" = concat(["DATA_WRITE"], local.reads)
    "spanner.googleapis.com"   = concat(["DATA_WRITE"], local.reads)
  }
  activity = "logName:\"cloudaudit.googleapis.com%2Factivity\""
  buckets  = join(" OR ", [for bucket in var.retained_buckets : "\"${bucket}\""])

  # Each alert: an Admin Activity entry matching `filter` pages (at most once per 5 minutes).
  alerts = {
    iam_changed = {
      title    = "IAM changed (a policy, a custom role or a service account key)"
      severity = "ERROR"
      filter   = "${local.activity} AND (protoPayload.methodName=~\"SetIamPolicy|setIamPermissions\" OR (protoPayload.serviceName=\"iam.googleapis.com\" AND protoPayload.methodName=~\"(Create|Update|Delete|Undelete)Role|ServiceAccountKey\"))"
    }
    signing_key_changed = {
      title    = "The signing key or its key ring changed (versions, state, primary, IAM)"
      severity = "ERROR"
      filter   = "${local.activity} AND protoPayload.serviceName=\"cloudkms.googleapis.com\""
    }
    retention_changed = {
      title    = "A retained bucket changed (retention policy, lock, IAM, deletion)"
      severity = "CRITICAL"
      filter   = "${local.activity} AND protoPayload.serviceName=\"storage.googleapis.com\" AND protoPayload.methodName=~\"^storage\\\\.buckets\\\\.\" AND protoPayload.methodName!=\"storage.buckets.create\" AND resource.labels.bucket_name=(${local.buckets})"
    }
    schema_changed = {
      title    = "The Spanner schema or database, or Firestore's rules or database, changed"
      severity = "ERROR"
      filter   = "${local.activity} AND ((protoPayload.serviceName=\"spanner.googleapis.com\" AND protoPayload.methodName=~\"DatabaseAdmin\\\\.(UpdateDatabaseDdl|UpdateDatabase|DropDatabase|RestoreDatabase)$\") OR protoPayload.serviceName=\"firebaserules.googleapis.com\" OR (protoPayload.serviceName=\"firestore.googleapis.com\" AND protoPayload.methodName=~\"FirestoreAdmin\\\\.(UpdateDatabase|DeleteDatabase|RestoreDatabase|BulkDeleteDocuments)$\"))"
    }
    # No workload can touch a backup (tests/test_terraform_edges.py); the deployer and an
    # Owner can, so a deleted or shortened backup, or a changed schedule, pages.
    backups_changed = {
      title    = "A Spanner or Firestore backup or backup schedule was deleted or changed"
      severity = "CRITICAL"
      filter   = "${local.activity} AND ((protoPayload.serviceName=\"spanner.googleapis.com\" AND protoPayload.methodName=~\"DatabaseAdmin\\\\.(DeleteBackup|UpdateBackup|DeleteBackupSchedule|UpdateBackupSchedule)$\") OR (protoPayload.serviceName=\"firestore.googleapis.com\" AND protoPayload.methodName=~\"FirestoreAdmin\\\\.(DeleteBackup|DeleteBackupSchedule|UpdateBackupSchedule)$\"))"
    }
    audit_trail_changed = {
      title    = "The audit trail changed (log buckets, sinks, exclusions)"
      severity = "CRITICAL"
      filter   = "${local.activity} AND protoPayload.serviceName=\"logging.googleapis.com\" AND protoPayload.methodName=~\"(Update|Delete|Undelete)(Bucket|Sink|Exclusion|Settings)|CreateExclusion\""
    }
  }
}

resource "google_project_iam_audit_config" "data_access" {
  for_each = local.data_access

  project = var.project_id
  service = each.key

  dynamic "audit_log_config" {
    for_each = each.value
    content {
      log_type = audit_log_config.value
    }
  }
}

# Every audit log (Admin Activity, Data Access, System Event, Policy Denied) also goes to a
# log bucket with its own retention, locked in production: _Default keeps Data Access logs
# 30 days, and anyone with logging configuration rights could shorten that.
resource "google_logging_project_bucket_config" "audit" {
  project        = var.project_id
  location       = "global"
  bucket_id      = "receipts-audit"
  retention_days = var.retention_days
  locked         = var.lock_retention
  description    = "Every audit log of the receipts project, kept ${var.retention_days} days."
}

# A sink into a log bucket of its own project needs no grant to its writer identity.
resource "google_logging_project_sink" "audit" {
  project                = var.project_id
  name                   = "receipts-audit"
  destination            = "logging.googleapis.com/${google_logging_project_bucket_config.audit.id}"
  filter                 = "logName:\"cloudaudit.googleapis.com\""
  unique_writer_identity = true
}

resource "google_monitoring_alert_policy" "audit" {
  for_each = local.alerts

  project               = var.project_id
  display_name          = "Receipts audit: ${each.value.title}"
  combiner              = "OR"
  severity              = each.value.severity
  notification_channels = var.notification_channels

  conditions {
    display_name = each.value.title
    condition_matched_log {
      filter = each.value.filter
      label_extractors = {
        principal = "EXTRACT(protoPayload.authenticationInfo.principalEmail)"
        method    = "EXTRACT(protoPayload.methodName)"
      }
    }
  }

  alert_strategy {
    auto_close = "1800s"
    notification_rate_limit {
      period = "300s"
    }
  }

  documentation {
    content   = "An Admin Activity audit log entry matched: ${each.value.title}. Expected during a deploy by receipts-deployer; otherwise find who (the principal label) and why. Runbook: ${var.runbook_url}#audit-alerts"
    mime_type = "text/markdown"
  }
}
