"""SageMaker's built-in algorithms as the embedded SageMaker recognises them.

SageMaker treats a training image as one of its own algorithms when it comes from one of its
algorithm registries: an ECR registry (an AWS-owned account, one per region and image family)
holding a repository named after the algorithm. For those it fills in the algorithm's metric
definitions and refuses metric definitions in the request (`sandbox.service_rules`). The same
repository name in any other account (a customer's own `xgboost` image, say) is a custom image.

The registry accounts are those the SageMaker Python SDK resolves images to
(https://github.com/aws/sagemaker-python-sdk, `src/sagemaker/image_uri_config/*.json`); the
sandbox keeps its own copy and does not import the guard's.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

__all__ = [
    "ALGORITHM_REGISTRIES",
    "ALGORITHM_REPOSITORIES",
    "BUILT_IN_ALGORITHM_METRICS",
    "VERSIONED_ALGORITHM_REGISTRIES",
    "builtin_algorithm",
]

# The first-party algorithm registries of image_uri_config/kmeans.json (shared by linear-learner,
# pca, factorization-machines, knn, …).
_KMEANS_FAMILY = {
    "af-south-1": "455444449433",
    "ap-east-1": "286214385809",
    "ap-northeast-1": "351501993468",
    "ap-northeast-2": "835164637446",
    "ap-northeast-3": "364406365360",
    "ap-south-1": "991648021394",
    "ap-southeast-1": "475088953585",
    "ap-southeast-2": "712309505854",
    "ca-central-1": "469771592824",
    "cn-north-1": "390948362332",
    "cn-northwest-1": "387376663083",
    "eu-central-1": "664544806723",
    "eu-north-1": "669576153137",
    "eu-south-1": "257386234256",
    "eu-west-1": "438346466558",
    "eu-west-2": "644912444149",
    "eu-west-3": "749696950732",
    "me-south-1": "249704162688",
    "sa-east-1": "855470959533",
    "us-east-1": "382416733822",
    "us-east-2": "404615174143",
    "us-gov-west-1": "226302683700",
    "us-iso-east-1": "490574956308",
    "us-west-1": "632365934929",
    "us-west-2": "174872318107",
}
# image_uri_config/blazingtext.json, object-detection.json, image-classification.json and the
# algorithm form of xgboost.json (version "1", repository `xgboost`).
_XGBOOST_FAMILY = {
    "af-south-1": "455444449433",
    "ap-east-1": "286214385809",
    "ap-northeast-1": "501404015308",
    "ap-northeast-2": "306986355934",
    "ap-northeast-3": "364406365360 867004704886",
    "ap-south-1": "991648021394",
    "ap-south-2": "628508329040",
    "ap-southeast-1": "475088953585",
    "ap-southeast-2": "544295431143",
    "ap-southeast-3": "951798379941",
    "ap-southeast-4": "106583098589",
    "ca-central-1": "469771592824",
    "cn-north-1": "390948362332",
    "cn-northwest-1": "387376663083",
    "eu-central-1": "813361260812",
    "eu-central-2": "680994064768",
    "eu-north-1": "669576153137",
    "eu-south-1": "257386234256",
    "eu-south-2": "104374241257",
    "eu-west-1": "685385470294",
    "eu-west-2": "644912444149",
    "eu-west-3": "749696950732",
    "me-central-1": "272398656194",
    "me-south-1": "249704162688",
    "sa-east-1": "855470959533",
    "us-east-1": "811284229777",
    "us-east-2": "825641698319",
    "us-gov-east-1": "237065988967",
    "us-gov-west-1": "226302683700",
    "us-iso-east-1": "490574956308",
    "us-isob-east-1": "765400339828",
    "us-west-1": "632365934929",
    "us-west-2": "433757028032",
}
# The versioned XGBoost algorithm (xgboost.json, versions 0.90-1 … 2.1-0, repository
# `sagemaker-xgboost`), e.g. 683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1.
_SAGEMAKER_XGBOOST_FAMILY = {
    "af-south-1": "510948584623",
    "ap-east-1": "651117190479",
    "ap-northeast-1": "354813040037",
    "ap-northeast-2": "366743142698",
    "ap-northeast-3": "867004704886",
    "ap-south-1": "720646828776",
    "ap-south-2": "628508329040",
    "ap-southeast-1": "121021644041",
    "ap-southeast-2": "783357654285",
    "ap-southeast-3": "951798379941",
    "ap-southeast-4": "106583098589",
    "ca-central-1": "341280168497",
    "ca-west-1": "190319476487",
    "cn-north-1": "450853457545",
    "cn-northwest-1": "451049120500",
    "eu-central-1": "492215442770",
    "eu-central-2": "680994064768",
    "eu-north-1": "662702820516",
    "eu-south-1": "978288397137",
    "eu-south-2": "104374241257",
    "eu-west-1": "141502667606",
    "eu-west-2": "764974769150",
    "eu-west-3": "659782779980",
    "il-central-1": "898809789911",
    "me-central-1": "272398656194",
    "me-south-1": "801668240914",
    "sa-east-1": "737474898029",
    "us-east-1": "683313688378",
    "us-east-2": "257758044811",
    "us-gov-east-1": "237065988967",
    "us-gov-west-1": "414596584902",
    "us-iso-east-1": "833128469047",
    "us-isob-east-1": "281123927165",
    "us-isof-east-1": "108575199400",
    "us-isof-south-1": "124985052026",
    "us-west-1": "746614075791",
    "us-west-2": "246618743249",
}


def _union(*families: Mapping[str, str]) -> dict[str, frozenset[str]]:
    regions: dict[str, set[str]] = {}
    for family in families:
        for region, accounts in family.items():
            regions.setdefault(region, set()).update(accounts.split())
    return {region: frozenset(accounts) for region, accounts in sorted(regions.items())}


VERSIONED_ALGORITHM_REGISTRIES: Mapping[str, str] = _SAGEMAKER_XGBOOST_FAMILY
"""Region → the registry of SageMaker's versioned algorithm images (sagemaker-xgboost,
sagemaker-sklearn-automl, ...)."""

ALGORITHM_REGISTRIES: Mapping[str, frozenset[str]] = _union(
    _KMEANS_FAMILY, _XGBOOST_FAMILY, _SAGEMAKER_XGBOOST_FAMILY
)
"""Region → the AWS accounts whose ECR registries hold SageMaker's built-in algorithms."""

# What SageMaker returns as AlgorithmSpecification.MetricDefinitions for a few of its built-in
# algorithms. The names are the algorithms' documented metrics; the regexes are shaped like
# SageMaker's (they parse the algorithm's log lines), not copied from it.
_NUMBER = r"([-+]?[0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?)"


def _quality(name: str, label: str) -> dict[str, str]:
    return {"Name": name, "Regex": rf"#quality_metric: host=\S+, {label} <score>=(\S+)"}


def _xgboost(channel: str, metric: str) -> dict[str, str]:
    return {
        "Name": f"{channel}:{metric}",
        "Regex": rf".*\[[0-9]+\].*#011{channel}-{metric}:{_NUMBER}.*",
    }


BUILT_IN_ALGORITHM_METRICS: Mapping[str, tuple[dict[str, str], ...]] = {
    "kmeans": (_quality("test:msd", "test msd"), _quality("test:ssd", "test ssd")),
    "linear-learner": (
        _quality("train:objective_loss", "train objective_loss"),
        _quality("validation:objective_loss", "validation objective_loss"),
        _quality("test:objective_loss", "test objective_loss"),
    ),
    "pca": (_quality("train:loss", "train loss"),),
    "factorization-machines": (
        _quality("test:rmse", "test rmse"),
        _quality("test:binary_classification_accuracy", "test binary_classification_accuracy"),
    ),
    "blazingtext": (
        {"Name": "train:mean_rho", "Regex": rf"#mean_rho: {_NUMBER}"},
        {"Name": "validation:accuracy", "Regex": rf"#validation_accuracy: {_NUMBER}"},
    ),
    "image-classification": (
        {"Name": "train:accuracy", "Regex": rf"Epoch\S* Train-accuracy={_NUMBER}"},
        {"Name": "validation:accuracy", "Regex": rf"Epoch\S* Validation-accuracy={_NUMBER}"},
    ),
    "object-detection": (
        {"Name": "validation:mAP", "Regex": rf"#validation_score \(mAP\)={_NUMBER}"},
    ),
    "xgboost": (
        _xgboost("train", "rmse"),
        _xgboost("validation", "rmse"),
        _xgboost("validation", "auc"),
    ),
}

ALGORITHM_REPOSITORIES: Mapping[str, str] = {
    **{algorithm: algorithm for algorithm in BUILT_IN_ALGORITHM_METRICS},
    "sagemaker-xgboost": "xgboost",
}
"""ECR repository name → the built-in algorithm it holds (a key of BUILT_IN_ALGORITHM_METRICS)."""

_ECR_IMAGE = re.compile(
    r"^(?P<account>\d{12})\.dkr\.ecr\.(?P<region>[a-z0-9-]+)\.amazonaws\.com(?:\.cn)?"
    r"/(?P<repository>[^:@]+)(?:[:@].*)?$"
)


def builtin_algorithm(training_image: str | None) -> str | None:
    """The built-in algorithm an image runs, or None for any other image.

    `683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1` → `xgboost`;
    `811284229777.dkr.ecr.us-east-1.amazonaws.com/xgboost:1` → `xgboost`;
    `123456789012.dkr.ecr.us-east-1.amazonaws.com/xgboost:1` (a customer's account) → None.
    Both the registry (account and region) and the repository name must be SageMaker's.
    """
    match = _ECR_IMAGE.match(training_image or "")
    if match is None:
        return None
    if match["account"] not in ALGORITHM_REGISTRIES.get(match["region"], frozenset()):
        return None
    return ALGORITHM_REPOSITORIES.get(match["repository"])
