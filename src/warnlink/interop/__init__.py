"""Outputs for the tools users already run: GeoJSON, KML and CZML exports of a run."""
