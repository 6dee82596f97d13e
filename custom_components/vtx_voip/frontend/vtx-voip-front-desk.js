/*
 * VTX VoIP front desk: a dashboard strategy and the card it shows. Plain JavaScript, no
 * build step, nothing fetched from the network: served by the integration itself.
 *
 *   strategy:
 *     type: custom:vtx-voip-front-desk
 *     entry_id: 0123abcd...      # optional: one VTX VoIP entry only
 *     area_id: reception         # optional: the lines in one area only
 *
 * The card asks the integration (websocket "vtx_voip/front_desk/subscribe") for every
 * line with its entity ids, missed calls and the board's labels in the user's language,
 * and is told again whenever a line is added, renamed, moved or removed. States come
 * from hass.states. Every label is from the integration's translations or Home
 * Assistant's own.
 */

const DOMAIN = "vtx_voip";
const CARD = "vtx-voip-front-desk-card";
const STRATEGY = "vtx-voip-front-desk";
const SUBSCRIBE = "vtx_voip/front_desk/subscribe";
const CHECK_IN = "vtx_voip/front_desk/check_in";
const BILL = "vtx_voip/front_desk/bill";
const CHECK_OUT = "vtx_voip/front_desk/check_out";
// The bill's column headers when the integration has none in the user's language.
const COLUMN_FALLBACK = {
  time: "Time",
  direction: "Direction",
  number: "Number",
  duration: "Duration",
  destination_class: "Class",
  cost: "Cost",
};
// The features a check-in names when they are on, by their label on the board.
const FEATURE_LABELS = { CENTRAL_DND: "dnd", CALL_FORWARD_UNCONDITIONAL: "forward" };
const STATUS_COLOURS = {
  available: "var(--success-color, #43a047)",
  on_call: "var(--warning-color, #ffa600)",
  do_not_disturb: "var(--error-color, #db4437)",
  forwarded: "var(--info-color, #039be5)",
  offline: "var(--disabled-color, #bdbdbd)",
};
const UNAVAILABLE = ["unavailable", "unknown"];

const STYLE = `
  :host { display: block; }
  .board { display: grid; gap: 8px; grid-template-columns: repeat(auto-fill, minmax(220px, 1fr)); padding: 4px; }
  .empty { padding: 16px; color: var(--secondary-text-color); }
  ha-card, .card { display: block; height: 100%; box-sizing: border-box; }
  .line { padding: 10px 12px; border-left: 6px solid var(--status-colour); border-radius: var(--ha-card-border-radius, 12px); }
  .head { display: flex; align-items: center; gap: 8px; }
  .name { font-weight: 500; font-size: 1.05em; flex: 1; overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
  .status { padding: 2px 8px; border-radius: 10px; font-size: 0.85em; color: #fff; background: var(--status-colour); white-space: nowrap; }
  .row { display: flex; align-items: center; gap: 8px; min-height: 30px; font-size: 0.92em; }
  .label { flex: 1; color: var(--primary-text-color); overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
  .value { color: var(--secondary-text-color); white-space: nowrap; overflow: hidden; text-overflow: ellipsis; max-width: 60%; }
  .destination { font-size: 0.85em; color: var(--secondary-text-color); margin: -4px 0 2px 0; overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
  .missed .value { color: var(--error-color, #db4437); font-weight: 600; }
  .missed-badge { display: inline-block; min-width: 1.4em; padding: 0 5px; border-radius: 9px; text-align: center; background: var(--error-color, #db4437); color: #fff; font-weight: 600; }
  button.switch { position: relative; width: 38px; height: 20px; border-radius: 10px; border: none; cursor: pointer; padding: 0; flex: none;
    background: var(--switch-unchecked-track-color, #9e9e9e); transition: background 0.15s; }
  button.switch::after { content: ""; position: absolute; top: 2px; left: 2px; width: 16px; height: 16px; border-radius: 50%; background: #fff; transition: left 0.15s; }
  button.switch[aria-checked="true"] { background: var(--switch-checked-track-color, var(--primary-color)); }
  button.switch[aria-checked="true"]::after { left: 20px; }
  button.switch:disabled { opacity: 0.4; cursor: default; }
  .actions { display: flex; justify-content: flex-end; align-items: center; gap: 8px; margin-top: 4px; }
  .note { flex: 1; font-size: 0.85em; color: var(--secondary-text-color); }
  button.text { background: none; border: 1px solid var(--divider-color, #ccc); border-radius: 14px; padding: 3px 12px; cursor: pointer;
    color: var(--primary-color); font: inherit; font-size: 0.9em; }
  button.text.confirm { background: var(--error-color, #db4437); border-color: transparent; color: #fff; }
  .stay { margin: 2px 0 4px 0; padding: 2px 0 4px 0; border-bottom: 1px solid var(--divider-color, #e0e0e0); }
  .since { font-size: 0.8em; color: var(--secondary-text-color); margin: -6px 0 0 0; }
  .stay-cost .value { color: var(--primary-text-color); font-weight: 600; }
  .warning.reset-pending { margin: 2px 0 4px 0; padding: 4px 8px; border-radius: 6px; font-size: 0.8em;
    background: rgba(255, 166, 0, 0.15); border-left: 4px solid var(--warning-color, #ffa600); }
  .admin-only { font-size: 0.8em; color: var(--secondary-text-color); text-align: right; }
  .actions { flex-wrap: wrap; }
  dialog { border: none; border-radius: 12px; padding: 20px; width: min(360px, calc(100vw - 48px)); box-sizing: border-box;
    background: var(--card-background-color, #fff); color: var(--primary-text-color); }
  dialog.wide { width: min(680px, calc(100vw - 24px)); padding: 16px; }
  dialog::backdrop { background: rgba(0, 0, 0, 0.4); }
  dialog h2 { margin: 0 0 8px 0; font-size: 1.15em; font-weight: 500; }
  dialog h3 { margin: 8px 0 4px 0; font-size: 1em; font-weight: 500; }
  dialog h4 { margin: 10px 0 2px 0; font-size: 0.9em; font-weight: 500; color: var(--secondary-text-color); }
  dialog p { margin: 0 0 12px 0; }
  dialog .warning { padding: 8px 10px; border-radius: 8px; background: rgba(255, 166, 0, 0.15); border-left: 4px solid var(--warning-color, #ffa600); }
  dialog .error { color: var(--error-color, #db4437); }
  dialog .buttons { display: flex; justify-content: flex-end; gap: 8px; margin-top: 12px; }
  dialog .field { display: flex; flex-direction: column; gap: 4px; margin: 8px 0; font-size: 0.9em; color: var(--secondary-text-color); }
  dialog input { font: inherit; font-size: 1rem; padding: 8px; border-radius: 6px; border: 1px solid var(--divider-color, #ccc);
    background: var(--card-background-color, #fff); color: var(--primary-text-color); }
  .bill-meta { display: flex; flex-wrap: wrap; justify-content: space-between; gap: 4px 12px; font-size: 0.9em; color: var(--secondary-text-color); }
  .bill table { width: 100%; border-collapse: collapse; font-size: 0.85em; margin-top: 6px; }
  .bill th { text-align: left; font-weight: 500; color: var(--secondary-text-color); border-bottom: 1px solid var(--divider-color, #ccc); padding: 3px 4px; }
  .bill td { padding: 3px 4px; border-bottom: 1px solid var(--divider-color, #eee); }
  .bill td.cost, .bill td.duration, .bill td.count, .bill th.cost, .bill th.duration, .bill th.count { text-align: right; white-space: nowrap; }
  .bill td.number { white-space: nowrap; }
  .bill tr.late td { font-style: italic; }
  .bill .total { display: flex; justify-content: space-between; font-weight: 600; margin-top: 8px; padding-top: 6px; border-top: 2px solid var(--divider-color, #ccc); }
  .bill-links { display: flex; justify-content: space-between; align-items: center; margin-top: 12px; gap: 8px; }
  .bill-links a { color: var(--primary-color); }
  @media (max-width: 600px) {
    .bill table.calls th:nth-child(2), .bill table.calls td:nth-child(2) { display: none; }
  }
`;

// The printable view: the bill alone, in a window of its own.
const PRINT_STYLE = `
  body { font-family: system-ui, sans-serif; margin: 24px; color: #000; }
  table { width: 100%; border-collapse: collapse; margin: 8px 0; }
  th, td { text-align: left; padding: 4px 6px; border-bottom: 1px solid #ccc; }
  td.cost, td.duration { text-align: right; }
  .bill-meta { display: flex; justify-content: space-between; }
  .total { display: flex; justify-content: space-between; font-weight: bold; border-top: 2px solid #000; padding-top: 6px; }
  @media print { .print-now { display: none; } }
`;

// A line's last outcome (checked in, checked out, failed): kept while the page lives, as
// the frontend may build the board's card anew (when a registry changes).
const NOTES = new Map();
const DIALOG_HOST = "vtx-voip-front-desk-dialog";

// The board's one dialog lives outside the card, in its own shadow root on the page: a
// card built anew (the frontend rebuilds generated dashboards when a registry changes)
// must not take an open check-out with it.
function dialog() {
  let host = document.getElementById(DIALOG_HOST);
  if (!host) {
    host = document.createElement("div");
    host.id = DIALOG_HOST;
    host.attachShadow({ mode: "open" }).append(el("style", { text: STYLE }), el("dialog"));
    document.body.append(host);
  }
  return host.shadowRoot.querySelector("dialog");
}

function el(tag, attrs = {}, children = []) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (key === "text") node.textContent = value;
    else if (key === "class") node.className = value;
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value);
  }
  for (const child of children) if (child) node.append(child);
  return node;
}

function money(value, currency, lang) {
  try {
    return new Intl.NumberFormat(lang, { style: "currency", currency: currency || "CHF" }).format(value);
  } catch (_err) {
    return `${Number(value).toFixed(2)} ${currency || ""}`.trim();
  }
}

function duration(seconds) {
  const total = Math.max(0, Math.round(Number(seconds) || 0));
  const minutes = Math.floor(total / 60);
  return `${minutes}:${String(total % 60).padStart(2, "0")}`;
}

function lineKey(line) {
  return `${line.entry_id}:${line.user_id}`;
}

function errorText(err) {
  return String((err && err.message) || err);
}

function featureLabel(feature, labels) {
  const key = FEATURE_LABELS[feature];
  return (key && labels[key]) || feature;
}

function language(hass) {
  return (hass.locale && hass.locale.language) || hass.language || "en";
}

function relativeTime(iso, lang) {
  const then = Date.parse(iso);
  if (Number.isNaN(then)) return null;
  const seconds = Math.round((then - Date.now()) / 1000);
  const format = new Intl.RelativeTimeFormat(lang, { numeric: "auto" });
  const steps = [
    [60, "second"],
    [3600, "minute", 60],
    [86400, "hour", 3600],
    [604800, "day", 86400],
    [Infinity, "week", 604800],
  ];
  const abs = Math.abs(seconds);
  // A time ahead of this browser's clock (the phone system's clock runs ahead) is "now".
  if (abs < 45 || seconds > 0) return format.format(0, "second");
  for (const [limit, unit, size] of steps.slice(1)) {
    if (abs < limit) return format.format(Math.round(seconds / size), unit);
  }
  return format.format(Math.round(seconds / 604800), "week");
}

class VtxVoipFrontDeskCard extends HTMLElement {
  constructor() {
    super();
    this._config = {};
    this._hass = null;
    this._board = null;
    this._cards = new Map();
    this._signatures = new Map();
    this._notes = NOTES;
    this._unsubscribe = null;
    this._subscribedWith = null;
    this._timer = null;
    this._started = null;
    this.attachShadow({ mode: "open" });
    this.shadowRoot.append(el("style", { text: STYLE }), (this._root = el("div", { class: "board" })));
    this._dialog = dialog();
  }

  static getStubConfig() {
    return {};
  }

  setConfig(config) {
    this._config = { ...(config || {}) };
    if (this._unsubscribe) this._resubscribe();
  }

  getCardSize() {
    return Math.max(3, (this._board ? this._board.lines.length : 4) * 3);
  }

  getGridOptions() {
    return { columns: "full" };
  }

  set hass(hass) {
    const first = !this._hass;
    this._hass = hass;
    if (first || this._subscribedWith !== this._subscriptionKey()) this._resubscribe();
    else this._update();
  }

  get hass() {
    return this._hass;
  }

  connectedCallback() {
    if (this._hass && !this._unsubscribe) this._resubscribe();
    this._timer = window.setInterval(() => this._update(true), 30000);
  }

  disconnectedCallback() {
    window.clearInterval(this._timer);
    this._timer = null;
    this._stop();
  }

  _subscriptionKey() {
    return [language(this._hass), this._config.entry_id || "", this._config.area_id || ""].join("|");
  }

  _stop() {
    const unsubscribe = this._unsubscribe;
    this._unsubscribe = null;
    this._subscribedWith = null;
    if (unsubscribe) unsubscribe.then((stop) => stop()).catch(() => undefined);
  }

  _resubscribe() {
    this._stop();
    if (!this._hass || !this._hass.connection) return;
    const message = { type: SUBSCRIBE, language: language(this._hass) };
    if (this._config.entry_id) message.entry_id = this._config.entry_id;
    if (this._config.area_id) message.area_id = this._config.area_id;
    this._subscribedWith = this._subscriptionKey();
    this._started = performance.now();
    this._unsubscribe = this._hass.connection.subscribeMessage((board) => this._setBoard(board), message);
    this._unsubscribe.catch((err) => {
      this._root.replaceChildren(el("div", { class: "empty", text: String((err && err.message) || err) }));
    });
  }

  _setBoard(board) {
    const lang = language(this._hass);
    const collator = new Intl.Collator(lang, { numeric: true, sensitivity: "base" });
    board.lines.sort((a, b) => collator.compare(a.name, b.name) || a.user_id - b.user_id);
    this._board = board;
    const keys = new Set(board.lines.map((line) => `${line.entry_id}:${line.user_id}`));
    for (const key of [...this._cards.keys()]) {
      if (!keys.has(key)) {
        this._cards.get(key).remove();
        this._cards.delete(key);
        this._signatures.delete(key);
      }
    }
    this._signatures.clear();
    if (!board.lines.length) {
      this._root.replaceChildren(el("div", { class: "empty", text: board.labels.no_lines || "" }));
    } else {
      this._root.querySelector(".empty")?.remove();
    }
    this._update();
    if (this._started !== null) {
      // The time from subscribing to the first complete board (read by the browser test).
      this.dataset.renderMs = String(Math.round(performance.now() - this._started));
      this._started = null;
    }
  }

  _update(force = false) {
    if (!this._board || !this._hass) return;
    let previous = null;
    for (const line of this._board.lines) {
      const key = `${line.entry_id}:${line.user_id}`;
      let card = this._cards.get(key);
      if (!card) {
        card = el(customElements.get("ha-card") ? "ha-card" : "div", { class: "card" });
        this._cards.set(key, card);
      }
      const signature = this._signature(line);
      if (force || this._signatures.get(key) !== signature) {
        this._signatures.set(key, signature);
        this._render(card, line);
      }
      // Keep the sorted order with as few moves as possible.
      const expected = previous ? previous.nextSibling : this._root.firstChild;
      if (expected !== card) this._root.insertBefore(card, expected);
      previous = card;
    }
  }

  _state(line, key) {
    const entityId = line.entities[key];
    return entityId ? this._hass.states[entityId] : undefined;
  }

  _signature(line) {
    const parts = [line.name, line.missed, line.last_missed, this._notes.get(lineKey(line)) || "", JSON.stringify(line.stay), JSON.stringify(line.reset_pending), this._board.admin];
    for (const key of ["status", "presence", "dnd", "forward", "forward_destination", "last_call"]) {
      const state = this._state(line, key);
      parts.push(state ? state.state : "-");
      if (key === "forward" && state) parts.push(state.attributes.destination || "");
    }
    return JSON.stringify(parts);
  }

  _stateLabel(line, key, states) {
    const state = this._state(line, key);
    if (!state) return "";
    const own = this._board.labels[states] || {};
    if (own[state.state]) return own[state.state];
    return this._hass.formatEntityState ? this._hass.formatEntityState(state) : state.state;
  }

  _toggle(line, key, labels) {
    const state = this._state(line, key);
    const on = !!state && state.state === "on";
    const button = el("button", {
      class: "switch",
      role: "switch",
      "aria-checked": on ? "true" : "false",
      "aria-label": labels[key] || key,
      title: labels[key] || key,
      onclick: () => {
        // Forwarding asks where to (the line's last destination offered).
        if (key === "forward" && !on) return this._askForward(line);
        button.disabled = true;
        this._hass
          .callService("switch", on ? "turn_off" : "turn_on", {}, { entity_id: line.entities[key] })
          .catch(() => undefined)
          .finally(() => {
            button.disabled = false;
          });
      },
    });
    if (!state || UNAVAILABLE.includes(state.state)) button.disabled = true;
    return el("div", { class: `row ${key}` }, [el("span", { class: "label", text: labels[key] || "", title: labels[key] || "" }), button]);
  }

  _row(kind, label, value) {
    return el("div", { class: `row ${kind}` }, [
      el("span", { class: "label", text: label || "", title: label || "" }),
      typeof value === "string" ? el("span", { class: "value", text: value, title: value }) : value,
    ]);
  }

  _render(card, line) {
    const labels = this._board.labels;
    const lang = language(this._hass);
    const status = this._state(line, "status");
    const statusValue = status && !UNAVAILABLE.includes(status.state) ? status.state : "offline";
    card.style.setProperty("--status-colour", STATUS_COLOURS[statusValue] || STATUS_COLOURS.offline);
    card.dataset.line = line.name;
    card.dataset.userId = String(line.user_id);
    card.dataset.status = statusValue;
    card.dataset.missed = String(line.missed);
    card.dataset.stay = line.stay ? String(line.stay.stay_id) : "";
    const body = el("div", { class: "line" }, [
      el("div", { class: "head" }, [
        el("span", { class: "name", text: line.name, title: line.name }),
        status ? el("span", { class: "status", text: this._stateLabel(line, "status", "status_states") }) : null,
      ]),
    ]);
    if (line.stay) {
      const since = new Date(line.stay.start).toLocaleString(lang, { dateStyle: "short", timeStyle: "short" });
      body.append(
        el("div", { class: "stay" }, [
          this._row("guest", labels.guest, line.stay.guest || "—"),
          el("div", { class: "since", text: `${labels.since || ""} ${since}` }),
          this._row("stay-calls", labels.stay_calls, String(line.stay.calls)),
          this._row("stay-cost", labels.stay_cost, money(line.stay.cost, this._board.currency, lang)),
        ]),
      );
    }
    if (line.reset_pending) {
      // The last check-out could not put the line back: the guest's settings may still be on.
      body.append(el("div", { class: "warning reset-pending", text: labels.reset_pending, title: line.reset_pending.error || "" }));
    }
    if (line.entities.dnd) body.append(this._toggle(line, "dnd", labels));
    if (line.entities.forward) {
      body.append(this._toggle(line, "forward", labels));
      const forward = this._state(line, "forward");
      // The destination only while the forward is on: an inactive one forwards nothing.
      if (forward && forward.state === "on" && forward.attributes.destination) {
        body.append(el("div", { class: "destination", text: `${labels.forward_to || "→"} ${forward.attributes.destination}` }));
      }
    }
    if (line.entities.presence) {
      body.append(this._row("presence", labels.presence, this._stateLabel(line, "presence", "presence_states")));
    }
    const missedLabel = line.missed_since_check_in ? labels.missed_since_check_in : labels.missed_today;
    const missedValue = el("span", { class: "value" }, [
      line.missed ? el("span", { class: "missed-badge", text: String(line.missed) }) : document.createTextNode("0"),
      line.last_missed ? document.createTextNode(` · ${relativeTime(line.last_missed, lang)}`) : null,
    ]);
    body.append(
      el("div", { class: `row missed-calls${line.missed ? " missed" : ""}` }, [
        el("span", { class: "label", text: missedLabel, title: missedLabel }),
        missedValue,
      ]),
    );
    if (line.entities.last_call) {
      const last = this._state(line, "last_call");
      const when = last && !UNAVAILABLE.includes(last.state) ? relativeTime(last.state, lang) : null;
      body.append(this._row("last-call", labels.last_call, when || labels.no_call || ""));
    }
    let action;
    if (!line.stay) {
      action = el("button", { class: "text check-in", text: labels.check_in, onclick: () => this._askCheckIn(line) });
    } else if (this._board.admin) {
      action = el("button", { class: "text check-out", text: labels.check_out, onclick: () => this._confirm(line) });
    } else {
      action = el("span", { class: "admin-only", text: labels.admin_only });
    }
    body.append(el("div", { class: "actions" }, [el("span", { class: "note", text: this._notes.get(lineKey(line)) || "" }), action]));
    card.replaceChildren(body);
  }

  _open(name, children, wide = false) {
    const dialog = this._dialog;
    dialog.className = wide ? "wide" : "";
    dialog.dataset.line = name;
    dialog.replaceChildren(...children);
    if (!dialog.open) dialog.showModal();
    return dialog;
  }

  _buttons(...buttons) {
    return el("div", { class: "buttons" }, buttons);
  }

  _cancel() {
    return el("button", { class: "text cancel", text: this._board.labels.cancel, onclick: () => this._dialog.close() });
  }

  _askCheckIn(line) {
    const labels = this._board.labels;
    const input = el("input", { class: "guest", type: "text", maxlength: "200", autocomplete: "off", "aria-label": labels.guest_name });
    const submit = async () => {
      confirm.disabled = true;
      try {
        const message = { type: CHECK_IN, entry_id: line.entry_id, user_id: line.user_id };
        if (input.value.trim()) message.guest = input.value.trim();
        const result = await this._hass.callWS(message);
        // What the line still has on (DND, forwards) or holds apart from its baseline: named.
        const features = [...(result.active || []), ...(result.differences || []).map((item) => item.feature)];
        const named = [...new Set(features.map((feature) => featureLabel(feature, labels)))];
        this._notes.set(
          lineKey(line),
          named.length ? (labels.active_at_check_in || "").replace("{features}", named.join(", ")) : labels.checked_in,
        );
        this._dialog.close();
      } catch (err) {
        this._notes.set(lineKey(line), `${labels.check_in_failed}: ${errorText(err)}`);
        this._dialog.close();
      }
      this._update(true);
    };
    const confirm = el("button", { class: "text confirm check-in", text: labels.check_in, onclick: submit });
    input.addEventListener("keydown", (event) => {
      if (event.key === "Enter") submit();
    });
    this._open(line.name, [
      el("h2", { text: `${labels.check_in}: ${line.name}` }),
      el("label", { class: "field" }, [el("span", { text: labels.guest_name }), input]),
      this._buttons(this._cancel(), confirm),
    ]);
    input.focus();
  }

  _askForward(line) {
    const labels = this._board.labels;
    const saved = this._state(line, "forward_destination");
    const forward = this._state(line, "forward");
    const offered =
      (saved && !UNAVAILABLE.includes(saved.state) && saved.state) || (forward && forward.attributes.destination) || "";
    const input = el("input", { class: "destination-input", type: "tel", maxlength: "255", autocomplete: "off", "aria-label": labels.forward_destination });
    input.value = offered;
    const error = el("p", { class: "error" });
    const submit = async () => {
      if (!input.value.trim()) return input.focus();
      confirm.disabled = true;
      try {
        await this._hass.callService(
          DOMAIN,
          "set_call_forward",
          { forward: "unconditional", destination: input.value.trim(), enabled: true },
          { device_id: line.device_id },
        );
        this._dialog.close();
      } catch (err) {
        error.textContent = `${labels.forward_failed}: ${errorText(err)}`;
        confirm.disabled = false;
      }
    };
    const confirm = el("button", { class: "text confirm forward-on", text: labels.forward_on, onclick: submit });
    input.addEventListener("keydown", (event) => {
      if (event.key === "Enter") submit();
    });
    this._open(line.name, [
      el("h2", { text: `${labels.forward}: ${line.name}` }),
      el("label", { class: "field" }, [el("span", { text: labels.forward_destination }), input]),
      error,
      this._buttons(this._cancel(), confirm),
    ]);
    input.focus();
  }

  async _confirm(line) {
    const labels = this._board.labels;
    const title = el("h2", { text: `${labels.check_out}: ${line.name}` });
    this._open(line.name, [title, el("p", { class: "loading", text: "…" }), this._buttons(this._cancel())], true);
    let bill;
    try {
      bill = await this._hass.callWS({ type: BILL, entry_id: line.entry_id, user_id: line.user_id });
    } catch (err) {
      this._open(line.name, [title, el("p", { class: "error", text: errorText(err) }), this._buttons(this._cancel())], true);
      return;
    }
    if (!this._dialog.open || this._dialog.dataset.line !== line.name) return;
    const status = this._state(line, "status");
    const onCall = bill.on_call || (status && status.state === "on_call");
    const confirm = el("button", {
      class: "text confirm check-out",
      text: labels.check_out,
      onclick: () => this._checkOut(line, confirm),
    });
    this._open(
      line.name,
      [
        title,
        onCall ? el("p", { class: "warning on-call", text: labels.on_call_warning }) : null,
        el("p", { class: "confirm-text", text: labels.check_out_confirm }),
        this._bill(bill, labels.bill_so_far, false),
        this._buttons(this._cancel(), confirm),
      ].filter(Boolean),
      true,
    );
  }

  async _checkOut(line, button) {
    const labels = this._board.labels;
    button.disabled = true;
    let bill;
    try {
      bill = await this._hass.callWS({ type: CHECK_OUT, entry_id: line.entry_id, user_id: line.user_id });
    } catch (err) {
      this._notes.set(lineKey(line), `${labels.failed}: ${errorText(err)}`);
      this._dialog.close();
      this._update(true);
      return;
    }
    this._notes.set(lineKey(line), labels.done);
    const reset = bill.reset || {};
    const close = el("button", { class: "text close", text: labels.close, onclick: () => this._dialog.close() });
    this._open(
      line.name,
      [
        el("h2", { text: `${labels.bill}: ${line.name}` }),
        bill.on_call ? el("p", { class: "warning on-call", text: labels.on_call_warning }) : null,
        reset.error ? el("p", { class: "warning reset", text: (labels.reset_failed || "").replace("{error}", reset.error) }) : null,
        this._bill(bill, null, true),
        this._buttons(close),
      ].filter(Boolean),
      true,
    );
    this._update(true);
  }

  _bill(bill, heading, final) {
    const labels = this._board.labels;
    const texts = labels.bill_texts || {};
    const lang = language(this._hass);
    const currency = bill.currency || this._board.currency;
    const when = new Intl.DateTimeFormat(lang, { dateStyle: "short", timeStyle: "short" });
    const period = `${when.format(new Date(bill.start))} – ${when.format(new Date(bill.end))}`;
    const node = el("div", { class: `bill${final ? " final" : ""}`, "data-stay": String(bill.stay_id) }, [
      heading ? el("h3", { text: heading }) : null,
      el("div", { class: "bill-meta" }, [
        el("span", { class: "bill-guest", text: `${labels.guest}: ${bill.guest || "—"}` }),
        el("span", { text: period }),
      ]),
    ]);
    const rows = bill.calls || [];
    if (!rows.length) {
      node.append(el("p", { class: "no-calls", text: labels.no_calls }));
    } else {
      const head = ["time", "direction", "number", "duration", "destination_class", "cost"].map((key) =>
        el("th", { class: key, text: (texts[key] || COLUMN_FALLBACK[key]).replace(/\s*\(\{currency\}\)/, "") }),
      );
      node.append(
        el("table", { class: "calls" }, [
          el("thead", {}, [el("tr", {}, head)]),
          el(
            "tbody",
            {},
            rows.map((row) =>
              el("tr", { class: row.late ? "late" : "" }, [
                el("td", { text: when.format(new Date(row.start)) }),
                el("td", { text: texts[row.type] || row.type }),
                el("td", { class: "number", text: row.number_display || row.number || texts.unknown_number || "" }),
                el("td", { class: "duration", text: duration(row.duration) }),
                el("td", { class: "class", text: texts[row.destination_class] || row.destination_class }),
                el("td", { class: "cost", text: money(row.cost, currency, lang) + (row.late ? ` (${texts.late || "late"})` : "") }),
              ]),
            ),
          ),
        ]),
      );
    }
    const perClass = Object.entries((bill.totals && bill.totals.per_class) || {});
    if (perClass.length) {
      node.append(
        el("h4", { text: labels.per_class }),
        el("table", { class: "per-class" }, [
          el("thead", {}, [
            el("tr", {}, [
              el("th", { text: texts.destination_class || COLUMN_FALLBACK.destination_class }),
              el("th", { class: "count", text: labels.calls }),
              el("th", { class: "cost", text: (texts.cost || COLUMN_FALLBACK.cost).replace(/\s*\(\{currency\}\)/, "") }),
            ]),
          ]),
          el(
            "tbody",
            {},
            perClass.map(([name, item]) =>
              el("tr", { "data-class": name }, [
                el("td", { text: texts[name] || name }),
                el("td", { class: "count", text: String(item.calls) }),
                el("td", { class: "cost", text: money(item.cost, currency, lang) }),
              ]),
            ),
          ),
        ]),
      );
    }
    node.append(
      el("div", { class: "total" }, [
        el("span", { text: labels.total }),
        el("span", { class: "total-cost", text: money((bill.totals && bill.totals.cost) || 0, currency, lang) }),
      ]),
    );
    if (final) {
      const csv = el("a", { class: "csv", href: "#", download: `stay-${bill.stay_id}.csv`, text: labels.download_csv });
      // A short-lived signed path: a plain link cannot carry the login.
      const signed = this._hass
        .callWS({ type: "auth/sign_path", path: bill.csv_path, expires: 600 })
        .then((answer) => {
          csv.href = answer.path;
          csv.dataset.ready = "true";
        })
        .catch(() => undefined);
      csv.addEventListener("click", (event) => {
        if (csv.dataset.ready !== "true") {
          event.preventDefault();
          signed.then(() => csv.click());
        }
      });
      const print = el("button", { class: "text print", text: labels.print, onclick: () => this._print(bill, node) });
      node.append(el("div", { class: "bill-links" }, [csv, print]));
    }
    return node;
  }

  _print(bill, node) {
    const labels = this._board.labels;
    const view = window.open("", "_blank");
    if (!view) return;
    const doc = view.document;
    doc.title = `${labels.bill}: ${bill.line}`;
    const style = doc.createElement("style");
    style.textContent = PRINT_STYLE;
    doc.head.append(style);
    const copy = node.cloneNode(true);
    copy.querySelector(".bill-links")?.remove();
    const heading = doc.createElement("h1");
    heading.textContent = `${labels.bill}: ${bill.line}`;
    const button = doc.createElement("button");
    button.className = "print-now";
    button.textContent = labels.print_now;
    button.addEventListener("click", () => view.print());
    doc.body.append(heading, doc.importNode(copy, true), button);
  }
}

class VtxVoipFrontDeskStrategy extends HTMLElement {
  static async generate(config, hass) {
    const card = { type: `custom:${CARD}` };
    if (config.entry_id) card.entry_id = config.entry_id;
    if (config.area_id) card.area_id = config.area_id;
    return {
      title: config.title,
      views: [
        {
          title: config.view_title || config.title || "VTX VoIP",
          path: config.path || "lines",
          icon: "mdi:phone-classic",
          type: "panel",
          cards: [card],
        },
      ],
    };
  }
}

// Registration. The frontend imports this module (an extra module URL) alongside its own
// entry point, and either may run first. The entry point installs a polyfill of scoped
// custom element registries that replaces window.customElements with a registry of its own,
// which knows nothing defined before it: the frontend then waits in vain for the strategy
// ("Timeout waiting for strategy element ... to be registered") and for the card. So the
// elements are defined in the registry of the moment, and again in the one the frontend
// uses once it has defined its root element <home-assistant> (the polyfill is in place by
// then). The strategy is also announced in window.customStrategies (the frontend's list of
// custom dashboards, 2026.5+).
const ELEMENTS = [
  [CARD, VtxVoipFrontDeskCard],
  [`ll-strategy-dashboard-${STRATEGY}`, VtxVoipFrontDeskStrategy],
];

function register() {
  const registry = window.customElements;
  for (const [tag, element] of ELEMENTS) {
    if (!registry.get(tag)) registry.define(tag, element);
  }
}

register();
window.customElements.whenDefined("home-assistant").then(register);
window.customStrategies = window.customStrategies || [];
if (!window.customStrategies.some((entry) => entry.type === STRATEGY && entry.strategyType === "dashboard")) {
  window.customStrategies.push({
    type: STRATEGY,
    strategyType: "dashboard",
    name: "VTX VoIP front desk",
    description: "Every line with its status, stay, calls and check-in/check-out",
  });
}
window.customCards = window.customCards || [];
if (!window.customCards.some((entry) => entry.type === CARD)) window.customCards.push({ type: CARD, name: "VTX VoIP" });
