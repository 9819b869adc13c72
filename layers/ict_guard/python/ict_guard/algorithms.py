"""SageMaker's built-in algorithms, recognised from the training image alone.

Describe* returns `AlgorithmSpecification.MetricDefinitions` that SageMaker fills in for its own
algorithms, and Create* refuses metric definitions for them ("You can't override the metric
definitions for Amazon SageMaker algorithms"). The CloudTrail event says whether the caller sent
metric definitions, but the sweep, a tuning job's child events and a resumed run have no event:
the image must say it. SageMaker serves its algorithms from its own ECR registries, one AWS
account per region and algorithm family; the SageMaker Python SDK ships that table
(`src/sagemaker/image_uri_config/<algorithm>.json`, e.g. kmeans.json for the first-party
algorithms and xgboost.json for XGBoost). The accounts below are taken from it for the commercial,
China and GovCloud regions. An image of the same repository name in any other account is the
customer's own build, not a built-in algorithm.
"""

from __future__ import annotations

import re

# The first-party algorithms' repositories (SDK: kmeans.json, pca.json, linear-learner.json, ...).
FIRST_PARTY_REPOSITORIES = frozenset(
    {
        "blazingtext",
        "factorization-machines",
        "forecasting-deepar",
        "image-classification",
        "ipinsights",
        "kmeans",
        "knn",
        "lda",
        "linear-learner",
        "ntm",
        "object-detection",
        "object2vec",
        "pca",
        "randomcutforest",
        "semantic-segmentation",
        "seq2seq",
    }
)
# XGBoost: version 1 as "xgboost" in the first-party registries, 0.90-1 and later as
# "sagemaker-xgboost" in the framework registries (SDK: xgboost.json).
XGBOOST_REPOSITORIES = frozenset({"xgboost", "sagemaker-xgboost"})

# region -> the first-party algorithm registry (kmeans.json, version "1").
FIRST_PARTY_REGISTRIES: dict[str, str] = {
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
    "us-west-1": "632365934929",
    "us-west-2": "174872318107",
}
# region -> the registry of XGBoost version 1 ("xgboost" repository; xgboost.json, inference "1"
# and training "1" share it).
XGBOOST_V1_REGISTRIES: dict[str, str] = {
    "ap-northeast-1": "501404015308",
    "ap-northeast-2": "306986355934",
    "ap-northeast-3": "867004704886",
    "ap-southeast-2": "544295431143",
    "eu-central-1": "813361260812",
    "eu-west-1": "685385470294",
    "us-east-1": "811284229777",
    "us-east-2": "825641698319",
    "us-west-2": "433757028032",
}
# region -> the framework registry that serves "sagemaker-xgboost" 0.90-1 and later.
XGBOOST_REGISTRIES: dict[str, str] = {
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
    "us-west-1": "746614075791",
    "us-west-2": "246618743249",
}

_ECR_IMAGE = re.compile(
    r"^(?P<account>\d{12})\.dkr\.ecr\.(?P<region>[a-z0-9-]+)\.amazonaws\.com(?:\.cn)?"
    r"/(?P<repository>[^:@]+)"
)


def algorithm_registries(region: str) -> frozenset[str]:
    """The accounts that serve SageMaker's built-in algorithms in `region` (may be empty for a
    region the table does not know: the guard then relies on the CloudTrail hint and on the
    service's refusal, see clone.py)."""
    return frozenset(
        account
        for table in (FIRST_PARTY_REGISTRIES, XGBOOST_V1_REGISTRIES, XGBOOST_REGISTRIES)
        if (account := table.get(region))
    )


def builtin_algorithm(training_image: str | None) -> str | None:
    """The built-in algorithm an image runs (`<registry>/kmeans:1` -> "kmeans"), or None.

    Both the registry account (SageMaker's own, for the image's region) and the repository must
    match: `123456789012.dkr.ecr.us-east-1.amazonaws.com/xgboost:1` is a customer's image.
    """
    match = _ECR_IMAGE.match(training_image or "")
    if not match:
        return None
    repository = match["repository"]
    if repository not in FIRST_PARTY_REPOSITORIES | XGBOOST_REPOSITORIES:
        return None
    if match["account"] not in algorithm_registries(match["region"]):
        return None
    return repository
