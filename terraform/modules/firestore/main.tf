# The ledger: the (default) Firestore database in Native mode, the security rules from
# receipts/stores/gcp/firestore.rules (clients may do nothing; the server SDK bypasses rules,
# so IAM makes the pipeline create-only: terraform/modules/iam), and the composite indexes and
# single-field index exemptions of receipts/stores/gcp/firestore.indexes.json, read from that
# file so the two cannot differ (`receipts init` applies the same file).
#
# Every field no query uses is exempt from automatic indexing, above all those that grow
# with time (event_timestamp, processed_at, the server timestamps ledger_written_at,
# restored_at and recorded_at, Pub/Sub message ids): an indexed field of sequential values
# caps its collection at about 500 writes/s (Firestore "Best practices": hotspots).
locals {
  rules_file   = "${path.module}/../../../receipts/stores/gcp/firestore.rules"
  indexes_file = "${path.module}/../../../receipts/stores/gcp/firestore.indexes.json"
  index_file   = jsondecode(file(local.indexes_file))
  indexes = {
    for index in local.index_file.indexes :
    "${index.collectionGroup}-${join("-", [for field in index.fields : field.fieldPath])}" => index
  }
  field_overrides = {
    for override in local.index_file.fieldOverrides : "${override.collectionGroup}.${override.fieldPath}" => override
  }
}

resource "google_firestore_database" "this" {
  project                           = var.project_id
  name                              = "(default)"
  location_id                       = var.location
  type                              = "FIRESTORE_NATIVE"
  concurrency_mode                  = "PESSIMISTIC"
  app_engine_integration_mode       = "DISABLED"
  point_in_time_recovery_enablement = "POINT_IN_TIME_RECOVERY_ENABLED"
  delete_protection_state           = "DELETE_PROTECTION_ENABLED"
  deletion_policy                   = "ABANDON"

  # Encryption at rest is chosen once, at creation (docs/SECURITY.md, Encryption at rest).
  dynamic "cmek_config" {
    for_each = var.kms_key_name == null ? [] : [var.kms_key_name]
    content {
      kms_key_name = cmek_config.value
    }
  }
}

resource "google_firebaserules_ruleset" "firestore" {
  project = var.project_id

  source {
    files {
      name    = "firestore.rules"
      content = file(local.rules_file)
    }
  }

  depends_on = [google_firestore_database.this]
}

resource "google_firebaserules_release" "firestore" {
  project      = var.project_id
  name         = "cloud.firestore"
  ruleset_name = google_firebaserules_ruleset.firestore.name

  lifecycle {
    replace_triggered_by = [google_firebaserules_ruleset.firestore]
  }
}

resource "google_firestore_index" "this" {
  for_each = local.indexes

  project     = var.project_id
  database    = google_firestore_database.this.name
  collection  = each.value.collectionGroup
  query_scope = each.value.queryScope

  dynamic "fields" {
    for_each = each.value.fields
    content {
      field_path = fields.value.fieldPath
      order      = fields.value.order
    }
  }
}

# One single-field override per fieldOverrides entry; `"indexes": []` gives an empty
# index_config block, which disables every automatic index of the field.
resource "google_firestore_field" "this" {
  for_each = local.field_overrides

  project    = var.project_id
  database   = google_firestore_database.this.name
  collection = each.value.collectionGroup
  field      = each.value.fieldPath

  index_config {
    dynamic "indexes" {
      for_each = each.value.indexes
      content {
        query_scope  = lookup(indexes.value, "queryScope", "COLLECTION")
        order        = lookup(indexes.value, "order", null)
        array_config = lookup(indexes.value, "arrayConfig", null)
      }
    }
  }
}
