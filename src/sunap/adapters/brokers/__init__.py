"""Event publishers and message subscribers for real brokers, chosen by `SUNAP_BROKER_URL`.

`factory.publisher_from_url` / `factory.subscriber_from_url` pick the adapter; each broker lives in
its own module (kafka, rabbitmq, jetstream, redis_streams) and `log` is the embedded default.
"""
