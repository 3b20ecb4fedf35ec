"""Which endpoint instance each cloud uses for an accelerator class, as price keys.

Vertex AI bills the machine and the attached GPU separately; SageMaker and Azure ML bill
one instance price. A class a cloud does not offer in its catalog yields an unpriced line.
"""

from __future__ import annotations

GPU_INSTANCES: dict[str, dict[str, list[tuple[str, str]]]] = {
    "aws": {
        "t4": [("sagemaker.ml.g4dn.xlarge", "SageMaker ml.g4dn.xlarge (T4)")],
        "a10g": [("sagemaker.ml.g5.xlarge", "SageMaker ml.g5.xlarge (A10G)")],
        "l4": [("sagemaker.ml.g6.xlarge", "SageMaker ml.g6.xlarge (L4)")],
        "v100": [("sagemaker.ml.p3.2xlarge", "SageMaker ml.p3.2xlarge (V100)")],
    },
    "gcp": {
        "t4": [
            ("vertex.n1-standard-4", "Vertex AI n1-standard-4 node"),
            ("vertex.gpu.t4", "Vertex AI NVIDIA T4"),
        ],
        "l4": [("vertex.g2-standard-4", "Vertex AI g2-standard-4 (L4)")],
        "a10g": [("vertex.a10g", "Vertex AI (no A10G offering)")],
        "v100": [
            ("vertex.n1-standard-8", "Vertex AI n1-standard-8 node"),
            ("vertex.gpu.v100", "Vertex AI NVIDIA V100"),
        ],
    },
    "azure": {
        "t4": [("azureml.nc4as-t4-v3", "Azure ML Standard_NC4as_T4_v3 (T4)")],
        "v100": [("azureml.nc6s-v3", "Azure ML Standard_NC6s_v3 (V100)")],
        "a10g": [("azureml.a10g", "Azure ML (no A10G offering)")],
        "l4": [("azureml.l4", "Azure ML (no L4 offering)")],
    },
}
