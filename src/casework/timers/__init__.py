"""Durable timers: when they are due (`calendar`), their rows (`store`), and the sweep that fires
them through the engine (`sweep`). What runs the sweep is the service (`casework.service`)."""
