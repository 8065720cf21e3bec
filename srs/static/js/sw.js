/* SRS service worker: the offline shells and static files, never a person's data.
   SRS_OFFLINE (version, shells, assets) is written above this by the server (/sw.js). */
"use strict";
const CACHE = "srs-shell-" + SRS_OFFLINE.version;

self.addEventListener("install", (event) => {
  // credentials "omit": a shell fetched without the session is the same page for everyone.
  event.waitUntil(
    caches.open(CACHE)
      .then((cache) => cache.addAll(SRS_OFFLINE.assets.map((url) => new Request(url, { credentials: "omit" }))))
      .then(() => self.skipWaiting())
  );
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    caches.keys()
      .then((keys) => Promise.all(keys.filter((k) => k.startsWith("srs-shell-") && k !== CACHE).map((k) => caches.delete(k))))
      .then(() => self.clients.claim())
  );
});

self.addEventListener("fetch", (event) => {
  const request = event.request;
  if (request.method !== "GET") return;
  const url = new URL(request.url);
  if (url.origin !== self.location.origin || !SRS_OFFLINE.assets.includes(url.pathname)) {
    return; // everything else (pages with data, JSON) goes to the network only and is never cached
  }
  // Network first for the shells (a new version shows at once), the cache when there is none.
  event.respondWith(
    fetch(new Request(url.pathname, { credentials: "omit" }))
      .then((response) => {
        if (response.ok) {
          const copy = response.clone();
          caches.open(CACHE).then((cache) => cache.put(url.pathname, copy));
        }
        return response;
      })
      .catch(() => caches.match(url.pathname).then((hit) => hit || Response.error()))
  );
});
