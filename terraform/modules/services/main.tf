# The Google APIs every other module needs. Disabling an API on destroy would break
# whatever else in the project uses it, so destroy leaves them on.
resource "google_project_service" "this" {
  for_each = toset(var.services)

  project                    = var.project_id
  service                    = each.value
  disable_on_destroy         = false
  disable_dependent_services = false
}
