"""The document product: bucket, parse queue, the parse/embed/query/documents functions, routes.

Pipeline: upload (presigned POST) or plain drop under tenants/ -> S3 ObjectCreated -> parse queue
-> parse -> `document.parsed` on the bus -> embed queue -> embed -> index segment, status ready.
`document.deleted` takes the same embed queue to the cleanup. See docs/documents.md.

Every record change commits with its `document.*` event in the documents producer's outbox
(`outbox.grant_write`, ADR 0014); the relay publishes them on the documents topic. Only what is
no state change is published directly: the in-process decisions of the documents API and the
query function (`authz.grant_decide`) and the query function's `query.answered`.
"""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_event_sources as sources
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from stacks.api import EchoApi
from stacks.authz import AuthzService
from stacks.bundling import layer_code
from stacks.event_bus import MAX_RECEIVE_COUNT, EventBus, work_queue
from stacks.function import EchoFunction, acknowledge_prefix_grant
from stacks.outbox import Outbox
from stacks.producers import DOCUMENTS
from stacks.settings import StageSettings

ORIGINALS = "tenants/"
PARSED = "parsed/"
INDEX = "index/"
PARSE_TIMEOUT = cdk.Duration.seconds(60)
EMBED_TIMEOUT = cdk.Duration.seconds(300)
MAX_UPLOAD_BYTES = 25 * 1024 * 1024
# The layers of each document function beyond the shared one (tests and benches bundle the same).
EXTRA_LAYERS: dict[str, tuple[str, ...]] = {
    "documents": ("documents",),
    "parse": ("documents",),
    "embed": ("documents", "ml"),
    "query": ("documents", "ml"),
}
ROUTES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("/documents", ("GET", "POST")),
    ("/documents/{document_id}", ("GET", "DELETE")),
    ("/documents/{document_id}/share", ("POST",)),
)


class DocumentService(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        settings: StageSettings,
        bus: EventBus,
        outbox: Outbox,
        authz: AuthzService,
        api: EchoApi,
        authorizer: apigw.IAuthorizer,
        shared_layer: lambda_.ILayerVersion,
        access_logs: s3.IBucket,
    ) -> None:
        super().__init__(scope, construct_id)
        self._settings = settings
        self._bus = bus
        self._outbox = outbox
        self.table: dynamodb.ITable = authz.documents_table
        self.documents_layer = self._layer("documents", "echo_documents: records, storage layout, events")
        self.ml_layer = self._layer("ml", "echo_retrieval: chunking, ONNX embedder, tenant index, answerers")
        self.parse_dead_letters, self.parse_queue = self._parse_queues()
        self.bucket = self._bucket(api, access_logs)
        self.embed_queue = bus.subscribe_queue(
            "embed", consumer_timeout=EMBED_TIMEOUT, type_prefixes=["document.parsed", "document.deleted"]
        )
        own = {"documents": self.documents_layer, "ml": self.ml_layer}

        def layers(package: str) -> list[lambda_.ILayerVersion]:
            return [shared_layer, *(own[name] for name in EXTRA_LAYERS[package])]

        self.parse = self._parse_function(layers("parse"))
        self.embed = self._embed_function(layers("embed"))
        self.api_function = self._api_function(layers("documents"), authz)
        self.query = self._query_function(layers("query"), authz)
        for path, methods in ROUTES:
            api.route(path, methods, self.api_function, access="authorizer", authorizer=authorizer)
        api.route("/query", ["POST"], self.query, access="authorizer", authorizer=authorizer)
        # The chunks live in the tenant index the query function holds warm (the ML layer).
        api.route(
            "/documents/{document_id}/chunks", ["GET"], self.query, access="authorizer", authorizer=authorizer
        )
        self.functions = {
            "documents": self.api_function,
            "parse": self.parse,
            "embed": self.embed,
            "query": self.query,
        }

    def _layer(self, name: str, description: str) -> lambda_.LayerVersion:
        return lambda_.LayerVersion(
            self,
            f"{name.title()}Layer",
            layer_version_name=self._settings.resource_name(name),
            description=description,
            code=layer_code(name),
            compatible_runtimes=[lambda_.Runtime.PYTHON_3_13],
            compatible_architectures=[lambda_.Architecture.X86_64],
            removal_policy=cdk.RemovalPolicy.RETAIN
            if self._settings.is_production_like
            else cdk.RemovalPolicy.DESTROY,
        )

    def _parse_queues(self) -> tuple[sqs.Queue, sqs.Queue]:
        queue, dead_letters = work_queue(
            self, "Parse", settings=self._settings, name="parse", consumer_timeout=PARSE_TIMEOUT
        )
        return dead_letters, queue

    def _bucket(self, api: EchoApi, access_logs: s3.IBucket) -> s3.Bucket:
        settings = self._settings
        # Browsers upload straight to S3 from the web app, which API Gateway serves.
        origins = (
            ["http://127.0.0.1:*", "http://localhost:*"]
            if settings.name == "local"
            else [f"https://{api.rest_api.rest_api_id}.execute-api.{cdk.Aws.REGION}.{cdk.Aws.URL_SUFFIX}"]
        )
        bucket_name = f"{settings.resource_name('documents')}-{cdk.Aws.ACCOUNT_ID}-{cdk.Aws.REGION}"
        bucket = s3.Bucket(
            self,
            "Bucket",
            bucket_name=bucket_name,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            encryption=s3.BucketEncryption.S3_MANAGED,
            enforce_ssl=True,
            # Unversioned: deleting a document must delete its bytes, not hide them behind a marker.
            versioned=False,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            server_access_logs_bucket=access_logs,
            server_access_logs_prefix="documents/",
            removal_policy=settings.removal_policy,
            cors=[
                s3.CorsRule(
                    allowed_methods=[s3.HttpMethods.POST],
                    allowed_origins=origins,
                    allowed_headers=["*"],
                    max_age=3000,
                )
            ],
        )
        # Set on the bucket resource itself: the custom-resource-based add_event_notification does
        # nothing on LocalStack (no CustomResource provider there).
        self.parse_queue.add_to_resource_policy(
            iam.PolicyStatement(
                principals=[iam.ServicePrincipal("s3.amazonaws.com")],
                actions=["sqs:SendMessage"],
                resources=[self.parse_queue.queue_arn],
                conditions={
                    # By name, not by reference: the bucket depends on this policy, not the reverse.
                    "ArnLike": {"aws:SourceArn": f"arn:{cdk.Aws.PARTITION}:s3:::{bucket_name}"},
                    "StringEquals": {"aws:SourceAccount": cdk.Aws.ACCOUNT_ID},
                },
            )
        )
        cfn_bucket = bucket.node.default_child
        assert isinstance(cfn_bucket, s3.CfnBucket)
        cfn_bucket.notification_configuration = s3.CfnBucket.NotificationConfigurationProperty(
            queue_configurations=[
                s3.CfnBucket.QueueConfigurationProperty(
                    event="s3:ObjectCreated:*",
                    queue=self.parse_queue.queue_arn,
                    filter=s3.CfnBucket.NotificationFilterProperty(
                        s3_key=s3.CfnBucket.S3KeyFilterProperty(
                            rules=[s3.CfnBucket.FilterRuleProperty(name="prefix", value=ORIGINALS)]
                        )
                    ),
                )
            ]
        )
        policy = self.parse_queue.node.try_find_child("Policy")
        if policy is not None:
            cfn_bucket.node.add_dependency(policy)
        return bucket

    def _grant_objects(self, function: EchoFunction, actions: list[str], prefix: str) -> None:
        function.grant(actions, [self.bucket.arn_for_objects(f"{prefix}*")])
        acknowledge_prefix_grant(function, self.bucket, f"{prefix}*")

    def _grant_record_events(self, function: EchoFunction) -> None:
        """Its record changes' events go to the documents outbox, in their transaction (OUTBOX_TABLE)."""
        self._outbox.grant_write(function, DOCUMENTS)

    @property
    def _storage_environment(self) -> dict[str, str]:
        return {"DOCUMENTS_TABLE": self.table.table_name, "DOCUMENTS_BUCKET": self.bucket.bucket_name}

    def _function(
        self,
        name: str,
        package: str,
        description: str,
        layers: list[lambda_.ILayerVersion],
        *,
        memory_size: int,
        timeout: cdk.Duration,
        environment: dict[str, str],
    ) -> EchoFunction:
        return EchoFunction(
            self,
            name,
            settings=self._settings,
            package=package,
            description=description,
            layers=layers,
            memory_size=memory_size,
            timeout=timeout,
            environment=environment,
        )

    def _consume(self, function: EchoFunction, queue: sqs.IQueue) -> None:
        """Small batches, no batching window, partial batch responses (one bad record fails alone)."""
        function.function.add_event_source(
            sources.SqsEventSource(
                queue,
                batch_size=5,
                max_batching_window=cdk.Duration.seconds(0),
                report_batch_item_failures=True,
            )
        )

    def _parse_function(self, layers: list[lambda_.ILayerVersion]) -> EchoFunction:
        function = self._function(
            "Parse",
            "parse",
            "Extracts text from uploaded documents in a resource-limited child process",
            layers,
            memory_size=2048,
            timeout=PARSE_TIMEOUT,
            environment={
                **self._storage_environment,
                "DEAD_LETTER_QUEUE_URL": self.parse_dead_letters.queue_url,
                "PARSE_MAX_BYTES": str(MAX_UPLOAD_BYTES),
            },
        )
        function.grant(
            ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"], [self.table.table_arn]
        )
        self._grant_objects(function, ["s3:GetObject", "s3:DeleteObject"], ORIGINALS)
        self._grant_objects(function, ["s3:PutObject", "s3:DeleteObject"], PARSED)
        self._grant_record_events(function)  # publishes nothing itself
        function.grant(["sqs:SendMessage"], [self.parse_dead_letters.queue_arn])
        self._consume(function, self.parse_queue)
        return function

    def _embed_function(self, layers: list[lambda_.ILayerVersion]) -> EchoFunction:
        dead_letters = self._bus.dead_letter_queues["embed"]
        function = self._function(
            "Embed",
            "embed",
            "Chunks and embeds parsed documents into the tenant index; purges deleted ones",
            layers,
            memory_size=2048,
            timeout=EMBED_TIMEOUT,
            environment={
                **self._storage_environment,
                "INDEX_BUCKET": self.bucket.bucket_name,
                "DEAD_LETTER_QUEUE_URL": dead_letters.queue_url,
                "EMBED_MAX_RECEIVES": str(MAX_RECEIVE_COUNT),
            },
        )
        function.grant(
            ["dynamodb:GetItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem"], [self.table.table_arn]
        )
        self._grant_objects(function, ["s3:DeleteObject"], ORIGINALS)
        self._grant_objects(function, ["s3:GetObject", "s3:DeleteObject"], PARSED)
        self._grant_objects(function, ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"], INDEX)
        self._grant_index_listing(function)
        self._grant_record_events(function)  # publishes nothing itself
        function.grant(["sqs:SendMessage"], [dead_letters.queue_arn])
        self._consume(function, self.embed_queue)
        return function

    def _api_function(self, layers: list[lambda_.ILayerVersion], authz: AuthzService) -> EchoFunction:
        function = self._function(
            "Api",
            "documents",
            "Documents API: upload forms, status, listing, sharing, deletion",
            layers,
            memory_size=1024,
            timeout=cdk.Duration.seconds(29),
            environment={**self._storage_environment, "UPLOAD_MAX_BYTES": str(MAX_UPLOAD_BYTES)},
        )
        # Its decisions, published directly on its own topic (EVENT_TOPIC_ARN); its record changes'
        # document.* events go to the outbox.
        authz.grant_decide(function, DOCUMENTS)
        self._grant_record_events(function)
        function.grant(
            ["dynamodb:GetItem", "dynamodb:Query", "dynamodb:PutItem", "dynamodb:UpdateItem"],
            [self.table.table_arn],
        )
        # The presigned POST is signed with this role: it may write originals, nothing else.
        self._grant_objects(function, ["s3:PutObject"], ORIGINALS)
        return function

    def _query_function(self, layers: list[lambda_.ILayerVersion], authz: AuthzService) -> EchoFunction:
        function = self._function(
            "Query",
            "query",
            "Question answering over the caller's readable documents, with citations",
            layers,
            memory_size=2048,
            timeout=cdk.Duration.seconds(29),
            environment={
                "DOCUMENTS_TABLE": self.table.table_name,
                "INDEX_BUCKET": self.bucket.bucket_name,
                "EVENT_TOPIC_ARN": self._bus.topic_arn(DOCUMENTS),
                "ECHO_ANSWERER": "extractive",
            },
        )
        # Its decisions and `query.answered` (no state change): published directly on its own topic.
        authz.grant_decide(function, DOCUMENTS)
        function.grant(["dynamodb:GetItem", "dynamodb:Query"], [self.table.table_arn])
        self._grant_objects(function, ["s3:GetObject"], INDEX)
        self._grant_index_listing(function)
        return function

    def _grant_index_listing(self, function: EchoFunction) -> None:
        function.role.add_to_policy(
            iam.PolicyStatement(
                actions=["s3:ListBucket"],
                resources=[self.bucket.bucket_arn],
                conditions={"StringLike": {"s3:prefix": [f"{INDEX}*"]}},
            )
        )
