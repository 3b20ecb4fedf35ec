"""Run a Pulumi program against Pulumi's mock engine and record every resource it declares.

This is how the policy-as-code suite sees a stack without a cloud or the Pulumi CLI:
:func:`run_program` installs :class:`RecordingMocks` with ``pulumi.runtime.set_mocks``, runs the
program, waits for every registration, and returns a :class:`~fakewatch_iac.policy.Stack` of
what was declared, with plausible provider outputs (ARNs, ids, emails) so that policies built
from outputs resolve to real-looking documents. Mocks stand in for the engine because no
emulator exists for the Pulumi engine or the clouds' control planes.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable, Mapping
from typing import Any

import pulumi
from pulumi.runtime.mocks import MockCallArgs, MockResourceArgs
from pulumi.runtime.stack import run_pulumi_func
from pulumi.runtime.sync_await import _sync_await

from fakewatch_iac.policy import Resource, Stack

ACCOUNT = "123456789012"
GCP_PROJECT_NUMBER = "424242424242"
AZURE_SUBSCRIPTION = "00000000-0000-4000-8000-000000000001"
AZURE_TENANT = "00000000-0000-4000-8000-000000000002"


def _short(name: str) -> str:
    return hashlib.sha256(name.encode()).hexdigest()[:7]


def _guid(name: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, name))


class RecordingMocks(pulumi.runtime.Mocks):
    """Mocks that remember each resource and answer with cloud-shaped outputs."""

    def __init__(
        self,
        region: str = "eu-west-1",
        project: str = "fakewatch-test",
        lookups: Mapping[str, Mapping[str, Any]] | None = None,
    ) -> None:
        """``lookups``: invoke token -> the answer a cloud would give (an existing storage
        account, its system topic), so a test states the world a stack attaches to."""
        self.region = region
        self.project = project
        self.records: list[Resource] = []
        self.lookups = dict(lookups or {})
        self.calls: list[tuple[str, dict[str, Any]]] = []

    # -- engine callbacks ---------------------------------------------------------------------
    def new_resource(self, args: MockResourceArgs) -> tuple[str | None, dict[str, Any]]:
        typ = args.typ
        if typ.startswith("aws:"):
            rid, state = self._aws(typ, args.name, args.inputs)
        elif typ.startswith("gcp:"):
            rid, state = self._gcp(typ, args.name, args.inputs)
        elif typ.startswith("azure-native:"):
            rid, state = self._azure(typ, args.name, args.inputs)
        else:
            rid, state = f"{args.name}-id", dict(args.inputs)
        self.records.append(
            Resource(
                type=typ,
                name=args.name,
                inputs=dict(args.inputs),
                id=rid,
                state=state,
                custom=bool(args.custom),
            )
        )
        return rid, state

    def call(self, args: MockCallArgs) -> dict[str, Any]:  # type: ignore[override]
        token = args.token
        self.calls.append((token, dict(args.args)))
        if token in self.lookups:
            return dict(self.lookups[token])
        if token == "aws:index/getCallerIdentity:getCallerIdentity":
            return {
                "accountId": ACCOUNT,
                "arn": f"arn:aws:iam::{ACCOUNT}:user/deployer",
                "userId": "AIDAEXAMPLE",
                "id": ACCOUNT,
            }
        if token == "gcp:storage/getProjectServiceAccount:getProjectServiceAccount":
            email = f"service-{GCP_PROJECT_NUMBER}@gs-project-accounts.iam.gserviceaccount.com"
            return {"emailAddress": email, "member": f"serviceAccount:{email}"}
        if token == "gcp:organizations/getProject:getProject":
            return {"number": GCP_PROJECT_NUMBER, "projectId": self.project}
        if token == "azure-native:authorization:getClientConfig":
            return {
                "subscriptionId": AZURE_SUBSCRIPTION,
                "tenantId": AZURE_TENANT,
                "clientId": _guid("deployer-client"),
                "objectId": _guid("deployer-object"),
            }
        raise NotImplementedError(f"no mock for invoke {token}")

    # -- per-cloud outputs ----------------------------------------------------------------------
    def _aws(self, typ: str, name: str, inputs: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        service = typ.split(":")[1].split("/", maxsplit=1)[0]
        physical = inputs.get("name") or f"{name}-{_short(name)}"
        region, acct = self.region, ACCOUNT
        state: dict[str, Any] = {**inputs, "name": physical}
        rid = physical
        if typ == "aws:s3/bucket:Bucket":
            bucket = inputs.get("bucket") or f"{name}-{_short(name)}"
            state.update(bucket=bucket, arn=f"arn:aws:s3:::{bucket}")
            rid = bucket
        elif typ == "aws:sqs/queue:Queue":
            url = f"https://sqs.{region}.amazonaws.com/{acct}/{physical}"
            state.update(arn=f"arn:aws:sqs:{region}:{acct}:{physical}", url=url)
            rid = url
        elif typ == "aws:iam/role:Role":
            state.update(arn=f"arn:aws:iam::{acct}:role/{physical}", uniqueId="AROAEXAMPLE")
        elif typ == "aws:lambda/function:Function":
            state.update(arn=f"arn:aws:lambda:{region}:{acct}:function:{physical}")
        elif typ == "aws:cloudwatch/logGroup:LogGroup":
            state.update(arn=f"arn:aws:logs:{region}:{acct}:log-group:{physical}")
        elif typ == "aws:dynamodb/table:Table":
            state.update(arn=f"arn:aws:dynamodb:{region}:{acct}:table/{physical}")
        elif typ == "aws:cloudwatch/eventBus:EventBus":
            state.update(arn=f"arn:aws:events:{region}:{acct}:event-bus/{physical}")
        elif typ == "aws:cloudwatch/eventRule:EventRule":
            state.update(arn=f"arn:aws:events:{region}:{acct}:rule/{physical}")
        elif typ == "aws:kms/key:Key":
            key_id = _guid(name)
            state.update(arn=f"arn:aws:kms:{region}:{acct}:key/{key_id}", keyId=key_id)
            rid = key_id
        elif typ == "aws:sns/topic:Topic":
            state.update(arn=f"arn:aws:sns:{region}:{acct}:{physical}")
            rid = state["arn"]
        elif typ.startswith("aws:sagemaker/"):
            kind = {"endpointConfiguration": "endpoint-config"}.get(
                typ.split("/")[1].split(":", maxsplit=1)[0],
                typ.split("/")[1].split(":", maxsplit=1)[0],
            )
            state.update(arn=f"arn:aws:sagemaker:{region}:{acct}:{kind.lower()}/{physical}")
        else:
            state.setdefault("arn", f"arn:aws:{service}:{region}:{acct}:{physical}")
        return rid, state

    def _gcp(self, typ: str, name: str, inputs: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        project = inputs.get("project") or self.project
        physical = inputs.get("name") or f"{name}-{_short(name)}"
        state: dict[str, Any] = {**inputs, "name": physical, "project": project}
        rid = physical
        if typ == "gcp:serviceaccount/account:Account":
            email = f"{inputs['accountId']}@{project}.iam.gserviceaccount.com"
            rid = f"projects/{project}/serviceAccounts/{email}"
            state.update(
                email=email, member=f"serviceAccount:{email}", uniqueId=_short(email), name=rid
            )
        elif typ == "gcp:storage/bucket:Bucket":
            state.update(
                url=f"gs://{physical}",
                selfLink=f"https://www.googleapis.com/storage/v1/b/{physical}",
            )
        elif typ == "gcp:pubsub/topic:Topic":
            rid = f"projects/{project}/topics/{physical}"
        elif typ == "gcp:pubsub/subscription:Subscription":
            rid = f"projects/{project}/subscriptions/{physical}"
        elif typ == "gcp:cloudrunv2/service:Service":
            location = inputs.get("location", self.region)
            rid = f"projects/{project}/locations/{location}/services/{physical}"
            state.update(uri=f"https://{physical}-{_short(physical)}-ew.a.run.app")
        elif typ == "gcp:eventarc/trigger:Trigger":
            location = inputs.get("location", self.region)
            rid = f"projects/{project}/locations/{location}/triggers/{physical}"
        elif typ == "gcp:cloudfunctionsv2/function:Function":
            location = inputs.get("location", self.region)
            rid = f"projects/{project}/locations/{location}/functions/{physical}"
            state.update(url=f"https://{physical}-{_short(physical)}.a.run.app")
        elif typ == "gcp:vertex/aiEndpoint:AiEndpoint":
            location = inputs.get("location", self.region)
            physical = inputs.get("name") or str(int(_short(name), 16))
            rid = f"projects/{project}/locations/{location}/endpoints/{physical}"
            state["name"] = physical
        elif typ == "gcp:projects/iAMCustomRole:IAMCustomRole":
            rid = f"projects/{project}/roles/{inputs['roleId']}"
            state["name"] = rid
        elif typ == "gcp:monitoring/notificationChannel:NotificationChannel":
            rid = f"projects/{project}/notificationChannels/{int(_short(name), 16)}"
            state["name"] = rid
        elif typ == "gcp:logging/projectBucketConfig:ProjectBucketConfig":
            location = inputs.get("location", "global")
            rid = f"projects/{project}/locations/{location}/buckets/{inputs['bucketId']}"
            state["name"] = rid
        state["id"] = rid
        return rid, state

    def _azure(self, typ: str, name: str, inputs: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        _, module, kind = typ.split(":")
        sub = f"/subscriptions/{AZURE_SUBSCRIPTION}"
        rg = inputs.get("resourceGroupName", "rg")
        own_key = f"{kind[0].lower()}{kind[1:]}Name"  # containerAppName for a ContainerApp
        name_key = (
            own_key
            if inputs.get(own_key)
            else next(
                (
                    k
                    for k in inputs
                    if k.endswith("Name")
                    and k
                    not in (
                        "resourceGroupName",
                        "accountName",
                        "systemTopicName",
                        "workspaceName",
                        "endpointName",
                        "containerName",
                        "workloadProfileName",
                    )
                ),
                None,
            )
        )
        physical = inputs.get(name_key) if name_key else None
        physical = physical or f"{name.replace('-', '')}{_short(name)}"[:24]
        if kind == "ResourceGroup":
            physical = inputs.get("resourceGroupName") or physical
        elif kind == "StorageAccount":
            physical = inputs.get("accountName") or physical
        rid = f"{sub}/resourceGroups/{rg}/providers/Microsoft.{module.title()}/{kind}/{physical}"
        state: dict[str, Any] = {**inputs, "name": physical}
        identity = inputs.get("identity")
        if isinstance(identity, dict) and isinstance(identity.get("userAssignedIdentities"), list):
            # Inputs list the identity ids; Azure answers with a map id -> principal.
            state["identity"] = {
                **identity,
                "userAssignedIdentities": {
                    i: {"principalId": _guid(f"{i}-p"), "clientId": _guid(f"{i}-c")}
                    for i in identity["userAssignedIdentities"]
                },
            }
        if kind == "ResourceGroup":
            rid = f"{sub}/resourceGroups/{physical}"
        elif kind == "StorageAccount":
            rid = (
                f"{sub}/resourceGroups/{rg}/providers/Microsoft.Storage/storageAccounts/{physical}"
            )
            state["primaryEndpoints"] = {
                "blob": f"https://{physical}.blob.core.windows.net/",
                "queue": f"https://{physical}.queue.core.windows.net/",
            }
        elif kind == "BlobContainer":
            account = f"{sub}/resourceGroups/{rg}/providers/Microsoft.Storage/storageAccounts/"
            physical = inputs.get("containerName") or physical
            rid = f"{account}{inputs['accountName']}/blobServices/default/containers/{physical}"
            state["name"] = physical
        elif kind == "Queue":
            account = f"{sub}/resourceGroups/{rg}/providers/Microsoft.Storage/storageAccounts/"
            rid = f"{account}{inputs['accountName']}/queueServices/default/queues/{physical}"
        elif module == "authorization":
            leaf = inputs.get("roleDefinitionId") if kind == "RoleDefinition" else _guid(name)
            scope = inputs.get("scope", sub)
            rid = f"{scope}/providers/Microsoft.Authorization/{kind[0].lower()}{kind[1:]}s/{leaf}"
        elif kind == "UserAssignedIdentity":
            state.update(
                principalId=_guid(f"{name}-principal"),
                clientId=_guid(f"{name}-client"),
                tenantId=AZURE_TENANT,
            )
        elif kind in ("SystemTopic", "WebApp", "OnlineEndpoint", "Workspace", "Topic"):
            if "identity" in inputs:
                state["identity"] = {**state["identity"], "principalId": _guid(f"{name}-mi")}
            if kind == "WebApp":
                state["defaultHostName"] = f"{physical}.azurewebsites.net"
            if kind == "Topic":
                state["endpoint"] = (
                    f"https://{physical}.{self.region}-1.eventgrid.azure.net/api/events"
                )
            if kind == "OnlineEndpoint":
                state["properties"] = {
                    **inputs.get("properties", {}),
                    "scoringUri": f"https://{physical}.{self.region}.inference.ml.azure.com/score",
                }
        elif kind == "Component":
            state.update(connectionString=f"InstrumentationKey={_guid(name)}", appId=_guid(name))
        state["id"] = rid
        return rid, state


def run_program(
    program: Callable[[], object],
    *,
    config: Mapping[str, str],
    project: str = "fakewatch",
    stack: str = "dev",
    mocks: RecordingMocks | None = None,
) -> Stack:
    """Run ``program`` under the mock engine with ``config`` (full ``ns:key`` -> string)."""
    mocks = mocks or RecordingMocks()
    pulumi.runtime.set_mocks(mocks, project=project, stack=stack, preview=False)
    pulumi.runtime.set_all_config(dict(config), [])
    root = pulumi.runtime.settings.get_root_resource()
    outputs: dict[str, Any] = getattr(root, "outputs", {})
    outputs.clear()

    def body() -> None:
        program()

    _sync_await(run_pulumi_func(body))
    resolved = {k: _sync_await(pulumi.Output.from_input(v).future()) for k, v in outputs.items()}
    return Stack(resources=tuple(mocks.records), outputs=resolved)
