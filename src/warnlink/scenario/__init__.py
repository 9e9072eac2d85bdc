"""Scenarios: files, truth flights and sensor models."""
