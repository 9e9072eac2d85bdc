"""Warning: threat probabilities per area, alert lifecycle, CAP 1.2 messages.

A node wires it like this, once per step::

    areas = areas_from_config(scenario.areas, base_dir)        # once
    manager = AlertManager(nation, areas, sender_id, epoch_utc_ns)
    ...
    preds = [assess_track(trk.id, manager.areas, lat_rad, lon_rad, cov_en_m2,
                          impact_time_s, impact_time_sigma_s,
                          ground_lat_rad, ground_lon_rad, ground_t_s, ended=trk.impacted)
             for trk in system_tracks]
    for event in manager.step(t_s, preds):
        write_cap(event, out_dir / "alerts")

Modules: areas (Area, loading), geo (tangent plane, ellipses), probability (impact and
overflight probabilities, truth helpers), assess (prediction -> TrackPrediction),
lifecycle (AlertManager), cap (CAP 1.2 XML).
"""

from warnlink.warning.areas import Area, AreaError, areas_from_config, load_geojson_geometry
from warnlink.warning.assess import assess_track, lateral_sigma_profile_m
from warnlink.warning.cap import to_cap_xml, write_cap
from warnlink.warning.geo import Ellipse
from warnlink.warning.lifecycle import (
    AlertEvent,
    AlertManager,
    LifecycleConfig,
    MessageRef,
    TrackPrediction,
    alert_id_for,
)
from warnlink.warning.probability import (
    area_hit_by_truth,
    impact_probabilities,
    impact_probability,
    overflight_probability,
    truth_impact_in_area,
    truth_overflight_entry_s,
)

__all__ = [
    "AlertEvent", "AlertManager", "Area", "AreaError", "Ellipse", "LifecycleConfig",
    "assess_track", "lateral_sigma_profile_m",
    "MessageRef", "TrackPrediction", "alert_id_for", "area_hit_by_truth", "areas_from_config",
    "impact_probabilities", "impact_probability", "load_geojson_geometry",
    "overflight_probability", "to_cap_xml", "truth_impact_in_area", "truth_overflight_entry_s",
    "write_cap",
]
