"""Settings and the contract files (policies and customers)."""
