"""Registration without a connection: the installable app, the device's key and the sync.

The browser side is srs/static/js/offline.js (device store, checks, sync) and sw.js (the service
worker, which caches the app's shell and static files only, never a person's data).
"""
