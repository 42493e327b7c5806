"""Request bodies of the billing routes: unknown fields refused, amounts JSON integers."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, StrictBool, StrictInt, StrictStr

from sunap.application.billing_commands import (
    CancelSubscription,
    ChangeSubscription,
    ChargeBillingKey,
    CreateSubscription,
    IssueBillingKey,
)
from sunap.domain.money import require_amount, require_tax_free_amount
from sunap.domain.periods import Interval

from .schemas import CUSTOMER_KEY, ORDER_ID, Body, MetadataValue, TaxFreeAmount, Token

Metadata = Annotated[dict[Annotated[str, Field(max_length=40)], MetadataValue], Field(max_length=5)]
Id = Annotated[StrictStr, Field(pattern=r"^[A-Za-z0-9_\-]{1,64}$")]
Name = Annotated[StrictStr, Field(min_length=1, max_length=100)]


class IssueBillingKeyBody(Body):
    authKey: Annotated[Token, Field(min_length=1, max_length=300)]
    customerKey: Annotated[StrictStr, Field(pattern=CUSTOMER_KEY)]

    def command(self, tenant_id: str, pg_account_id: str) -> IssueBillingKey:
        return IssueBillingKey(tenant_id, pg_account_id, self.authKey, self.customerKey)


class ChargeBillingKeyBody(Body):
    orderName: Name
    amount: StrictInt
    orderId: Annotated[StrictStr, Field(pattern=ORDER_ID)] | None = None
    taxFreeAmount: TaxFreeAmount | None = None
    metadata: Metadata | None = None

    def command(self, tenant_id: str, billing_key_id: str) -> ChargeBillingKey:
        return ChargeBillingKey(
            tenant_id=tenant_id,
            billing_key_id=billing_key_id,
            order_name=self.orderName,
            amount=require_amount(self.amount),
            order_id=self.orderId,
            metadata=self.metadata,
            tax_free_amount=(
                0 if self.taxFreeAmount is None else require_tax_free_amount(self.taxFreeAmount)
            ),
        )


class CreateSubscriptionBody(Body):
    customerKey: Annotated[StrictStr, Field(pattern=CUSTOMER_KEY)]
    billingKeyId: Id
    plan: Name
    orderName: Name
    amount: StrictInt
    interval: Literal["day", "week", "month", "year"]
    intervalCount: Annotated[StrictInt, Field(ge=1, le=365)] = 1
    trialDays: Annotated[StrictInt, Field(ge=0, le=730)] = 0
    metadata: Metadata | None = None

    def command(self, tenant_id: str) -> CreateSubscription:
        return CreateSubscription(
            tenant_id=tenant_id,
            customer_key=self.customerKey,
            billing_key_id=self.billingKeyId,
            plan=self.plan,
            order_name=self.orderName,
            amount=require_amount(self.amount),
            interval=Interval(self.interval),
            interval_count=self.intervalCount,
            trial_days=self.trialDays,
            metadata=self.metadata,
        )


class ChangeSubscriptionBody(Body):
    plan: Name | None = None
    amount: StrictInt | None = None
    orderName: Name | None = None
    billingKeyId: Id | None = None
    metadata: Metadata | None = None

    def command(self, tenant_id: str, sub_id: str) -> ChangeSubscription:
        return ChangeSubscription(
            tenant_id=tenant_id,
            subscription_id=sub_id,
            plan=self.plan,
            amount=None if self.amount is None else require_amount(self.amount),
            order_name=self.orderName,
            billing_key_id=self.billingKeyId,
            metadata=self.metadata,
        )


class NoFieldsBody(Body):
    """The body of a call that takes none (pause, resume): absent, or `{}`. Any field in it is
    refused, as everywhere, rather than silently ignored."""


class CancelSubscriptionBody(Body):
    cancelReason: Annotated[StrictStr, Field(min_length=1, max_length=200)] | None = None
    atPeriodEnd: StrictBool = True

    def command(self, tenant_id: str, sub_id: str) -> CancelSubscription:
        return CancelSubscription(tenant_id, sub_id, self.cancelReason, self.atPeriodEnd)
