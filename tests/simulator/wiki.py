"""The wiki's JSON examples (the truth) and a helper comparing shapes."""

from __future__ import annotations

from typing import Any

FEATURE_PUSH: dict[str, Any] = {
    "subscriptionId": "fc544ab6-590f-43be-9134-d37d93a22e4e",
    "featureEvents": [
        {
            "changeType": "MODIFIED",
            "feature": {
                "id": 2898089,
                "featName": "CENTRAL_DND",
                "userId": 177059,
                "status": "ACTIVE",
                "overridingUserFeature": False,
                "timeTableActive": False,
                "level": "USER",
                "centralDndData": {"condition": "ALWAYS", "mode": "USER"},
            },
            "previousValue": {
                "id": 2898089,
                "featName": "CENTRAL_DND",
                "userId": 177059,
                "status": "INACTIVE",
                "overridingUserFeature": False,
                "timeTableActive": False,
                "level": "USER",
                "centralDndData": {"condition": "ALWAYS", "mode": "USER"},
            },
            "eventTime": "2024-11-04T12:38:54.753+01:00",
            "context": {
                "user": {"id": 177059, "name": "+41215776366@m.ipvoip.ch"},
                "site": {"id": 15200, "name": "s1.431569.bus.ipvoip.ch"},
                "enterprise": {"id": 15198, "name": "431569.bus.ent"},
                "serviceProvider": {"id": 2, "name": "vtx.sp"},
            },
        }
    ],
}

CALL_LOG_PUSH: dict[str, Any] = {
    "subscriptionId": "dfaa8ef2-ac51-4883-ad40-92de788e142c",
    "callLogEvents": [
        {
            "changeType": "CREATED",
            "callLog": {
                "id": "741f1e6a-8fb1-441e-9e0c-e57c68246d5d",
                "userId": 168382,
                "callStart": "2024-09-27T15:26:45Z",
                "duration": 7,
                "direction": "OUTGOING",
                "callType": "VOICE",
                "status": 804,
                "callPartyNumber": "+41225117902",
                "callPartyDialNumber": "0225117902",
            },
            "eventTime": "2024-09-27T17:26:53.273+02:00",
            "context": {
                "user": {"id": 168382, "name": "+41225662195@m.ipvoip.ch"},
                "site": {"id": 16321, "name": "s1.291908.bus.ipvoip.ch"},
                "enterprise": {"id": 16317, "name": "291908.bus.ent"},
                "serviceProvider": {"id": 2, "name": "vtx.sp"},
            },
        }
    ],
}

PRESENCE: dict[str, Any] = {
    "userId": 177059,
    "domainId": 15200,
    "current": {"activity": "ONLINE", "enhancedActivity": "IN_A_CALL", "modifiedOn": "2024-11-04T14:17:49.457+01:00"},
    "c5": {"activity": "ONLINE", "enhancedActivity": "IN_A_CALL", "modifiedOn": "2024-11-04T14:17:49.457+01:00"},
    "lastC5": {"activity": "ONLINE", "enhancedActivity": "NONE", "modifiedOn": "2024-11-04T14:02:03.389+01:00"},
    "thirdParty": {"activity": "UNKNOWN", "enhancedActivity": "NONE"},
}

SUB_CALL_LOG: dict[str, Any] = {
    "id": "dfaa8ef2-ac51-4883-ad40-92de788e142c",
    "resourceType": "CALL_LOG",
    "resourceIds": ["168382", "168386", "168390"],
    "userIds": [168382, 168386, 168390],
    "notificationUrl": "http://recovery.ipvoip.ch/openapi",
    "expires": "2024-09-29T00:00:00Z",
    "creatorId": "openapi@291908.bus.ent",
    "creatorRole": "ENTERPRISE_ADMIN",
    "creatorIsImpersonated": False,
    "applicationId": "71c177e5-7417-4265-b97f-4595016dceb8",
    "created": "2024-09-27T17:21:42.272678+02:00",
    "modified": "2024-09-27T17:21:42.272678+02:00",
}

SUB_FEATURE_LOGINS: dict[str, Any] = {
    "id": "b014b9a4-99f8-4ef7-a83d-87d0606a6af5",
    "resourceType": "FEATURE",
    "resourceNames": ["CALL_FORWARD_UNCONDITIONAL", "CALL_FORWARD_TIMEOUT"],
    "loginNames": ["+41215776366@m.ipvoip.ch"],
    "notificationUrl": "http://recovery.ipvoip.ch/openapi",
    "expires": "2024-11-06T00:00:00Z",
    "creatorId": "openapi@431569.bus.ent",
    "creatorRole": "ENTERPRISE_ADMIN",
    "creatorIsImpersonated": False,
    "applicationId": "71c177e5-7417-4265-b97f-4595016dceb8",
    "created": "2024-11-04T12:31:12.329907+01:00",
    "modified": "2024-11-04T12:31:12.329907+01:00",
}

SUB_FEATURE_ENTERPRISE: dict[str, Any] = {
    "id": "fc544ab6-590f-43be-9134-d37d93a22e4e",
    "resourceType": "FEATURE",
    "enterpriseNames": ["431569.bus.ent"],
    "notificationUrl": "http://recovery.ipvoip.ch/openapi",
    "expires": "2024-11-06T00:00:00Z",
    "creatorId": "openapi@431569.bus.ent",
    "creatorRole": "ENTERPRISE_ADMIN",
    "creatorIsImpersonated": False,
    "applicationId": "71c177e5-7417-4265-b97f-4595016dceb8",
    "created": "2024-11-04T12:31:40.592617+01:00",
    "modified": "2024-11-04T12:31:40.592617+01:00",
}

CFU_FEATURE: dict[str, Any] = {
    "id": 2898014,
    "featName": "CALL_FORWARD_UNCONDITIONAL",
    "userId": 177059,
    "status": "INACTIVE",
    "overridingUserFeature": False,
    "timeTableActive": False,
    "level": "USER",
    "callForwardUnconditionalData": {
        "type": "CallForwardUnconditional",
        "colpAllowed": True,
        "destinationUri": "0225117902@s1.431569.bus.ipvoip.ch",
        "destinationUriRepetition": 0,
        "condition": "ALWAYS",
    },
}

SERVER: dict[str, Any] = {
    "buildCustomer": "Release",
    "buildVersion": "7.7.2.12",
    "buildNumber": "1",
    "buildDate": "2024-05-28T17:21:44+0200",
    "bulkLimitCommon": 100,
    "bulkLimitAddUser": 100,
    "bulkLimitAddAddressBookEntry": 1000,
}


def shape(value: Any) -> Any:
    """Return the structure of a JSON value: keys in order and value types, recursively."""
    if isinstance(value, dict):
        return [(key, shape(item)) for key, item in value.items()]
    if isinstance(value, list):
        return [shape(item) for item in value]
    return type(value).__name__
