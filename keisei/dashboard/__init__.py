"""`keisei dashboard`: a read-only web view over run directories (see keisei.dashboard.app)."""
