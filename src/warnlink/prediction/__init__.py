"""Prediction from a system track: impact point and time with a calibrated ellipse, launch point, class.

* :mod:`impact`: the instantaneous impact point (where the missile would come down if
  no motor burned from now on) by unscented propagation of the state and an uncertain
  ballistic coefficient through the same dynamics as the truth.
* :mod:`launch_point`: the launch point, back-extrapolated from an early boost state.
* :mod:`classify`: class by minimum-energy range, lofted or not.
"""

from warnlink.prediction.classify import Classification, classify_track
from warnlink.prediction.impact import ImpactPrediction, predict_impacts
from warnlink.prediction.launch_point import LaunchPointEstimate, estimate_launch_point

__all__ = [
    "Classification", "ImpactPrediction", "LaunchPointEstimate", "classify_track", "estimate_launch_point",
    "predict_impacts",
]
