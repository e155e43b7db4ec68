terraform {
  required_providers {
    google-beta = {
      source = "hashicorp/google-beta"
    }
  }
}
