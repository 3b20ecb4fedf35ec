"""AzureScanner: everything bucket-triggered scanning needs on Azure, from one validated config.

Two storage accounts keep media apart from machinery: the *data* account (input, results,
quarantine, dead letters) accepts Entra ID only (shared keys off) and the scanner holds
container-scoped roles there; the *runtime* account holds the Functions host state and the
deployment package, which the managed identity owns entirely (it holds no media). Shared keys
stay on for the runtime account because Pulumi uploads the package with the account key.

With ``gpu.enabled`` the escalation endpoint is an Azure ML online endpoint (``realtime``) or,
with ``gpu.mode: async``, a Storage queue drained by a scale-to-zero GPU worker on Container
Apps (:mod:`fakewatch_iac.azure.queued`), which answers into an ``answers`` container that a
second Event Grid subscription brings back to the function.
"""

from __future__ import annotations

import hashlib
import re
from typing import Any

import pulumi
from pulumi_azure_native import authorization, managedidentity, resources

from fakewatch_iac import envvars
from fakewatch_iac.artifacts import Artifact
from fakewatch_iac.azure import roles
from fakewatch_iac.azure.endpoint import MlOnlineEndpoint
from fakewatch_iac.azure.events import BlobCreatedSubscription, results_topic
from fakewatch_iac.azure.existing import ExistingStorageAccount, lookup_account, lookup_topic
from fakewatch_iac.azure.function import PACKAGE_CONTAINER, FlexFunctionApp
from fakewatch_iac.azure.monitoring import Alerts, Telemetry
from fakewatch_iac.azure.queued import QueuedEscalation, worker_environment
from fakewatch_iac.azure.storage import Expiry, SecureStorageAccount, arm_json, lifecycle_rules
from fakewatch_iac.config import ScannerConfig
from fakewatch_iac.naming import guid, physical, tags


def account_name(cfg: ScannerConfig, subscription_id: str, purpose: str) -> str:
    """Storage account names: 3-24 lowercase letters and digits, globally unique."""
    stem = re.sub(r"[^a-z0-9]", "", cfg.base_name.lower())[:14]
    digest = hashlib.sha256(f"{subscription_id}/{cfg.base_name}/{purpose}".encode()).hexdigest()
    return f"{stem}{purpose[0]}{digest[: 24 - len(stem) - 1]}"[:24]


class AzureScanner(pulumi.ComponentResource):
    def __init__(
        self,
        name: str,
        cfg: ScannerConfig,
        artifact: Artifact,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        # A brought account (and its topic) is checked before anything is declared.
        self.existing_account = lookup_account(cfg) if cfg.azure.existing_account else None
        self.existing_topic = (
            lookup_topic(cfg, str(self.existing_account.id)) if self.existing_account else None
        )
        super().__init__("fakewatch:azure:Scanner", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        t = tags(cfg)
        self.cfg = cfg
        client = authorization.get_client_config_output(
            opts=pulumi.InvokeOutputOptions(parent=self)
        )
        self.subscription_id = client.subscription_id
        self.group = resources.ResourceGroup(
            f"{name}-rg",
            resource_group_name=physical(cfg, "rg", 90),
            location=cfg.region,
            tags=t,
            opts=child,
        )
        rg = self.group.name
        self.identity = managedidentity.UserAssignedIdentity(
            f"{name}-identity", resource_group_name=rg, location=cfg.region, tags=t, opts=child
        )
        self.names = cfg.azure.containers
        self.data = self._data_account(name, client.subscription_id, rg, t, child)
        self.runtime = SecureStorageAccount(
            f"{name}-runtime",
            account_name=client.subscription_id.apply(lambda s: account_name(cfg, s, "runtime")),
            resource_group=rg,
            location=cfg.region,
            containers=[PACKAGE_CONTAINER],
            expiries=[],
            shared_key_access=True,
            tags=t,
            opts=child,
        )
        self.telemetry = Telemetry(f"{name}-telemetry", cfg, resource_group=rg, tags=t, opts=child)
        self.results_topic = results_topic(
            f"{name}-results", cfg, resource_group=rg, tags=t, parent=self
        )
        self.queued: QueuedEscalation | None = None
        if cfg.gpu.is_async:
            self.queued = QueuedEscalation(
                f"{name}-queued",
                cfg,
                resource_group=rg,
                data_account=self.data.name,
                data_group=self._data_group(rg),
                queue_endpoint=self.data.queue_endpoint,
                tags=t,
                opts=child,
            )
        self.endpoint: MlOnlineEndpoint | None = None
        if cfg.gpu.enabled and not cfg.gpu.is_async:
            self.endpoint = MlOnlineEndpoint(
                f"{name}-gpu",
                cfg,
                resource_group=rg,
                tenant_id=client.tenant_id,
                storage_account_id=self.runtime.account_id,
                insights_id=self.telemetry.insights.id,
                tags=t,
                opts=child,
            )
        grants = self._grant_scanner(name)
        self.function = FlexFunctionApp(
            f"{name}-scanner",
            cfg,
            artifact=artifact,
            resource_group=rg,
            runtime_account_name=self.runtime.name,
            runtime_blob_endpoint=self.runtime.account.primary_endpoints.apply(lambda e: e.blob),
            identity_id=self.identity.id,
            identity_client_id=self.identity.client_id,
            app_settings=self._settings(),
            tags=t,
            depends_on=[*grants, self.runtime.containers[PACKAGE_CONTAINER]],
            opts=child,
        )
        self.events = BlobCreatedSubscription(
            f"{name}-events",
            resource_group=self._data_group(rg),
            location=self.data.location,
            account_id=self.data.account_id,
            input_container=self.names.input,
            dead_letter_container=self.names.dead_letter,
            function_id=self.function.function_id,
            existing_topic=self.existing_topic,
            tags=t,
            opts=child,
        )
        dead_letter_grant = self._assign(
            f"{name}-events-deadletter",
            self.data.container_ids[self.names.dead_letter],
            roles.STORAGE_BLOB_DATA_CONTRIBUTOR,
            self.events.principal_id,
        )
        self.subscription = self.events.subscribe([dead_letter_grant, self.function.app])
        watched: list[pulumi.Input[str]] = [self.subscription.name]
        self.answers_subscription = None
        if self.queued is not None:
            self._worker(name, rg, t)
            # The worker's answers come back to the same function, like uploads do.
            self.answers_subscription = self.events.subscribe(
                [dead_letter_grant, self.function.app],
                part="answers",
                container=self.names.answers,
                prefix=envvars.ANSWER_PREFIX,
                suffix=".json",
            )
            watched.append(self.answers_subscription.name)
        self._read_gating(name)
        self.alerts = Alerts(
            f"{name}-alerts",
            cfg,
            resource_group=rg,
            resource_group_id=self.group.id,
            insights_id=self.telemetry.insights.id,
            system_topic_id=self.events.topic_id,
            subscription_names=watched,
            tags=t,
            opts=child,
        )
        self.register_outputs({"resource_group": rg})

    # -- the data account: created, or the one you brought --------------------------------------
    def _data_account(
        self,
        name: str,
        subscription_id: pulumi.Output[str],
        rg: pulumi.Output[str],
        t: dict[str, str],
        child: pulumi.ResourceOptions,
    ) -> SecureStorageAccount | ExistingStorageAccount:
        cfg, names = self.cfg, self.names
        models = self._model_containers()
        own = [*names.all(), *([names.answers] if cfg.gpu.is_async else [])]
        if self.existing_account is not None:
            theirs = [names.input] if cfg.azure.existing_input_container else []
            return ExistingStorageAccount(
                f"{name}-data",
                cfg,
                self.existing_account,
                create=[c for c in own if c not in theirs],
                reference=theirs + models,
                opts=child,
            )
        return SecureStorageAccount(
            f"{name}-data",
            account_name=subscription_id.apply(lambda s: account_name(cfg, s, "data")),
            resource_group=rg,
            location=cfg.region,
            containers=[*own, *models],
            expiries=self.expiries(),
            shared_key_access=False,
            tags=t,
            opts=child,
        )

    def expiries(self) -> list[Expiry]:
        """Verdicts (and async answers) expire after the retention period; dead letters after
        30 days."""
        expiries = [
            Expiry(f"{self.names.results}/", self.cfg.results_retention_days),
            Expiry(f"{self.names.dead_letter}/", 30),
        ]
        if self.cfg.gpu.is_async:
            expiries.append(Expiry(f"{self.names.answers}/", self.cfg.results_retention_days))
        return expiries

    def lifecycle_rules(self) -> list[dict[str, Any]]:
        """The retention rules in ARM's JSON, to merge into a brought account's policy."""
        return [arm_json(rule) for rule in lifecycle_rules(self.expiries())]

    def _manifest_container(self) -> str | None:
        ref = self.cfg.model_manifest
        return ref.bucket if ref is not None and ref.kind == "store" else None

    def _worker_model_container(self) -> str | None:
        ref = self.cfg.gpu.worker_manifest
        return ref.bucket if ref is not None else None

    def _model_containers(self) -> list[str]:
        """Containers holding models (the scanner's manifest, the async worker's): read only."""
        found = [self._manifest_container(), self._worker_model_container()]
        return list(dict.fromkeys(c for c in found if c is not None))

    def _data_group(self, own: pulumi.Output[str]) -> pulumi.Input[str]:
        existing = self.cfg.azure.existing_account
        return existing.resource_group if existing is not None else own

    # -- identities -------------------------------------------------------------------------------
    def _assign(
        self,
        name: str,
        scope: pulumi.Input[str],
        role_guid: pulumi.Input[str],
        principal: pulumi.Input[str],
        condition: str | None = None,
        depends_on: list[pulumi.Resource] | None = None,
    ) -> authorization.RoleAssignment:
        definition = pulumi.Output.all(self.subscription_id, role_guid).apply(
            lambda a: roles.definition_id(a[0], a[1])
        )
        extra = {"condition": condition, "condition_version": "2.0"} if condition else {}
        return authorization.RoleAssignment(
            name,
            scope=scope,
            principal_id=principal,
            principal_type="ServicePrincipal",
            role_definition_id=definition,
            opts=pulumi.ResourceOptions(parent=self, depends_on=depends_on or []),
            **extra,
        )

    def _grant_scanner(self, name: str) -> list[pulumi.Resource]:
        cfg, me = self.cfg, self.identity.principal_id
        input_role = authorization.RoleDefinition(
            f"{name}-input-role",
            role_definition_id=guid(cfg, "scanner-input-role"),
            role_name=f"fakewatch scanner input ({cfg.base_name})",
            description="Read, tag and delete blobs of the fakewatch input container only",
            scope=self.group.id,
            assignable_scopes=[self.group.id],
            permissions=[{"actions": [], "data_actions": list(roles.SCANNER_INPUT_DATA_ACTIONS)}],
            opts=pulumi.ResourceOptions(parent=self),
        )
        data, names = self.data.container_ids, self.names
        grants: list[pulumi.Resource] = [
            self._assign(
                f"{name}-scanner-input",
                data[names.input],
                guid(cfg, "scanner-input-role"),
                me,
                depends_on=[input_role],
            ),
            self._assign(
                f"{name}-scanner-results",
                data[names.results],
                roles.STORAGE_BLOB_DATA_CONTRIBUTOR,
                me,
            ),
            self._assign(
                f"{name}-scanner-quarantine",
                data[names.quarantine],
                roles.STORAGE_BLOB_DATA_CONTRIBUTOR,
                me,
            ),
            self._assign(
                f"{name}-scanner-publish", self.results_topic.id, roles.EVENTGRID_DATA_SENDER, me
            ),
            self._assign(
                f"{name}-scanner-telemetry",
                self.telemetry.insights.id,
                roles.MONITORING_METRICS_PUBLISHER,
                me,
            ),
        ]
        models = self._manifest_container()
        if models is not None:
            # Its model manifest and model: read only, that container only.
            grants.append(
                self._assign(
                    f"{name}-scanner-model", data[models], roles.STORAGE_BLOB_DATA_READER, me
                )
            )
        if self.queued is not None:
            # Add jobs to the queue (that queue only), read answers (that container only).
            grants += [
                self._assign(
                    f"{name}-scanner-send-jobs",
                    self.queued.queue.id,
                    roles.STORAGE_QUEUE_DATA_MESSAGE_SENDER,
                    me,
                ),
                self._assign(
                    f"{name}-scanner-answers",
                    data[names.answers],
                    roles.STORAGE_BLOB_DATA_READER,
                    me,
                ),
            ]
        runtime = self.runtime.account_id
        for part, role in (
            ("blob", roles.STORAGE_BLOB_DATA_OWNER),
            ("queue", roles.STORAGE_QUEUE_DATA_CONTRIBUTOR),
            ("table", roles.STORAGE_TABLE_DATA_CONTRIBUTOR),
        ):
            grants.append(self._assign(f"{name}-host-{part}", runtime, role, me))
        if self.endpoint is not None:
            score = authorization.RoleDefinition(
                f"{name}-score-role",
                role_definition_id=guid(cfg, "scanner-score-role"),
                role_name=f"fakewatch escalation scorer ({cfg.base_name})",
                description="Score the fakewatch escalation endpoint only",
                scope=self.group.id,
                assignable_scopes=[self.group.id],
                permissions=[{"actions": [roles.ML_SCORE_ACTION], "data_actions": []}],
                opts=pulumi.ResourceOptions(parent=self),
            )
            grants.append(
                self._assign(
                    f"{name}-scanner-score",
                    self.endpoint.endpoint.id,
                    guid(cfg, "scanner-score-role"),
                    me,
                    depends_on=[score],
                )
            )
        return grants

    def _worker(self, name: str, rg: pulumi.Output[str], t: dict[str, str]) -> None:
        """async: the worker's roles, then its Container App (which needs them to start)."""
        queued, names = self.queued, self.names
        assert queued is not None
        data = self.data.container_ids
        containers = {"input": data[names.input], "answers": data[names.answers]}
        model = self._worker_model_container()
        if model is not None:
            containers["model"] = data[model]
        grants = queued.grant_worker(
            self._assign, containers=containers, subscription_id=self.subscription_id
        )
        queued.worker(
            resource_group=rg,
            workspace_id=self.telemetry.workspace.id,
            environment=worker_environment(
                self.cfg,
                queue_url=queued.queue_url,
                blob_endpoint=self.data.blob_endpoint,
                client_id=queued.identity.client_id,
                input_container=names.input,
                answers_container=names.answers,
            ),
            tags=t,
            depends_on=grants,
        )

    def _read_gating(self, name: str) -> None:
        if not self.cfg.read_gating.enabled:
            return
        for i, reader in enumerate(self.cfg.read_gating.readers):
            self._assign(
                f"{name}-reader-{i}",
                self.data.container_ids[self.names.input],
                roles.STORAGE_BLOB_DATA_READER,
                reader,
                condition=roles.READ_GATING_CONDITION,
            )

    def _settings(self) -> dict[str, pulumi.Input[str]]:
        cfg = self.cfg
        settings: dict[str, pulumi.Input[str]] = {
            envvars.RESULTS_BUCKET: self.names.results,
            envvars.QUARANTINE_BUCKET: self.names.quarantine,
            envvars.RESULTS_PREFIX: envvars.DEFAULT_RESULTS_PREFIX,
            envvars.AUDIT_PREFIX: envvars.DEFAULT_AUDIT_PREFIX,
            envvars.POLICY: cfg.policy.render(escalate=cfg.gpu.enabled),
            envvars.RESULT_TOPIC: self.results_topic.endpoint,
            envvars.LOG_LEVEL: cfg.log_level,
            envvars.AZURE_ACCOUNT_URL: self.data.blob_endpoint,
            # Flex Consumption reads the timeout from host.json; this overrides the bundle's.
            "AzureFunctionsJobHost__functionTimeout": function_timeout(cfg.function.timeout_s),
            "APPLICATIONINSIGHTS_CONNECTION_STRING": self.telemetry.insights.connection_string,
            "APPLICATIONINSIGHTS_AUTHENTICATION_STRING": self.identity.client_id.apply(
                lambda c: f"ClientId={c};Authorization=AAD"
            ),
        }
        if self.endpoint is not None:
            settings[envvars.ESCALATION_ENDPOINT] = self.endpoint.scoring_uri
        if self.queued is not None:
            settings[envvars.ESCALATION_MODE] = "async"
            settings[envvars.ESCALATION_QUEUE] = self.queued.queue_url
            settings[envvars.ANSWERS_BUCKET] = self.names.answers
        if cfg.model_manifest is not None:
            settings[envvars.MODEL_MANIFEST] = cfg.model_manifest.uri
        return settings


def function_timeout(seconds: int) -> str:
    """host.json's ``functionTimeout`` format, hh:mm:ss."""
    return f"{seconds // 3600:02d}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"
