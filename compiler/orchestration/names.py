"""Orchestration names and settings shared by the Step Functions, SageMaker and IAM targets.

Everything here is derived from one environment of `ndrc.yaml`; nothing depends on the projects, so the
orchestration artifacts of a 1,000-project workspace are the same few files as those of a 1-project one.
Per-project settings (feature spec version, instance types/counts) are read from DynamoDB at run time.
"""

from __future__ import annotations

from dataclasses import dataclass

from compiler.model import EnvironmentConfig
from compiler.orchestration import images

# Re-exported for the targets: the lock table's attributes and the window policy are runtime/contract.py facts.
from runtime.contract import LOCK_KEY_ATTRIBUTE as LOCK_KEY_ATTRIBUTE
from runtime.contract import LOCK_TASK_TOKEN_ATTRIBUTE as LOCK_TASK_TOKEN_ATTRIBUTE
from runtime.contract import LOCK_TTL_ATTRIBUTE as LOCK_TTL_ATTRIBUTE
from runtime.contract import WINDOW_FLOOR_MINUTES as WINDOW_FLOOR_MINUTES

# Flow keys: the suffix of each resource name after the environment's `name_prefix`.
LIVE = "live-inference"
BACKFILL = "backfill"
FEATURE_15M = "feature-15m"
FG_B_BASELINE = "fg-b-baseline"
BACKFILL_EXTRACTOR = "backfill-extractor"
IF_TRAINING = "if-training"
MACHINE_INVENTORY_UNLOAD = "machine-inventory-unload"
STATE_MACHINE_FLOWS: tuple[str, ...] = (LIVE, BACKFILL)
# The live entry (producer topic -> queue -> pipe -> live state machine) and the scheduled flows.
LIVE_ENTRY = "live-entry"
LIVE_ENTRY_DLQ = "live-entry-dlq"
SCHEDULES_DLQ = "schedules-dlq"
LIVE_OUTCOME = "live-outcome"  # state machine + EventBridge rule: a failed 15-minute pipeline marks its lock

# Artifact kinds of the orchestration (manifest `kind`).
STATE_MACHINE_KIND = "state_machine"
PIPELINE_KIND = "sagemaker_pipeline"
BUNDLE_KIND = "runtime_bundle"
IAM_POLICY_KIND = "iam_policy"
SQS_QUEUE_KIND = "sqs_queue"
SNS_SUBSCRIPTION_KIND = "sns_subscription"
PIPE_KIND = "pipe"
SCHEDULE_KIND = "schedule"
EVENT_RULE_KIND = "event_rule"
WIRING_KINDS: tuple[str, ...] = (SQS_QUEUE_KIND, SNS_SUBSCRIPTION_KIND, PIPE_KIND, SCHEDULE_KIND, EVENT_RULE_KIND)

# Optional `orchestration:` settings of an environment in ndrc.yaml, with their defaults.
DEFAULT_SETTINGS: dict[str, int] = {
    "lock_ttl_days": 14,
    "backfill_max_concurrency": 4,
    "backfill_max_concurrency_limit": 20,
    "extractor_timeout_seconds": 6 * 3600,
    "pipeline_poll_seconds": 60,
    "pipeline_max_wait_seconds": 6 * 3600,
    "entry_max_attempts": 5,
}


@dataclass(frozen=True)
class Orchestration:
    """Names, ARNs and settings of the orchestration resources of one environment."""

    environment: EnvironmentConfig

    @property
    def prefix(self) -> str:
        return self.environment.name_prefix

    @property
    def partition(self) -> str:
        return "aws-cn" if self.environment.region.startswith("cn-") else "aws"

    @property
    def account(self) -> str:
        """The account id, or `*` in ARNs when the environment does not pin one."""
        return self.environment.account_id or "*"

    def name(self, flow: str) -> str:
        return f"{self.prefix}{flow}"

    def setting(self, key: str) -> int:
        value = self.environment.get(f"orchestration.{key}", DEFAULT_SETTINGS[key])
        return int(value)

    def _arn(self, service: str, resource: str) -> str:
        return f"arn:{self.partition}:{service}:{self.environment.region}:{self.account}:{resource}"

    def table_arn(self, table: str) -> str:
        return self._arn("dynamodb", f"table/{table}")

    def sagemaker_arn(self, resource: str) -> str:
        # SageMaker lower-cases resource names in its ARNs.
        return self._arn("sagemaker", resource.lower())

    def pipeline_arn(self, flow: str) -> str:
        return self.sagemaker_arn(f"pipeline/{self.name(flow)}")

    def pipeline_execution_arns(self, flow: str) -> str:
        return f"{self.pipeline_arn(flow)}/execution/*"

    def state_machine_arn(self, flow: str) -> str:
        return self._arn("states", f"stateMachine:{self.name(flow)}")

    def state_machine_executions_arn(self, flow: str) -> str:
        return self._arn("states", f"execution:{self.name(flow)}/*")

    def queue_arn(self, name: str) -> str:
        return self._arn("sqs", name)

    def queue_url(self, name: str) -> str:
        """The queue's URL as SQS builds it (`https://sqs.<region>.<domain>/<account>/<name>`)."""
        domain = "amazonaws.com.cn" if self.partition == "aws-cn" else "amazonaws.com"
        return f"https://sqs.{self.environment.region}.{domain}/{self.account}/{name}"

    def arn(self, service: str, resource: str) -> str:
        return self._arn(service, resource)

    def bucket_arn(self, purpose: str) -> str:
        return f"arn:{self.partition}:s3:::{self.environment.get(f'buckets.{purpose}')}"

    def image_uri(self, purpose: str) -> str:
        """`images.<purpose>`: the explicit URI, else resolved from the SageMaker SDK's image tables."""
        return images.image_uri(self.environment.get(f"images.{purpose}"), self.environment.region)

    @property
    def tables(self) -> dict[str, str]:
        return {
            "parameters": self.environment.parameters_table,
            "routing": self.environment.routing_table,
            "lock": self.environment.lock_table,
        }

    @property
    def ingestion_bucket(self) -> str:
        return str(self.environment.get("buckets.ingestion"))

    @property
    def artifacts_bucket(self) -> str:
        return str(self.environment.get("buckets.artifacts"))
