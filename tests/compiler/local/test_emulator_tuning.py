"""The emulator's partition-only Query answers exactly as moto's own whole-table Query does."""

from __future__ import annotations

from typing import Any

import boto3
import pytest

from compiler.local.emulator_tuning import tune_moto

pytestmark = pytest.mark.emulator  # moto in process: skipped (CI: failed) without it


def pages(client: Any, **request: Any) -> list[list[dict[str, Any]]]:
    found = []
    while True:
        reply = client.query(**request)
        found.append(reply["Items"])
        if "LastEvaluatedKey" not in reply:
            return found
        request["ExclusiveStartKey"] = reply["LastEvaluatedKey"]


def test_partition_only_query_matches_moto() -> None:
    from moto import mock_aws
    from moto.dynamodb.models.table import Table

    original = Table.query
    with mock_aws():
        client = boto3.client("dynamodb", region_name="us-east-1", aws_access_key_id="k", aws_secret_access_key="s")
        client.create_table(
            TableName="t",
            BillingMode="PAY_PER_REQUEST",
            KeySchema=[{"AttributeName": "p", "KeyType": "HASH"}, {"AttributeName": "j", "KeyType": "RANGE"}],
            AttributeDefinitions=[{"AttributeName": name, "AttributeType": "S"} for name in ("p", "j")],
        )
        for p in range(6):
            for j in range(12):
                client.put_item(TableName="t", Item={"p": {"S": f"p{p}"}, "j": {"S": f"j{j:02d}"}, "n": {"N": str(j)}})
        requests = [
            {"KeyConditionExpression": "p = :p", "ExpressionAttributeValues": {":p": {"S": "p3"}}},
            {"KeyConditionExpression": "p = :p", "ExpressionAttributeValues": {":p": {"S": "p3"}}, "Limit": 5},
            {
                "KeyConditionExpression": "p = :p AND begins_with(j, :j)",
                "ExpressionAttributeValues": {":p": {"S": "p1"}, ":j": {"S": "j1"}},
                "ScanIndexForward": False,
            },
            {
                "KeyConditionExpression": "p = :p",
                "FilterExpression": "n > :n",
                "ExpressionAttributeValues": {":p": {"S": "p2"}, ":n": {"N": "6"}},
            },
            {"KeyConditionExpression": "p = :p", "ExpressionAttributeValues": {":p": {"S": "absent"}}},
        ]
        try:
            Table.query = original
            expected = [pages(client, TableName="t", **r) for r in requests]
            assert tune_moto() and tune_moto()
            assert Table.query is not original
            assert [pages(client, TableName="t", **r) for r in requests] == expected
        finally:
            Table.query = original
