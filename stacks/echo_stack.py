"""One Echo environment: the event bus, the audit log, the log sink and the API."""

from __future__ import annotations

from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from stacks.alarms import OperationalAlarms
from stacks.api import EchoApi
from stacks.audit import AuditLog
from stacks.audit_verification import AuditVerificationJobs
from stacks.authz import AuthzService
from stacks.bundling import layer_code
from stacks.documents import DocumentService
from stacks.event_bus import EventBus
from stacks.function import EchoFunction
from stacks.identity import IdentityService
from stacks.log_sink import LogSink
from stacks.outbox import Outbox
from stacks.producers import AUDIT, AUTHZ, DOCUMENTS, IDENTITY
from stacks.settings import StageSettings
from stacks.storage import bucket
from stacks.web import WebApp


class EchoStack(cdk.Stack):
    def __init__(
        self, scope: Construct, construct_id: str, *, settings: StageSettings, **kwargs: Any
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        self.settings = settings
        self.access_logs = bucket(
            self, "AccessLogs", settings=settings, name="access-logs", access_logs=None, versioned=False
        )
        self.shared_layer = lambda_.LayerVersion(
            self,
            "SharedLayer",
            layer_version_name=settings.resource_name("shared"),
            description="echo_shared: event envelope, publisher, audit chain, observability",
            code=layer_code("shared"),
            compatible_runtimes=[lambda_.Runtime.PYTHON_3_13],
            compatible_architectures=[lambda_.Architecture.X86_64],
            removal_policy=cdk.RemovalPolicy.RETAIN
            if settings.is_production_like
            else cdk.RemovalPolicy.DESTROY,
        )
        self.bus = EventBus(self, "EventBus", settings=settings)
        self.audit = AuditLog(
            self,
            "Audit",
            settings=settings,
            bus=self.bus,
            layer=self.shared_layer,
            access_logs=self.access_logs,
        )
        self.verifications = AuditVerificationJobs(
            self,
            "AuditVerifications",
            settings=settings,
            audit=self.audit,
            bus=self.bus,
            layer=self.shared_layer,
        )
        self.log_sink = LogSink(self, "LogSink", settings=settings, bus=self.bus, layer=self.shared_layer)
        self.api = EchoApi(self, "Api", settings=settings)
        self.outbox = Outbox(self, "Outbox", settings=settings, bus=self.bus, layer=self.shared_layer)
        self.identity = IdentityService(
            self,
            "Identity",
            settings=settings,
            api=self.api,
            bus=self.bus,
            outbox=self.outbox,
            layer=self.shared_layer,
        )
        self.authz = AuthzService(self, "Authz", settings=settings, bus=self.bus, layer=self.shared_layer)
        self.authz.add_routes(self.api, authorizer=self.identity.authorizer)
        self.outbox.grant_write(
            self.authz.function, AUTHZ
        )  # policy changes and their events, in its own outbox
        self.functions: dict[str, EchoFunction] = {
            "audit_ingest": self.audit.ingest,
            "audit_notary": self.audit.notary,
            "audit_verification": self.verifications.function,
            "log_sink": self.log_sink.function,
            "outbox_relay": self.outbox.relay,
            "authz": self.authz.function,
            **self.identity.functions,
        }
        self._add_audit_api()
        self.documents = DocumentService(
            self,
            "Documents",
            settings=settings,
            bus=self.bus,
            outbox=self.outbox,
            authz=self.authz,
            api=self.api,
            authorizer=self.identity.authorizer,
            shared_layer=self.shared_layer,
            access_logs=self.access_logs,
        )
        self.functions.update(self.documents.functions)
        self.web = WebApp(
            self, "Web", settings=settings, api=self.api, identity=self.identity, layer=self.shared_layer
        )
        self.functions["web"] = self.web.function
        self.alarms = OperationalAlarms(
            self,
            "Alarms",
            settings=settings,
            functions=self.functions,
            dead_letter_queues=self.dead_letter_queues,
        )
        # No identity role can turn one of Echo's other keys into a signing key (tag, sign, delete).
        other_keys = [self.bus.key, self.audit.signing_key, self.web.session_key]
        self.identity.deny_key_takeover([*other_keys, *([self.alarms.key] if self.alarms.key else [])])
        # Every topic's policy names its publishers only (ADR 0016); every function exists now.
        self.bus.restrict_publishers(self.functions.values())
        self._add_outputs()

    @property
    def dead_letter_queues(self) -> dict[str, sqs.IQueue]:
        """Every dead-letter queue of the stack, by name (each one alarmed on)."""
        return {
            **self.bus.dead_letter_queues,
            "parse": self.documents.parse_dead_letters,
            "key-rotation": self.identity.rotation_dlq,
            "audit-verification": self.verifications.dead_letters,
            "outbox-relay": self.outbox.dead_letters,
        }

    def _add_audit_api(self) -> None:
        audit_api = EchoFunction(
            self,
            "AuditApi",
            settings=self.settings,
            package="audit_api",
            description="Audit trail query, chain verification and application-log query API",
            layers=[self.shared_layer],
            memory_size=1024,
            timeout=cdk.Duration.seconds(29),
            environment={
                **self.audit.environment,
                **self.log_sink.environment,
            },
        )
        self.audit.grant_read(audit_api)
        self.verifications.grant_start(audit_api)
        self.log_sink.grant_read(audit_api)
        # A decision belongs to its decider (ADR 0016): each says it on its own producer's topic.
        self.authz.grant_decide(audit_api, AUDIT)
        self.authz.grant_decide(self.identity.users, IDENTITY)  # the users API asks Cedar for user:admin
        self.functions["audit_api"] = audit_api
        for path in ("/audit/events", "/audit/verify", "/audit/verifications/{job_id}", "/logs"):
            self.api.route(path, ["GET"], audit_api, access="authorizer", authorizer=self.identity.authorizer)
        self.api.route(
            "/audit/verifications",
            ["POST"],
            audit_api,
            access="authorizer",
            authorizer=self.identity.authorizer,
        )

    def _add_outputs(self) -> None:
        outputs = {
            "TableAuditChain": self.audit.chain_table.table_name,
            "TableAuditEventIds": self.audit.event_ids_table.table_name,
            "TableAuditVerifications": self.verifications.table.table_name,
            "QueueAuditVerification": self.verifications.queue.queue_url,
            "QueueAuditVerificationDlq": self.verifications.dead_letters.queue_url,
            "TableAppLogs": self.log_sink.table.table_name,
            "TableAuthzPolicies": self.authz.policy_table.table_name,
            "TableDocuments": self.authz.documents_table.table_name,
            "TableIdentity": self.identity.identity_table.table_name,
            # `outbox` stays identity's (readers of stack.json); each producer's outbox has its own key.
            "TableOutbox": self.outbox.table.table_name,
            "TableOutboxIdentity": self.outbox.tables[IDENTITY].table_name,
            "TableOutboxAuthz": self.outbox.tables[AUTHZ].table_name,
            "TableOutboxDocuments": self.outbox.tables[DOCUMENTS].table_name,
            "QueueOutboxRelayDlq": self.outbox.dead_letters.queue_url,
            "TableSigningKeys": self.identity.signing_keys_table.table_name,
            "IdentityIssuer": self.identity.issuer,
            "BucketAuditCheckpoints": self.audit.checkpoint_bucket.bucket_name,
            "BucketAccessLogs": self.access_logs.bucket_name,
            "BucketDocuments": self.documents.bucket.bucket_name,
            "QueueParse": self.documents.parse_queue.queue_url,
            "QueueParseDlq": self.documents.parse_dead_letters.queue_url,
            # The platform producer's topic (seeds, logs): the historical `events` topic.
            "TopicEvents": self.bus.topic.topic_arn,
            "KeyCheckpointSigning": self.audit.signing_key.key_arn,
            "ApiId": self.api.rest_api.rest_api_id,
            "ApiStage": self.api.rest_api.deployment_stage.stage_name,
            "TableWebSessions": self.web.session_table.table_name,
            "WebUrl": self.web.url,
            "WebClientSecretArn": self.web.client_secret.secret_arn,
        }
        for producer, topic in self.bus.topics.items():
            outputs[f"Topic{producer.title()}"] = topic.topic_arn
        for name, queue in self.bus.queues.items():
            outputs[f"Queue{name.title()}"] = queue.queue_url
        for name, queue in self.bus.dead_letter_queues.items():
            outputs[f"Queue{name.title()}Dlq"] = queue.queue_url
        for package, function in self.functions.items():
            outputs["Function" + package.title().replace("_", "")] = function.function.function_name
        if self.alarms.topic is not None:
            outputs["TopicAlarms"] = self.alarms.topic.topic_arn
        for key, value in outputs.items():
            cdk.CfnOutput(self, key, value=value)
