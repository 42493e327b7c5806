"""The gRPC door: `sunap.v1.PaymentService` (proto/sunap/v1/payments.proto) over the same use
cases, keys, idempotency and error registry as HTTP, served beside it by `sunap serve`."""
