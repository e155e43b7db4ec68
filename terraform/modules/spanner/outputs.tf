output "instance" {
  description = "Spanner instance id."
  value       = google_spanner_instance.this.name
}

output "database" {
  description = "Spanner database id."
  value       = google_spanner_database.this.name
}

output "database_id" {
  description = "Full database id (projects/P/instances/I/databases/D)."
  value       = google_spanner_database.this.id
}

output "ddl_statements" {
  description = "How many DDL statements were read from receipts/stores/gcp/spanner.sql and spanner_roles.sql."
  value       = length(local.ddl)
}
