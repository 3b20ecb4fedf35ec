"""Queued escalation on Azure (``gpu.mode: async``): a Storage queue drained by a GPU worker on
Container Apps serverless GPU that scales to zero.

Azure ML has no asynchronous online endpoint, so the scale-to-zero mode is built from parts
(``fakewatch_serve.jobs.drain`` is the runtime side):

- the **jobs queue**: a Storage queue in the scanner's data account; the function adds one job
  per grey-zone upload (``FAKEWATCH_ESCALATION_QUEUE`` is its URL);
- the **worker**: the serving image as a Container App running ``python -m
  fakewatch_azure.worker`` on a serverless GPU workload profile (``Consumption-GPU-NC8as-T4`` or
  ``Consumption-GPU-NC24-A100``), without ingress, 0 to ``gpu.maxInstances`` replicas. A KEDA
  ``azure-queue`` rule, authenticated as the worker's managed identity, adds a replica per
  ``gpu.targetBacklogPerInstance`` queued jobs and removes them all when the queue is empty;
- the **worker's identity** (user-assigned): Storage Queue Data Message Processor on the queue
  (receive, delete) and Storage Queue Data Reader there (KEDA reads the queue's length with it),
  Storage Blob Data Reader on the input container, Storage Blob Data Contributor on the answers
  container, Reader on its model container (``gpu.modelDataUrl``), AcrPull on the registry the
  image comes from; nothing else. The worker answers into ``<answers>/escalations/``, where a
  second Event Grid subscription brings the answer back to the scanner function.

A GPU workload profile can only be added when an environment is created, so the environment is
the worker's own. Its logs go to the stack's Log Analytics workspace through a diagnostic setting
(no shared key in the stack's state).
"""

from __future__ import annotations

from collections.abc import Callable

import pulumi
from pulumi_azure_native import app, managedidentity, monitor, storage

from fakewatch_iac import envvars
from fakewatch_iac.azure import roles
from fakewatch_iac.config import ScannerConfig
from fakewatch_iac.limits import ACA_GPU_PROFILES
from fakewatch_iac.naming import physical

WORKER_COMMAND = ("python", "-m", "fakewatch_azure.worker")
# A message stays hidden this long once received; the slowest job must fit in it, and a
# stopping replica gets as long to finish the job in hand (Container Apps allows up to 600 s).
JOB_TIMEOUT_S = 600
MAX_ATTEMPTS = 5  # deliveries before the worker answers a job with the error and deletes it
WORKER_ARGS = ("--visibility-timeout", str(JOB_TIMEOUT_S), "--max-attempts", str(MAX_ATTEMPTS))
SERVE_CONTRACT = "azureml"
GPU_PROFILE = "gpu"  # the workload profile's name inside the environment
POLLING_INTERVAL_S = 30
COOLDOWN_S = 300  # KEDA waits this long on an empty queue before removing the last replica

Assign = Callable[..., pulumi.Resource]


def registry_id(subscription_id: str, registry: str, group: str) -> str:
    return (
        f"/subscriptions/{subscription_id}/resourceGroups/{group}"
        f"/providers/Microsoft.ContainerRegistry/registries/{registry}"
    )


class QueuedEscalation(pulumi.ComponentResource):
    """The jobs queue, the worker's identity and roles, its environment and Container App."""

    def __init__(
        self,
        name: str,
        cfg: ScannerConfig,
        *,
        resource_group: pulumi.Input[str],
        data_account: pulumi.Input[str],
        data_group: pulumi.Input[str],
        queue_endpoint: pulumi.Input[str],
        tags: dict[str, str],
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("fakewatch:azure:QueuedEscalation", name, None, opts)
        self.label = name
        self.cfg = cfg
        child = pulumi.ResourceOptions(parent=self)
        self.account = data_account
        self.queue = storage.Queue(
            f"{name}-jobs",
            account_name=data_account,
            resource_group_name=data_group,
            queue_name=physical(cfg, "jobs"),
            opts=child,
        )
        self.queue_url = pulumi.Output.concat(queue_endpoint, self.queue.name)
        self.identity = managedidentity.UserAssignedIdentity(
            f"{name}-worker-identity",
            resource_group_name=resource_group,
            location=cfg.region,
            tags=tags,
            opts=child,
        )
        self.register_outputs({"queue": self.queue_url})

    def grant_worker(
        self,
        assign: Assign,
        *,
        containers: dict[str, pulumi.Input[str]],
        subscription_id: pulumi.Input[str],
    ) -> list[pulumi.Resource]:
        """The worker's roles, each on one resource: ``containers`` maps input, answers and
        (with gpu.modelDataUrl) model to their container ids."""
        cfg, me = self.cfg, self.identity.principal_id
        grants = [
            assign(
                f"{self.label}-worker-jobs",
                self.queue.id,
                roles.STORAGE_QUEUE_DATA_MESSAGE_PROCESSOR,
                me,
            ),
            assign(
                f"{self.label}-worker-queue-length",
                self.queue.id,
                roles.STORAGE_QUEUE_DATA_READER,
                me,
            ),
            assign(
                f"{self.label}-worker-input",
                containers["input"],
                roles.STORAGE_BLOB_DATA_READER,
                me,
            ),
            assign(
                f"{self.label}-worker-answers",
                containers["answers"],
                roles.STORAGE_BLOB_DATA_CONTRIBUTOR,
                me,
            ),
        ]
        if "model" in containers:
            grants.append(
                assign(
                    f"{self.label}-worker-model",
                    containers["model"],
                    roles.STORAGE_BLOB_DATA_READER,
                    me,
                )
            )
        registry = cfg.azure.image_registry
        if registry is not None:
            scope = pulumi.Output.from_input(subscription_id).apply(
                lambda s: registry_id(s, registry.name, registry.resource_group)
            )
            grants.append(assign(f"{self.label}-worker-pull", scope, roles.ACR_PULL, me))
        return grants

    def worker(
        self,
        *,
        resource_group: pulumi.Input[str],
        workspace_id: pulumi.Input[str],
        environment: dict[str, pulumi.Input[str]],
        tags: dict[str, str],
        depends_on: list[pulumi.Resource],
    ) -> app.ContainerApp:
        """The Container Apps environment with the GPU profile, and the worker app on it."""
        cfg, gpu = self.cfg, self.cfg.gpu
        child = pulumi.ResourceOptions(parent=self)
        self.environment = app.ManagedEnvironment(
            f"{self.label}-environment",
            resource_group_name=resource_group,
            location=cfg.region,
            workload_profiles=[
                app.WorkloadProfileArgs(name="Consumption", workload_profile_type="Consumption"),
                app.WorkloadProfileArgs(name=GPU_PROFILE, workload_profile_type=gpu.instance_type),
            ],
            app_logs_configuration=app.AppLogsConfigurationArgs(destination="azure-monitor"),
            zone_redundant=False,
            tags=tags,
            opts=child,
        )
        monitor.DiagnosticSetting(
            f"{self.label}-environment-logs",
            name="fakewatch-logs",
            resource_uri=self.environment.id,
            workspace_id=workspace_id,
            logs=[monitor.DiagnosticsLogSettingsArgs(category_group="allLogs", enabled=True)],
            opts=child,
        )
        cpu, memory = ACA_GPU_PROFILES[gpu.instance_type]
        identity_id = self.identity.id
        registry = cfg.azure.image_registry
        registries = (
            [
                app.RegistryCredentialsArgs(
                    server=f"{registry.name}.azurecr.io", identity=identity_id
                )
            ]
            if registry is not None
            else []
        )
        self.app = app.ContainerApp(
            f"{self.label}-worker",
            resource_group_name=resource_group,
            location=cfg.region,
            container_app_name=physical(cfg, "gpu-worker", 32),
            managed_environment_id=self.environment.id,
            workload_profile_name=GPU_PROFILE,
            identity=app.ManagedServiceIdentityArgs(
                type=app.ManagedServiceIdentityType.USER_ASSIGNED,
                user_assigned_identities=[identity_id],
            ),
            # No ingress: the worker pulls its jobs; nothing can call it.
            configuration=app.ConfigurationArgs(
                active_revisions_mode=app.ActiveRevisionsMode.SINGLE, registries=registries
            ),
            template=app.TemplateArgs(
                containers=[
                    app.ContainerArgs(
                        name="worker",
                        image=gpu.image_uri,
                        command=list(WORKER_COMMAND),
                        args=list(WORKER_ARGS),
                        env=[
                            app.EnvironmentVarArgs(name=k, value=v)
                            for k, v in sorted(environment.items())
                        ],
                        resources=app.ContainerResourcesArgs(cpu=cpu, memory=memory),
                    )
                ],
                termination_grace_period_seconds=JOB_TIMEOUT_S,
                scale=app.ScaleArgs(
                    min_replicas=0,
                    max_replicas=gpu.max_instances,
                    polling_interval=POLLING_INTERVAL_S,
                    cooldown_period=COOLDOWN_S,
                    rules=[
                        app.ScaleRuleArgs(
                            name="jobs",
                            custom=app.CustomScaleRuleArgs(
                                type="azure-queue",
                                metadata={
                                    "accountName": self.account,
                                    "queueName": self.queue.name,
                                    "queueLength": str(gpu.target_backlog_per_instance),
                                },
                                identity=identity_id,
                            ),
                        )
                    ],
                ),
            ),
            tags=tags,
            opts=pulumi.ResourceOptions(parent=self, depends_on=depends_on),
        )
        return self.app


def worker_environment(
    cfg: ScannerConfig,
    *,
    queue_url: pulumi.Input[str],
    blob_endpoint: pulumi.Input[str],
    client_id: pulumi.Input[str],
    input_container: str,
    answers_container: str,
) -> dict[str, pulumi.Input[str]]:
    """What ``fakewatch_azure.worker`` and the serving engine read."""
    env: dict[str, pulumi.Input[str]] = {
        envvars.ESCALATION_QUEUE: queue_url,
        envvars.SERVE_CONTRACT: SERVE_CONTRACT,
        envvars.SERVE_MODE: "async",
        envvars.SERVE_URI_PREFIXES: f"az://{input_container}/",
        envvars.SERVE_ANSWER_PREFIXES: f"az://{answers_container}/{envvars.ANSWER_PREFIX}",
        envvars.AZURE_ACCOUNT_URL: blob_endpoint,
        envvars.LOG_LEVEL: cfg.log_level,
        "AZURE_CLIENT_ID": client_id,  # DefaultAzureCredential: which managed identity
    }
    if cfg.gpu.worker_manifest is not None:
        env[envvars.MODEL_MANIFEST] = cfg.gpu.worker_manifest.uri
    return env
