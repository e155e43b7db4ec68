output "database" {
  description = "Firestore database name."
  value       = google_firestore_database.this.name
}

output "rules_release" {
  description = "The security rules release in force."
  value       = google_firebaserules_release.firestore.name
}

output "indexes" {
  description = "Composite indexes created from receipts/stores/gcp/firestore.indexes.json."
  value       = keys(google_firestore_index.this)
}

output "index_exemptions" {
  description = "Fields exempt from automatic single-field indexing (collection.field), from firestore.indexes.json fieldOverrides."
  value       = [for key, field in google_firestore_field.this : key if length(local.field_overrides[key].indexes) == 0]
}

output "backup_schedules" {
  description = "The ledger's backup schedules (daily and weekly); point-in-time recovery covers the last 7 days besides."
  value       = [google_firestore_backup_schedule.daily.id, google_firestore_backup_schedule.weekly.id]
}
