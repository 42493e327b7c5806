"""The ceiling for bench/load.py: a bare FastAPI app on the same uvicorn settings as `sunap serve`,
a POST with a pydantic body (what a confirm's door costs at the least) and a GET of one item.

    .venv/bin/python -m uvicorn bench.ceiling_app:app --loop uvloop --http httptools
"""

from __future__ import annotations

from fastapi import FastAPI
from pydantic import BaseModel, Field

# With FastAPI's own OpenTelemetry layer off, as `sunap serve` has it.
app = FastAPI(telemetry={"tracing": False, "metrics": False, "logs": False})


class ConfirmBody(BaseModel):
    paymentKey: str = Field(min_length=1, max_length=200)
    orderId: str = Field(min_length=6, max_length=64)
    amount: int = Field(gt=0)


@app.post("/v1/payments/confirm")
async def confirm(body: ConfirmBody) -> dict[str, object]:
    return {"paymentKey": body.paymentKey, "orderId": body.orderId, "amount": body.amount}


@app.get("/v1/payments/{payment_id}")
async def get_one(payment_id: str) -> dict[str, object]:
    return {"id": payment_id, "status": "DONE", "amount": 15000}
