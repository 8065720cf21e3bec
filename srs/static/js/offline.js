/* SRS offline: the device store (IndexedDB, AES-GCM), the form's checks from the server's field
   table, and the sync. Loaded by the offline shells and by every page (to install the service
   worker and to wipe the store at sign-out). */
(function () {
  "use strict";
  var DB_NAME = "srs-offline";
  var dbPromise = null;
  var memoryKey = null;

  // --- IndexedDB -------------------------------------------------------------------------------
  function openDb() {
    if (!dbPromise) {
      dbPromise = new Promise(function (resolve, reject) {
        var req = indexedDB.open(DB_NAME, 1);
        req.onupgradeneeded = function () {
          req.result.createObjectStore("meta");
          req.result.createObjectStore("items", { keyPath: "key" });
        };
        req.onsuccess = function () { resolve(req.result); };
        req.onerror = function () { reject(req.error); };
      });
    }
    return dbPromise;
  }
  function tx(store, mode, fn) {
    return openDb().then(function (db) {
      return new Promise(function (resolve, reject) {
        var t = db.transaction(store, mode);
        var result = fn(t.objectStore(store));
        t.oncomplete = function () { resolve(result && "result" in result ? result.result : result); };
        t.onerror = function () { reject(t.error); };
      });
    });
  }
  function metaGet(name) { return tx("meta", "readonly", function (s) { return s.get(name); }); }
  function metaSet(name, value) { return tx("meta", "readwrite", function (s) { s.put(value, name); }); }
  function metaDelete(name) { return tx("meta", "readwrite", function (s) { s.delete(name); }); }
  function allItems() { return tx("items", "readonly", function (s) { return s.getAll(); }); }
  function putItem(item) { return tx("items", "readwrite", function (s) { s.put(item); }); }
  function getItem(key) { return tx("items", "readonly", function (s) { return s.get(key); }); }
  function deleteItem(key) { return tx("items", "readwrite", function (s) { s.delete(key); }); }

  function wipe() {
    memoryKey = null;
    var closing = dbPromise ? dbPromise.then(function (db) { db.close(); }) : Promise.resolve();
    dbPromise = null;
    return closing.then(function () {
      return new Promise(function (resolve) {
        var req = indexedDB.deleteDatabase(DB_NAME);
        req.onsuccess = req.onerror = req.onblocked = function () { resolve(); };
      });
    });
  }

  function deviceId() {
    return metaGet("device").then(function (id) {
      if (id) return id;
      id = crypto.randomUUID();
      return metaSet("device", id).then(function () { return id; });
    });
  }

  // --- the session and the key -------------------------------------------------------------------
  var session = null;
  function fetchSession() {
    return deviceId().then(function (device) {
      return fetch("/offline/session?device_id=" + encodeURIComponent(device), { credentials: "same-origin", cache: "no-store" });
    }).then(function (r) { return r.json(); }).then(function (data) {
      session = data;
      if (!data.signed_in && data.wipe) return wipe().then(function () { return data; });
      return data;
    });
  }
  function post(url, body) {
    return fetch(url, {
      method: "POST", credentials: "same-origin", cache: "no-store",
      headers: { "Content-Type": "application/json", "X-CSRFToken": session ? session.csrf_token : "" },
      body: JSON.stringify(body)
    });
  }
  function b64ToBytes(text) {
    var s = atob(text.replace(/-/g, "+").replace(/_/g, "/") + "===".slice((text.length + 3) % 4));
    var out = new Uint8Array(s.length);
    for (var i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
    return out;
  }
  // The key: fetched while the session is valid, imported non-extractable, kept until the session's
  // longest life has passed. Without it nothing stored can be read or written.
  function getKey() {
    if (memoryKey && memoryKey.until > Date.now()) return Promise.resolve(memoryKey.key);
    return metaGet("key").then(function (stored) {
      if (stored && stored.until > Date.now() && (!session || !session.signed_in || stored.user === session.user)) {
        memoryKey = stored;
        return stored.key;
      }
      if (stored) metaDelete("key");
      if (!session || !session.signed_in || !session.may_register) return null;
      return deviceId().then(function (device) {
        return post("/offline/key", { device_id: device });
      }).then(function (r) {
        if (r.status === 403) return wipe().then(function () { return null; });
        if (!r.ok) return null;
        return r.json().then(function (data) {
          return crypto.subtle.importKey("raw", b64ToBytes(data.key), { name: "AES-GCM" }, false, ["encrypt", "decrypt"]);
        }).then(function (key) {
          var entry = { key: key, user: session.user, until: Date.now() + session.key_hours * 3600 * 1000 };
          memoryKey = entry;
          return metaSet("key", entry).then(function () { return key; });
        });
      });
    });
  }
  function encrypt(key, value) {
    var iv = crypto.getRandomValues(new Uint8Array(12));
    var data = new TextEncoder().encode(JSON.stringify(value));
    return crypto.subtle.encrypt({ name: "AES-GCM", iv: iv }, key, data).then(function (sealed) {
      return { iv: iv, data: sealed };
    });
  }
  function decrypt(key, box) {
    return crypto.subtle.decrypt({ name: "AES-GCM", iv: box.iv }, key, box.data).then(function (plain) {
      return JSON.parse(new TextDecoder().decode(plain));
    });
  }

  // --- the checks, from the field table ------------------------------------------------------------
  var S = {};
  function t(name, params) {
    var text = S[name] || name;
    Object.keys(params || {}).forEach(function (k) { text = text.split("{" + k + "}").join(String(params[k])); });
    return text;
  }
  function today() { var d = new Date(); return new Date(Date.UTC(d.getFullYear(), d.getMonth(), d.getDate())); }
  function parseDate(text) {
    if (!/^\d{4}-\d{2}-\d{2}$/.test(text)) return null;
    var d = new Date(text + "T00:00:00Z");
    return isNaN(d) || d.toISOString().slice(0, 10) !== text ? null : d;
  }
  function empty(v) { return v === null || v === undefined || (typeof v === "string" && !v.trim()); }
  function add(errors, name, message) { (errors[name] = errors[name] || []).push(message); }

  function checkIdNumber(rules, raw, birth, sex) {
    var number = raw.replace(new RegExp(rules.separators, "g"), "");
    if (!new RegExp(rules.pattern).test(number)) return [t("id_length", { n: rules.length })];
    var problems = [];
    var female = null;
    rules.parts.forEach(function (part) {
      var text = number.slice(part.digits[0] - 1, part.digits[1]);
      var value = parseInt(text, 10);
      var bad = (part.allowed && part.allowed.indexOf(value) < 0) || (part.not && part.not.indexOf(text) >= 0) ||
        (part.range && (value < part.range[0] || value > part.range[1]));
      if (part.ranges) {
        var inMale = value >= part.ranges.male[0] && value <= part.ranges.male[1];
        var inFemale = value >= part.ranges.female[0] && value <= part.ranges.female[1];
        bad = bad || (!inMale && !inFemale);
        if (inFemale) female = true; else if (inMale) female = false;
        if (birth && (value - (inFemale ? part.female_offset : 0)) !== birth.getUTCDate()) bad = true;
      }
      if (part.century_base !== undefined) {
        female = value % 2 === 1;
        if (birth && part.century_base + Math.floor(value / 2) * 100 !== Math.floor(birth.getUTCFullYear() / 100) * 100) bad = true;
      }
      if (birth && part.matches === "date_of_birth.month" && value !== birth.getUTCMonth() + 1) bad = true;
      if (birth && part.matches === "date_of_birth.year % 100" && value !== birth.getUTCFullYear() % 100) bad = true;
      if (bad) problems.push(t("id_part", { from: part.digits[0], to: part.digits[1], part: part.name.replace(/_/g, " "), value: text }));
    });
    if (!problems.length && female !== null && (sex === "female" || sex === "male") && (sex === "female") !== female) {
      problems.push(t("id_sex"));
    }
    return problems;
  }
  // ``country``'s rules for a national number; a number typed with + is read by its calling code (as
  // the server does). A calling code SRS has no rules for is left to the server's check.
  function checkPhone(allRules, country, raw) {
    var digits = raw.replace(/[\s().\-\/]/g, "");
    var rules = allRules[country];
    var national = digits;
    if (digits.charAt(0) === "+") {
      rules = null;
      Object.keys(allRules).forEach(function (c) {
        if (digits.slice(1, 1 + allRules[c].calling_code.length) === allRules[c].calling_code) rules = allRules[c];
      });
      if (!rules) return /^\+\d{7,15}$/.test(digits);
      national = digits.slice(1 + rules.calling_code.length);
    } else if (!rules) {
      return true;
    } else if (rules.national_prefix && digits.indexOf(rules.national_prefix) === 0) {
      national = digits.slice(rules.national_prefix.length);
    }
    if (!/^\d+$/.test(national) || rules.lengths.indexOf(national.length) < 0) return false;
    return rules.patterns.some(function (p) { return new RegExp("^(?:" + p + ")$").test(national); });
  }

  // The same checks as srs/registry/validation.py, read from the table; the server checks again.
  function validate(table, body) {
    var errors = {};
    var byName = {};
    table.items.forEach(function (f) { byName[f.name] = f; });
    var birth = body.date_of_birth ? parseDate(body.date_of_birth) : null;
    var region = table.regions.filter(function (r) { return r.code === body.region_code; })[0];
    table.items.forEach(function (f) {
      var v = body[f.name];
      if (f.type === "consent") {
        if (!v || typeof v.given !== "boolean") { add(errors, f.name, t("required")); return; }
        if (v.given) {
          var cd = parseDate(v.date || "");
          if (!cd) add(errors, "consent.date", t(v.date ? "date" : "required"));
          else if (cd > today()) add(errors, "consent.date", t("future"));
          else if (birth && cd < birth) add(errors, "consent.date", t("consent_before_birth"));
          if (empty(v.scope)) add(errors, "consent.scope", t("required"));
          else if (f.max_length && v.scope.trim().length > f.max_length) add(errors, "consent.scope", t("too_long", { n: f.max_length }));
        }
        return;
      }
      if (empty(v) || (Array.isArray(v) && !v.length)) {
        if (f.required) add(errors, f.name, t("required"));
        if (f.type === "id_number" && body.id_type && body.id_type !== "none") add(errors, f.name, t("id_missing"));
        return;
      }
      if (typeof v === "string" && f.max_length && v.trim().replace(/\s+/g, " ").length > f.max_length) {
        add(errors, f.name, t("too_long", { n: f.max_length }));
      }
      var values = f.choices.map(function (c) { return c.value; });
      if ((f.type === "choice" || f.type === "id_type") && values.indexOf(v) < 0) add(errors, f.name, t("choose"));
      if (f.type === "region" && !region) add(errors, f.name, t("choose"));
      if (f.type === "integer") {
        var n = /^\d+$/.test(String(v).trim()) ? parseInt(v, 10) : NaN;
        var lo = f.min === null ? 0 : f.min;
        if (isNaN(n) || n < lo || (f.max !== null && n > f.max)) add(errors, f.name, t("whole_number", { min: lo, max: f.max }));
      }
      if (f.type === "date" || f.type === "birth_date") {
        var d = parseDate(v);
        if (!d) add(errors, f.name, t("date"));
        else if (d > today()) add(errors, f.name, t("future"));
        else if (f.max_age) {
          var now = today();
          var age = now.getUTCFullYear() - d.getUTCFullYear() -
            ((now.getUTCMonth() < d.getUTCMonth() || (now.getUTCMonth() === d.getUTCMonth() && now.getUTCDate() < d.getUTCDate())) ? 1 : 0);
          if (age > f.max_age) add(errors, f.name, t("too_old", { n: f.max_age }));
        }
      }
      if (f.type === "boolean" && v === true && f.only_for_sex && body.sex && body.sex !== f.only_for_sex) add(errors, f.name, t("pregnant"));
      if (f.type === "id_number") {
        var rules = f.id_rules[body.id_type];
        if (rules) checkIdNumber(rules, v, birth, body.sex).forEach(function (m) { add(errors, f.name, m); });
        else if (body.id_type === "none") add(errors, f.name, t("id_none"));
      }
      if (f.type === "phone") {
        var country = region ? region.country : "ID";
        if (!checkPhone(f.phone_rules, country, v)) add(errors, f.name, t("phone", { country: country }));
      }
      if (f.type === "codes") {
        var re = new RegExp(f.pattern);
        v.forEach(function (code) { if (!re.test(code)) add(errors, f.name, t("code", { item: code })); });
      }
    });
    return errors;
  }

  // --- the form ---------------------------------------------------------------------------------
  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) { node.setAttribute(k, attrs[k]); });
    (children || []).forEach(function (c) { node.appendChild(typeof c === "string" ? document.createTextNode(c) : c); });
    return node;
  }
  function select(name, options) {
    return el("select", { name: name, id: "f-" + name }, options.map(function (o) { return el("option", { value: o[0] }, [o[1]]); }));
  }
  function widget(f, table) {
    if (f.type === "consent") {
      return el("div", {}, [
        el("label", {}, [el("input", { type: "checkbox", name: "consent_given", id: "f-consent_given" }), " " + t("consent_given")]),
        el("label", { for: "f-consent_date" }, [t("consent_date")]), el("input", { type: "date", name: "consent_date", id: "f-consent_date" }),
        el("label", { for: "f-consent_scope" }, [t("consent_scope")]), el("input", { name: "consent_scope", id: "f-consent_scope" })
      ]);
    }
    if (f.type === "choice" || f.type === "id_type") {
      var opts = f.choices.map(function (c) { return [c.value, c.label]; });
      if (f.default === null) opts.unshift(["", t("choose_blank")]);
      return select(f.name, opts);
    }
    if (f.type === "boolean") return select(f.name, [["", t("unknown")], ["yes", t("yes")], ["no", t("no")]]);
    if (f.type === "region") {
      return select(f.name, [["", t("choose_blank")]].concat(table.regions.map(function (r) {
        return [r.code, new Array(r.depth + 1).join("· ") + r.name + " (" + r.code + ")"];
      })));
    }
    var type = (f.type === "date" || f.type === "birth_date") ? "date" : f.type === "phone" ? "tel" : "text";
    return el("input", { type: type, name: f.name, id: "f-" + f.name, autocomplete: "off" });
  }
  function drawForm(form, table) {
    var box = form.querySelector("[data-fields]");
    box.textContent = "";
    table.items.forEach(function (f) {
      var row = el("div", { class: "field", "data-field": f.name }, [
        el("label", { for: "f-" + f.name }, [f.label + (f.required ? " *" : "")]), widget(f, table),
        el("p", { class: "field-error", "data-errors": f.name })
      ]);
      if (f.description) row.appendChild(el("p", { class: "hint" }, [f.description]));
      box.appendChild(row);
    });
  }
  function readForm(form, table) {
    var body = {};
    table.items.forEach(function (f) {
      if (f.type === "consent") {
        body.consent = { given: form.elements.consent_given.checked, date: form.elements.consent_date.value || null, scope: form.elements.consent_scope.value || null };
        return;
      }
      var value = form.elements[f.name].value;
      if (f.type === "boolean") value = value === "" ? null : value === "yes";
      else if (f.type === "codes") value = value.split(/[;,]/).map(function (s) { return s.trim(); }).filter(Boolean);
      else if (f.type === "integer") value = value.trim() === "" ? null : (/^\d+$/.test(value.trim()) ? parseInt(value, 10) : value);
      else if (value === "") value = null;
      body[f.name] = value;
    });
    var rows = form.querySelectorAll(".member-row");
    if (rows.length || document.body.dataset.offlineView === "household") {
      body.household = { "new": true, members: Array.prototype.map.call(rows, function (row) {
        return { full_name: row.querySelector("[name=m_full_name]").value, relationship_to_head: row.querySelector("[name=m_relationship_to_head]").value,
          sex: row.querySelector("[name=m_sex]").value || null, date_of_birth: row.querySelector("[name=m_date_of_birth]").value || null };
      }) };
    }
    return body;
  }
  function showErrors(form, errors) {
    form.querySelectorAll("[data-errors]").forEach(function (p) { p.textContent = ""; });
    Object.keys(errors).forEach(function (name) {
      var target = form.querySelector('[data-errors="' + name.split(".")[0] + '"]');
      if (target) target.textContent += errors[name].join(" ") + " ";
    });
  }
  function problem(text) {
    var box = document.querySelector("[data-testid=offline-problem]");
    if (!box) return;
    box.textContent = text || "";
    box.hidden = !text;
  }

  function loadTable() {
    if (!navigator.onLine) return metaGet("fields");
    return fetch("/offline/fields", { credentials: "same-origin", cache: "no-store" }).then(function (r) {
      if (!r.ok || (r.headers.get("Content-Type") || "").indexOf("json") < 0) return metaGet("fields");
      return r.json().then(function (table) { return metaSet("fields", table).then(function () { return table; }); });
    }).catch(function () { return metaGet("fields"); });
  }

  // --- editing a kept record offline --------------------------------------------------------------
  function same(f, a, b) {
    if (f.type === "consent") {
      a = a || {}; b = b || {};
      return !!a.given === !!b.given && (a.date || null) === (b.date || null) && (a.scope || null) === (b.scope || null);
    }
    return JSON.stringify(a === undefined ? null : a) === JSON.stringify(b === undefined ? null : b);
  }
  function fillForm(form, table, values) {
    table.items.forEach(function (f) {
      var v = values[f.name];
      if (f.type === "consent") {
        v = v || {};
        form.elements.consent_given.checked = !!v.given;
        form.elements.consent_date.value = v.date || "";
        form.elements.consent_scope.value = v.scope || "";
        return;
      }
      if (f.type === "boolean") v = v === true ? "yes" : v === false ? "no" : "";
      else if (f.type === "codes") v = (v || []).join(", ");
      form.elements[f.name].value = v === null || v === undefined ? "" : String(v);
    });
  }
  // The record to edit: fetched while online (an audited read) and kept encrypted, or read from the store.
  function loadRecord(clientId) {
    return getKey().then(function (key) {
      if (!key) return null;
      var name = "record:" + clientId;
      var fromStore = function () { return metaGet(name).then(function (box) { return box ? decrypt(key, box) : null; }); };
      if (!navigator.onLine) return fromStore();
      return fetch("/offline/clients/" + encodeURIComponent(clientId), { credentials: "same-origin", cache: "no-store" }).then(function (r) {
        if (!r.ok || (r.headers.get("Content-Type") || "").indexOf("json") < 0) return fromStore();
        return r.json().then(function (record) {
          return encrypt(key, record).then(function (box) { return metaSet(name, box); }).then(function () { return record; });
        });
      }).catch(fromStore);
    });
  }
  function storeItem(record) {
    return getKey().then(function (key) {
      if (!key) { problem(t("no_key")); return false; }
      return encrypt(key, record).then(function (box) {
        return putItem({ key: record.key, state: "pending", box: box });
      }).then(function () { return true; });
    });
  }

  var saving = false;
  function setupForm(form) {
    var editing = document.body.dataset.offlineView === "edit";
    return loadTable().then(function (table) {
      if (!table) { problem(t("no_key")); return; }
      drawForm(form, table);
      var fixing = /^#fix=/.test(location.hash) ? decodeURIComponent(location.hash.slice(5)) : null;
      if (fixing) {
        // A refused registration back in the form: fixed, it goes out under a new key (the old key's
        // answer stays the refusal), and the refused copy is dropped.
        return Promise.all([getKey(), getItem(fixing)]).then(function (both) {
          if (!both[0] || !both[1]) return table;
          return decrypt(both[0], both[1].box).then(function (record) {
            fillForm(form, table, record.body);
            form.srsFixing = fixing;
            return table;
          });
        });
      }
      if (!editing) return table;
      return loadRecord(location.hash.slice(1)).then(function (record) {
        if (!record) { problem(t("no_record")); return table; }
        fillForm(form, table, record.values);
        form.dataset.clientId = record.client_id;
        form.srsRecord = record;
        return table;
      });
    }).then(function (table) {
      if (!table) return;
      var add = form.querySelector("[data-add-member]");
      if (add) add.addEventListener("click", function () {
        var tpl = form.querySelector("[data-member-template]");
        add.parentNode.insertBefore(tpl.content.cloneNode(true), add);
      });
      form.addEventListener("submit", function (event) {
        event.preventDefault();
        if (saving) return; // a second tap while the first is saved
        var body = readForm(form, table);
        var errors = validate(table, body);
        showErrors(form, errors);
        if (Object.keys(errors).length) { problem(t("fix")); return; }
        var record = { key: crypto.randomUUID(), recorded_at: new Date().toISOString(), op: "client.create", body: body, result: null };
        if (editing) {
          var kept = form.srsRecord;
          if (!kept) { problem(t("no_record")); return; }
          var changes = {}, base = {};
          table.items.forEach(function (f) {
            if (!same(f, body[f.name], kept.values[f.name])) { changes[f.name] = body[f.name]; base[f.name] = kept.values[f.name]; }
          });
          record.op = "client.update";
          record.display = kept.values.full_name;
          record.body = { client_id: kept.client_id, version: kept.version, base: base, changes: changes };
          if (!Object.keys(changes).length) return;
        }
        saving = true;
        form.querySelector("[data-testid=offline-save]").disabled = true;
        storeItem(record).then(function (stored) {
          if (!stored) return;
          return Promise.resolve(form.srsFixing ? deleteItem(form.srsFixing) : null).then(function () {
            form.srsFixing = null;
            if (!editing) form.reset();
            form.querySelectorAll(".member-row").forEach(function (r) { r.remove(); });
            problem("");
            document.querySelector("[data-testid=saved-note]").hidden = false;
            if (navigator.onLine) return sync();
          });
        }).finally(function () {
          saving = false;
          form.querySelector("[data-testid=offline-save]").disabled = false;
        });
      });
    });
  }

  // --- sync ---------------------------------------------------------------------------------------
  var syncing = null;
  // A sync that could not finish for a passing reason is tried again by itself, a little later:
  // "in_progress" (the same record is being run right now: another tab, a sync its page left), an
  // answer of 5xx or 429, the connection dropped, or the session not fetched. AGAIN marks those.
  var AGAIN = "again";
  var retries = 0;
  function sync() {
    if (syncing) return syncing;
    syncing = doSync().then(function (outcome) {
      if (outcome === AGAIN && retries < 10) {
        retries += 1;
        setTimeout(function () {
          if (!navigator.onLine) return;
          (session ? Promise.resolve() : fetchSession().catch(function () { return null; })).then(sync);
        }, 1500 * retries);
      } else if (outcome !== AGAIN) {
        retries = 0;
      }
    }).finally(function () { syncing = null; renderPending(); });
    return syncing;
  }
  function doSync() {
    return getKey().then(function (key) {
      if (!session) return navigator.onLine ? AGAIN : null;
      if (!key || !session.signed_in) return null;
      return allItems().then(function (items) {
        var waiting = items.filter(function (i) { return i.state === "pending" || i.state === "error" || i.state === "in_progress"; });
        if (!waiting.length) return null;
        return Promise.all(waiting.map(function (i) { return decrypt(key, i.box); })).then(function (records) {
          var ops = records.slice(0, 50).map(function (r) { return { key: r.key, op: r.op || "client.create", recorded_at: r.recorded_at, body: r.body }; });
          return post("/offline/sync", { operations: ops }).then(function (response) {
            if (!response.ok) return response.status >= 500 || response.status === 429 ? AGAIN : null;
            return response.json().then(function (answer) {
              return Promise.all(answer.results.map(function (result, index) {
                var record = records[index];
                record.result = result;
                var state = result.outcome;
                if (state === "created" || state === "probable_duplicate" || state === "updated") {
                  record.body = { full_name: record.display || record.body.full_name };
                }
                return encrypt(key, record).then(function (box) { return putItem({ key: record.key, state: state, box: box }); });
              })).then(function () {
                return answer.results.some(function (result) { return result.outcome === "in_progress"; }) ? AGAIN : null;
              });
            });
          }, function () { return AGAIN; });  // the connection dropped: nothing was answered
        });
      });
    }).catch(function () { return null; });
  }

  function renderPending() {
    var table = document.querySelector("[data-testid=pending-list] tbody");
    if (!table) return Promise.resolve();
    return Promise.all([getKey(), allItems()]).then(function (both) {
      var key = both[0], items = both[1];
      if (!key) { if (items.length) problem(t("signed_out")); return; }
      return Promise.all(items.map(function (i) { return decrypt(key, i.box).then(function (r) { return [i, r]; }); })).then(function (rows) {
        table.textContent = "";
        var done = 0;
        rows.sort(function (a, b) { return a[1].recorded_at < b[1].recorded_at ? -1 : 1; }).forEach(function (pair) {
          var item = pair[0], record = pair[1];
          var state = item.state === "pending" ? t("pending") : t(item.state);
          var cell = el("td", { "data-testid": "state" }, [state]);
          var result = record.result || {};
          if (result.link) { done += 1; cell.appendChild(document.createTextNode(" ")); cell.appendChild(el("a", { href: result.link }, [t("open")])); }
          if (result.existing_link) { cell.appendChild(document.createTextNode(" ")); cell.appendChild(el("a", { href: result.existing_link }, [t("open")])); }
          if (result.errors && item.state !== "created" && item.state !== "probable_duplicate") {
            cell.appendChild(el("span", { class: "field-error" }, [" " + Object.keys(result.errors).map(function (k) { return k + ": " + result.errors[k].join(" "); }).join("; ")]));
          }
          if ((item.state === "refused" || item.state === "id_taken") && (record.op || "client.create") === "client.create") {
            cell.appendChild(document.createTextNode(" "));
            cell.appendChild(el("a", { href: "/offline/#fix=" + encodeURIComponent(item.key), "data-testid": "fix" }, [t("edit")]));
            var discard = el("button", { type: "button", "data-testid": "discard" }, [t("discard")]);
            discard.addEventListener("click", function () { deleteItem(item.key).then(renderPending); });
            cell.appendChild(document.createTextNode(" "));
            cell.appendChild(discard);
          }
          if (item.state === "conflict" && result.conflicts) {
            var choose = el("button", { type: "button", "data-testid": "choose" }, [t("resolve")]);
            choose.addEventListener("click", function () { showConflict(record); });
            cell.appendChild(document.createTextNode(" "));
            cell.appendChild(choose);
          }
          table.appendChild(el("tr", { "data-testid": "pending-row", "data-state": item.state }, [
            el("td", {}, [record.display || record.body.full_name || ""]), el("td", {}, [new Date(record.recorded_at).toLocaleString()]), cell
          ]));
        });
        var summary = document.querySelector("[data-testid=sync-summary]");
        if (summary) summary.textContent = t("summary", { n: rows.length - done, done: done });
      });
    });
  }

  // Both values per field; the officer's choice goes out as a new edit from the server's version.
  function showConflict(record) {
    var view = document.querySelector("[data-testid=conflict-view]");
    var body = view.querySelector("tbody");
    var conflicts = record.result.conflicts;
    body.textContent = "";
    Object.keys(conflicts).forEach(function (name) {
      var c = conflicts[name];
      var shown = function (v) { return v === null || v === undefined ? "—" : typeof v === "object" ? JSON.stringify(v) : String(v); };
      body.appendChild(el("tr", { "data-field": name }, [
        el("td", {}, [name]),
        el("td", {}, [el("label", {}, [el("input", { type: "radio", name: "pick-" + name, value: "device", checked: "checked" }), " " + shown(c.device)])]),
        el("td", {}, [el("label", {}, [el("input", { type: "radio", name: "pick-" + name, value: "server" }), " " + shown(c.server)])])
      ]));
    });
    view.hidden = false;
    var button = view.querySelector("[data-testid=resolve]");
    var fresh = button.cloneNode(true);
    button.parentNode.replaceChild(fresh, button);
    fresh.addEventListener("click", function () {
      var changes = Object.assign({}, record.body.changes), base = Object.assign({}, record.body.base);
      Object.keys(conflicts).forEach(function (name) {
        var pick = view.querySelector("input[name='pick-" + name + "']:checked").value;
        if (pick === "server") delete changes[name]; else base[name] = conflicts[name].server;
      });
      var next = { key: crypto.randomUUID(), recorded_at: new Date().toISOString(), op: "client.update", display: record.display,
        body: { client_id: record.body.client_id, version: record.result.version, base: base, changes: changes }, result: null };
      var done = Object.keys(changes).length ? storeItem(next) : Promise.resolve(true);
      done.then(function () { return deleteItem(record.key); }).then(function () {
        view.hidden = true;
        return navigator.onLine ? sync() : renderPending();
      });
    });
  }

  function showNet() {
    var box = document.querySelector("[data-testid=net-status]");
    if (box) box.textContent = navigator.onLine ? box.dataset.onlineText : box.dataset.offlineText;
  }

  // --- start ------------------------------------------------------------------------------------
  function start() {
    var strings = document.getElementById("offline-strings");
    if (strings) S = JSON.parse(strings.textContent);
    if ("serviceWorker" in navigator) navigator.serviceWorker.register("/sw.js", { scope: "/" }).catch(function () {});
    // Signing out wipes what this device holds, and revokes its key on the server first.
    document.querySelectorAll("form[action$='/logout']").forEach(function (form) {
      form.addEventListener("submit", function (event) {
        if (form.dataset.wiped) return;
        event.preventDefault();
        var token = form.querySelector("[name=csrf_token]");
        deviceId().then(function (device) {
          return fetch("/offline/forget", { method: "POST", credentials: "same-origin", headers: { "Content-Type": "application/json", "X-CSRFToken": token ? token.value : "" }, body: JSON.stringify({ device_id: device }) });
        }).catch(function () {}).then(wipe).then(function () { form.dataset.wiped = "1"; form.submit(); });
      });
    });
    var view = document.body.dataset.offlineView;
    if (!view) return;
    showNet();
    window.addEventListener("offline", showNet);
    window.addEventListener("online", function () { showNet(); fetchSession().then(sync).catch(function () {}); });
    var ready = navigator.onLine ? fetchSession().catch(function () { return null; }) : Promise.resolve(null);
    ready.then(function () {
      if (session && !session.signed_in) problem(t("signed_out"));
      var form = document.querySelector("[data-testid=offline-form]");
      var jobs = [form ? setupForm(form) : renderPending()];
      var button = document.querySelector("[data-testid=sync-now]");
      if (button) button.addEventListener("click", function () { fetchSession().then(sync); });
      if (navigator.onLine) jobs.push(sync());
      return Promise.all(jobs);
    }).then(function () { document.body.dataset.offlineReady = "1"; });
  }
  window.srsOffline = { wipe: wipe, sync: sync, validate: validate, checkIdNumber: checkIdNumber, checkPhone: checkPhone };
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start); else start();
})();
