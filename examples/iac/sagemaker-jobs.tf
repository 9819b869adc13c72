# SageMaker jobs in Terraform (AWS provider 6.x), for the Checkov custom policies in
# policies/checkov (`checkov -d examples/iac --external-checks-dir policies/checkov`):
# some resources set the flag, some do not. `ict-guard iac` reads the plan of such a
# configuration (`terraform show -json`, see sagemaker-plan.json), not the .tf files.

variable "role_arn" {
  type    = string
  default = "arn:aws:iam::123456789012:role/SageMakerTrainingRole"
}

variable "bucket" {
  type    = string
  default = "example-ml-artifacts"
}

# Set per workspace, no default: Checkov cannot know it, so it counts as two or more.
variable "worker_count" {
  type = number
}

locals {
  pytorch_image = "763104351884.dkr.ecr.us-east-1.amazonaws.com/pytorch-training:2.3.0-gpu-py311"
}

# Finding (CKV_ICT_5): four instances, the flag explicitly false.
resource "aws_sagemaker_training_job" "ddp" {
  training_job_name                         = "resnet-ddp"
  role_arn                                  = var.role_arn
  enable_inter_container_traffic_encryption = false

  algorithm_specification {
    training_image      = local.pytorch_image
    training_input_mode = "File"
  }
  output_data_config {
    s3_output_path = "s3://${var.bucket}/resnet"
  }
  resource_config {
    instance_count    = 4
    instance_type     = "ml.p4d.24xlarge"
    volume_size_in_gb = 200
  }
  stopping_condition {
    max_runtime_in_seconds = 86400
  }
}

# Not a finding: one instance, encryption has no effect.
resource "aws_sagemaker_training_job" "smoke" {
  training_job_name = "resnet-smoke"
  role_arn          = var.role_arn

  algorithm_specification {
    training_image      = local.pytorch_image
    training_input_mode = "File"
  }
  output_data_config {
    s3_output_path = "s3://${var.bucket}/smoke"
  }
  resource_config {
    instance_count    = 1
    instance_type     = "ml.g5.xlarge"
    volume_size_in_gb = 50
  }
  stopping_condition {
    max_runtime_in_seconds = 3600
  }
}

# Compliant: a heterogeneous cluster (2 + 2 instances) with the flag on.
resource "aws_sagemaker_training_job" "hetero" {
  training_job_name                         = "resnet-hetero"
  role_arn                                  = var.role_arn
  enable_inter_container_traffic_encryption = true

  algorithm_specification {
    training_image      = local.pytorch_image
    training_input_mode = "File"
  }
  output_data_config {
    s3_output_path = "s3://${var.bucket}/hetero"
  }
  resource_config {
    volume_size_in_gb = 100
    instance_groups {
      instance_group_name = "gpu"
      instance_count      = 2
      instance_type       = "ml.p4d.24xlarge"
    }
    instance_groups {
      instance_group_name = "cpu"
      instance_count      = 2
      instance_type       = "ml.c5.18xlarge"
    }
  }
  stopping_condition {
    max_runtime_in_seconds = 86400
  }
}

# Finding (CKV_ICT_5): the flag absent (SageMaker's default is false), the count a variable.
resource "aws_sagemaker_training_job" "elastic" {
  training_job_name = "resnet-elastic"
  role_arn          = var.role_arn

  algorithm_specification {
    training_image      = local.pytorch_image
    training_input_mode = "File"
  }
  output_data_config {
    s3_output_path = "s3://${var.bucket}/elastic"
  }
  resource_config {
    instance_count    = var.worker_count
    instance_type     = "ml.g5.12xlarge"
    volume_size_in_gb = 100
  }
  stopping_condition {
    max_runtime_in_seconds = 86400
  }
}

# Finding (CKV_ICT_6): every training job of the tuning job runs on two instances, unencrypted.
resource "aws_sagemaker_hyper_parameter_tuning_job" "xgb" {
  hyper_parameter_tuning_job_name = "churn-xgb-tuning"

  hyper_parameter_tuning_job_config {
    strategy = "Bayesian"
    resource_limits {
      max_number_of_training_jobs = 20
      max_parallel_training_jobs  = 2
    }
    hyper_parameter_tuning_job_objective {
      type        = "Maximize"
      metric_name = "validation:auc"
    }
  }

  training_job_definition {
    role_arn = var.role_arn
    algorithm_specification {
      training_image      = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1"
      training_input_mode = "File"
    }
    output_data_config {
      s3_output_path = "s3://${var.bucket}/tuning"
    }
    resource_config {
      instance_count    = 2
      instance_type     = "ml.m5.2xlarge"
      volume_size_in_gb = 30
    }
    stopping_condition {
      max_runtime_in_seconds = 3600
    }
  }
}

# Compliant: the same tuning job with the flag on.
resource "aws_sagemaker_hyper_parameter_tuning_job" "xgb_encrypted" {
  hyper_parameter_tuning_job_name = "churn-xgb-tuning-enc"

  hyper_parameter_tuning_job_config {
    strategy = "Bayesian"
    resource_limits {
      max_number_of_training_jobs = 20
      max_parallel_training_jobs  = 2
    }
    hyper_parameter_tuning_job_objective {
      type        = "Maximize"
      metric_name = "validation:auc"
    }
  }

  training_job_definition {
    role_arn                                  = var.role_arn
    enable_inter_container_traffic_encryption = true
    algorithm_specification {
      training_image      = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1"
      training_input_mode = "File"
    }
    output_data_config {
      s3_output_path = "s3://${var.bucket}/tuning-enc"
    }
    resource_config {
      instance_count    = 2
      instance_type     = "ml.m5.2xlarge"
      volume_size_in_gb = 30
    }
    stopping_condition {
      max_runtime_in_seconds = 3600
    }
  }
}

# Checkov's own CKV_AWS_369 judges data-quality job definitions (no custom check repeats it):
# this one fails it, the flag absent.
resource "aws_sagemaker_data_quality_job_definition" "fraud" {
  name     = "fraud-data-quality"
  role_arn = var.role_arn

  data_quality_app_specification {
    image_uri = "156813124566.dkr.ecr.us-east-1.amazonaws.com/sagemaker-model-monitor-analyzer"
  }
  data_quality_job_input {
    endpoint_input {
      endpoint_name = "fraud-endpoint"
    }
  }
  data_quality_job_output_config {
    monitoring_outputs {
      s3_output {
        s3_uri = "s3://${var.bucket}/fraud-data-quality"
      }
    }
  }
  job_resources {
    cluster_config {
      instance_count    = 3
      instance_type     = "ml.m5.xlarge"
      volume_size_in_gb = 20
    }
  }
}
