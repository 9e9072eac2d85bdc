"""Fusion at every node: partners' and own local tracks into system tracks.

* :mod:`align`: states brought to the fusion time with the ballistic dynamics;
* :mod:`ci`: split covariance intersection (what each nation measured is its own; what trackers assume of the motion may be shared);
* :mod:`system_tracks`: association held across steps, and names the same at every node.
"""

from warnlink.fusion.ci import ci_pair, covariance_intersection, split_covariance_intersection
from warnlink.fusion.system_tracks import Fusion, SystemTrack

__all__ = ["Fusion", "SystemTrack", "ci_pair", "covariance_intersection", "split_covariance_intersection"]
