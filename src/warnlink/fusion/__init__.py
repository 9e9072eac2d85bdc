"""Fusion at every node: partners' and own local tracks into system tracks.

* :mod:`align`: states brought to the fusion time with the ballistic dynamics;
* :mod:`ci`: covariance intersection (partners' errors are correlated by unknown amounts);
* :mod:`system_tracks`: association held across steps, and names the same at every node.
"""

from warnlink.fusion.ci import ci_pair, covariance_intersection
from warnlink.fusion.system_tracks import Fusion, SystemTrack

__all__ = ["Fusion", "SystemTrack", "ci_pair", "covariance_intersection"]
