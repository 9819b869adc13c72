"""Benchmarks of sagemaker-ict-guard on the embedded AWS: what one event costs, and how that grows.

    python -m bench              # every figure, full repeats; writes bench/RESULTS.md
    python -m bench --reduced    # the same figures with few repeats, printed (what CI runs)

Call counts come from botocore event hooks on every client the guard creates; timings are
medians over repeated, interleaved runs, reported as ratios to bare boto3 doing the same calls.
"""
