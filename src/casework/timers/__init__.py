"""Durable timers: when they are due (`calendar`), their rows (`store`), the sweep that fires
them through the engine (`sweep`), and the service that runs the sweep (`service`)."""
