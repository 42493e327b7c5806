"""Ports: what the use cases need from the outside world, as Protocols the adapters fulfil,
one module per port (the PG's is `gateway`, Toss's webhook vocabulary `webhook_format`)."""
