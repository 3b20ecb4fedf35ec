"""Azure RBAC: built-in role ids, the scanner's custom role, and the read-gating condition."""

from __future__ import annotations

from fakewatch_iac.envvars import ACTION_TAG, ALLOW

BLOB = "Microsoft.Storage/storageAccounts/blobServices/containers/blobs"

# Built-in role definition GUIDs (identical in every tenant).
STORAGE_BLOB_DATA_OWNER = "b7e6dc6d-f1e8-4753-8033-0f276bb0955b"
STORAGE_BLOB_DATA_CONTRIBUTOR = "ba92f5b4-2d11-453d-a403-e96b0029c9fe"
STORAGE_BLOB_DATA_READER = "2a2b9908-6ea1-4ae2-8e65-a410df84e7d1"
STORAGE_QUEUE_DATA_CONTRIBUTOR = "974c5e8b-45b9-4653-ba55-5f855dd0fb88"
# gpu.mode async: the function adds jobs, the worker receives and deletes them, and KEDA, as the
# worker's identity, reads the queue's length.
STORAGE_QUEUE_DATA_MESSAGE_SENDER = "c6a89b2d-59bc-44d0-9896-0f6e12d7b80a"
STORAGE_QUEUE_DATA_MESSAGE_PROCESSOR = "8a0f0c08-91a1-4084-bc3d-661d67233fed"
STORAGE_QUEUE_DATA_READER = "19e7f393-937e-4f77-808e-94535e297925"  # KEDA: the queue's length
ACR_PULL = "7f951dda-4ed3-4680-a7ca-43fe172d538d"
STORAGE_TABLE_DATA_CONTRIBUTOR = "0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3"
MONITORING_METRICS_PUBLISHER = "3913510d-42f4-4e42-8a64-420c390055eb"
EVENTGRID_DATA_SENDER = "d5a91429-5739-47e2-a06b-3470a27159e7"

# The scanner on the input container: read, tag (blob index tags), delete after quarantine copy.
# Built-in Storage Blob Data Contributor lacks tags/write and Owner has far more than this.
SCANNER_INPUT_DATA_ACTIONS = (
    f"{BLOB}/read",
    f"{BLOB}/delete",
    f"{BLOB}/tags/read",
    f"{BLOB}/tags/write",
)
ML_SCORE_ACTION = "Microsoft.MachineLearningServices/workspaces/onlineEndpoints/score/action"


def definition_id(subscription_id: str, guid: str) -> str:
    return (
        f"/subscriptions/{subscription_id}/providers/Microsoft.Authorization/roleDefinitions/{guid}"
    )


# ABAC: a blob read (not a listing) is allowed only when the blob index tag says allow.
# An unscanned blob has no tag, so the condition fails and the read is denied: fail closed.
READ_GATING_CONDITION = (
    f"((!(ActionMatches{{'{BLOB}/read'}} AND NOT SubOperationMatches{{'Blob.List'}})) OR "
    f"(@Resource[{BLOB}/tags:{ACTION_TAG}<$key_case_sensitive$>] StringEquals '{ALLOW}'))"
)
