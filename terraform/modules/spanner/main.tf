# The state store: instance and database. The DDL is receipts/stores/gcp/spanner.sql, the file
# `receipts init` applies too, split the way receipts/stores/gcp/schema.py splits it: lines
# starting with "--" dropped, statements separated by a ";" that ends a line.
#
# Terraform applies statements appended to the file as schema updates; changing or removing
# an applied statement would replace the database, which deletion protection refuses. So
# the schema only grows: add new statements at the end of spanner.sql. The database roles
# of fine-grained access control (receipts/stores/gcp/spanner_roles.sql) come after the tables.
locals {
  ddl_file    = "${path.module}/../../../receipts/stores/gcp/spanner.sql"
  roles_file  = "${path.module}/../../../receipts/stores/gcp/spanner_roles.sql"
  ddl_lines   = [for line in split("\n", file(local.ddl_file)) : line if !startswith(trimspace(line), "--")]
  roles_lines = [for line in split("\n", file(local.roles_file)) : line if !startswith(trimspace(line), "--")]
  tables      = [for statement in split(";\n", join("\n", local.ddl_lines)) : trimspace(trimsuffix(trimspace(statement), ";")) if trimspace(statement) != ""]
  roles       = [for statement in split(";\n", join("\n", local.roles_lines)) : trimspace(trimsuffix(trimspace(statement), ";")) if trimspace(statement) != ""]
  ddl         = concat(local.tables, local.roles)
}

resource "google_spanner_instance" "this" {
  project      = var.project_id
  name         = var.instance_name
  config       = var.instance_config
  display_name = "Billing receipts"
  edition      = var.edition
  labels       = var.labels

  # Fixed size, or Spanner's managed autoscaler between the bounds given.
  processing_units = var.autoscaling == null ? var.processing_units : null

  dynamic "autoscaling_config" {
    for_each = var.autoscaling == null ? [] : [var.autoscaling]
    content {
      autoscaling_limits {
        min_processing_units = autoscaling_config.value.min_processing_units
        max_processing_units = autoscaling_config.value.max_processing_units
      }
      autoscaling_targets {
        high_priority_cpu_utilization_percent = autoscaling_config.value.high_priority_cpu_percent
        storage_utilization_percent           = 90
      }
    }
  }
}

resource "google_spanner_database" "this" {
  #checkov:skip=CKV_GCP_93:Google-managed encryption at rest, decided before the first production apply with its reasons (docs/SECURITY.md, Encryption at rest); kms_key_names gives a database its customer-managed keys, only at creation.
  project                  = var.project_id
  instance                 = google_spanner_instance.this.name
  name                     = var.database_name
  database_dialect         = "GOOGLE_STANDARD_SQL"
  ddl                      = local.ddl
  version_retention_period = var.version_retention_period
  deletion_protection      = true
  enable_drop_protection   = true

  # A database gets its encryption only when it is created: changing this replaces it, and
  # deletion protection refuses (docs/SECURITY.md, Encryption at rest).
  dynamic "encryption_config" {
    for_each = length(var.kms_key_names) == 0 ? [] : [var.kms_key_names]
    content {
      kms_key_names = encryption_config.value
    }
  }
}
