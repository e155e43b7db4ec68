terraform {
  required_version = ">= 1.5"

  required_providers {
    google = {
      source  = "hashicorp/google"
      version = "~> 6.20"
    }
    google-beta = {
      source  = "hashicorp/google-beta"
      version = "~> 6.20"
    }
    time = {
      source  = "hashicorp/time"
      version = "~> 0.12" # the services module's wait for new APIs
    }
  }

  # State in a bucket made once by hand (docs/DEPLOY.md):
  #   terraform init -backend-config="bucket=PROJECT-tfstate" -backend-config="prefix=receipts/dev"
  backend "gcs" {}
}

provider "google" {
  project = var.project_id
  region  = var.region
}

provider "google-beta" {
  project = var.project_id
  region  = var.region
}
