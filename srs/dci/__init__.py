"""The DCI Social Registry server: /dci/registry/..., its partner systems, callbacks and events."""
