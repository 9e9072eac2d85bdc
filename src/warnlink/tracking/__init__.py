"""Local tracking of one nation's sensor reports: filters, association, track management."""
