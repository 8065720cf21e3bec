# Only what SRS uses: the package's location, __file__ (its bin/ holds the redis-server binary).
