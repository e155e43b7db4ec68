# An API answers "has not been used in project … or it is disabled" for a while after
# google_project_service reports it enabled. Every other module depends on this module
# (depends_on = [module.services], tests/test_terraform_edges.py), so each waits for this
# pause too: a first apply on an empty project does not race the APIs it has just enabled.
# Later applies change nothing here and do not wait.
resource "time_sleep" "apis_propagate" {
  create_duration = var.propagation_wait

  triggers = {
    services = join(",", sort(var.services))
  }

  depends_on = [google_project_service.this]
}
